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


def make_engine(config: dict) -> Engine:
    name = config["engine"]
    if name == "ray":
        from pipeline.engines.ray_engine import RayEngine

        return RayEngine(config)
    from pipeline.engines.spark_engine import SparkEngine

    return SparkEngine(config)
