"""Named scorers: a stage looks its scorers (stage 3) or rules (stage 6) up by their config names.

    QUALITY = Registry("quality scorer")

    @QUALITY.register("edu")
    def edu(batch, settings) -> np.ndarray: ...

A user adds one without editing the stage: register it in a module of their own and list that
module in the stage's config (e.g. `quality.scorer_modules`), which every worker imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from pipeline.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what
        self.entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self.entries and self.entries[name] is not entry:
                raise ValueError(f"{self.what} {name!r} is registered twice")
            self.entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        if name not in self.entries:
            raise ConfigError(f"unknown {self.what} {name!r} (known: {', '.join(sorted(self.entries))})")
        return self.entries[name]

    def check(self, names: Iterable[str]) -> None:
        for name in names:
            self.get(name)

    @staticmethod
    def import_modules(modules: Iterable[str], key: str) -> None:
        """Import the modules that register extra entries (a clear error naming the config key)."""
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise ConfigError(f"config key '{key}': cannot import {module!r} ({exc})") from None
