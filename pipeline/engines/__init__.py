"""Engines move partitions to workers and back; stages never import an engine.

- `local`: Spark in local mode (`local[*]`), the embedded default.
- `spark`: a Spark cluster at `spark.master` (or the master spark-submit was given).
- `ray`:   Ray, local or at `ray.address`, for model-heavy stages; Spark-only steps (dedup's
           connected components) get a local Spark session beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Engine(Protocol):
    name: str

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """Apply fn to every item on the workers; results come back in item order."""
        ...

    def spark(self) -> Any:
        """A SparkSession, for stages that need DataFrame joins (created on first use)."""
        ...

    def close(self) -> None: ...


class WorkerFailed:
    """A PipelineError raised by fn on a worker, carried back so the driver raises it again as one
    clear line (not inside a Spark or Ray traceback)."""

    def __init__(self, error: Exception):
        self.error = error


def guarded(fn: Callable[[Any], Any], item: Any) -> Any:
    from pipeline.errors import PipelineError

    try:
        return fn(item)
    except PipelineError as exc:
        return WorkerFailed(exc)


def raise_failures(results: list[Any]) -> list[Any]:
    """The results, or the first worker's PipelineError (with how many more failed)."""
    failed = [r.error for r in results if isinstance(r, WorkerFailed)]
    if failed:
        first = failed[0]
        if len(failed) > 1:
            first = type(first)(f"{first} (and {len(failed) - 1} more)")
        raise first
    return results


def make_engine(config: dict) -> Engine:
    name = config["engine"]
    if name == "ray":
        from pipeline.engines.ray_engine import RayEngine

        return RayEngine(config)
    from pipeline.engines.spark_engine import SparkEngine

    return SparkEngine(config)
