"""One config loader: packaged defaults, then the user's YAML file, then `--set a.b=VALUE` overrides.

Defaults live in `pipeline/defaults/*.yaml` (one file per section, so every key a user may set is
written down with its default). A key that is not in the defaults is an error naming the key, unless
its parent default is an empty mapping (a free-form table such as `spark.conf`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

DEFAULTS_DIR = Path(__file__).parent / "defaults"


def load_defaults() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(DEFAULTS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        for key, value in data.items():
            if key in merged:
                raise ConfigError(f"default key '{key}' is defined twice ({path.name})")
            merged[key] = value
    return merged


def _merge(base: dict, override: dict, prefix: str = "") -> dict:
    """Overlay `override` on `base`; every key must exist in `base` (sections are strict).

    An empty mapping below the top level (such as `spark.conf`) is a free-form table.
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"unknown config key '{dotted}'")
        default = base[key]
        free_form = isinstance(default, dict) and not default and prefix != ""
        if isinstance(default, dict) and not free_form:
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{dotted}' must be a mapping, got {value!r}")
            out[key] = _merge(default, value, dotted + ".")
        else:
            _check_type(dotted, default, value)
            out[key] = copy.deepcopy(value)
    return out


def _check_type(dotted: str, default: Any, value: Any) -> None:
    if default is None or value is None:
        return
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
        list: lambda v: isinstance(v, (list, str)),
        dict: lambda v: isinstance(v, dict),
    }.get(type(default), lambda v: True)
    if not ok(value):
        raise ConfigError(
            f"config key '{dotted}' expects {type(default).__name__}, got {value!r}"
        )


def parse_set(item: str) -> dict[str, Any]:
    """`a.b=VALUE` → {"a": {"b": VALUE}}, with VALUE parsed as YAML."""
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got '{item}'")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: value is not valid YAML ({exc.__class__.__name__})") from None
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


def _deep_update(base: dict, new: dict) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


def load_config(config_file: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """Resolve defaults + file + overrides into one validated nested dict."""
    user: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            user = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(user, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections")
    for item in overrides or []:
        _deep_update(user, parse_set(item))
    config = _merge(load_defaults(), user)
    if config["engine"] not in ("local", "spark", "ray"):
        raise ConfigError(f"config key 'engine' must be local, spark or ray, got {config['engine']!r}")
    return config


def config_sha256(config: dict, sections: tuple[str, ...]) -> str:
    """Hash of what a stage's output depends on: its sections (or dotted keys) and the seed.

    The engine is left out on purpose: every engine gives the same output.
    """
    relevant: dict[str, Any] = {}
    for name in sorted(sections):
        value: Any = config
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        relevant[name] = value
    relevant["seed"] = config.get("seed")
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def dump_config(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False)
