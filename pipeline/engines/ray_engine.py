"""Ray engine: a local Ray by default, or the cluster at `ray.address` (e.g. "127.0.0.1:6379")."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pipeline.engines import guarded, raise_failures
from pipeline.engines.spark_engine import PROJECT_ROOT, _export_python_env, spark_session


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return guarded(fn, item)


class RayEngine:
    name = "ray"

    def __init__(self, config: dict):
        self.config = config
        self._session = None
        self._started = False
        self._auth_mode: str | None = None

    def start(self) -> None:
        """Connect to (or start) Ray; for stages that drive Ray themselves (an actor pool)."""
        self._init()

    def _init(self) -> None:
        if self._started:
            return
        import ray

        _export_python_env()
        address = self.config["ray"]["address"]
        env = {"PYTHONPATH": os.environ["PYTHONPATH"], "HF_HUB_OFFLINE": "1"}
        kwargs: dict[str, Any] = {
            "runtime_env": {"env_vars": env},
            "ignore_reinit_error": True,
            "log_to_driver": False,
            "include_dashboard": False,
        }
        if address:
            kwargs["address"] = address
            kwargs.pop("include_dashboard")
        elif self.config["ray"]["num_cpus"]:
            kwargs["num_cpus"] = int(self.config["ray"]["num_cpus"])
        self._auth_mode = os.environ.get("RAY_AUTH_MODE")
        ray.init(**kwargs)
        self._started = True

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        self._init()
        import ray

        task = ray.remote(_apply)
        shipped = ray.put(fn)  # the stage is pickled once, not once per item
        return raise_failures(ray.get([task.remote(shipped, item) for item in items]))

    def spark(self):
        if self._session is None:
            self._session = spark_session(self.config, "local[*]")
        return self._session

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
            _restore_env("RAY_AUTH_MODE", self._auth_mode)


def _restore_env(name: str, value: str | None) -> None:
    """Undo what ray.init left in os.environ: a local Ray sets RAY_AUTH_MODE=token for the rest
    of the process, and a later connection of this process (or of a child it starts) to a cluster
    without token auth then fails with OwnerDiedError as soon as a task runs on another node."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


__all__ = ["RayEngine", "PROJECT_ROOT"]
