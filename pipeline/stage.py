"""The stage contract every stage implements.

A stage splits its input into partitions, scores each partition (adds columns, pure), then decides
per row from config (keep, or a short drop reason). The runner does everything else: moving
partitions through an engine, writing kept rows and sampled rejects, counting reasons, committing
each partition atomically, resuming, and writing the manifest last.

    read partition → score (add columns) → decide (reason or keep) → write kept + rejects → commit
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from pipeline import io
from pipeline.errors import InputError

if TYPE_CHECKING:
    from pipeline.engines import Engine


@dataclass
class Partition:
    """One unit of work and of commit. `index` names the output file part-{index:05d}.parquet."""

    index: int
    inputs: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageContext:
    """What a stage knows about its run: the resolved config and where the run folder is."""

    config: dict
    run_dir: str

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    def stage_dir(self, number: int) -> str:
        return io.join(self.run_dir, f"stage-{number}")

    def stage_finished(self, number: int) -> bool:
        return io.exists(io.join(self.stage_dir(number), "_manifest.json"))

    def stage_parts(self, number: int) -> list[str]:
        """The part files of a finished earlier stage, in order; a clear error if it has not run."""
        manifest = io.join(self.stage_dir(number), "_manifest.json")
        if not io.exists(manifest):
            raise InputError(
                f"stage-{number} has not finished in {self.run_dir} (no {manifest}); run it first"
            )
        data = io.read_json(manifest)
        return [io.join(self.stage_dir(number), f["path"]) for f in data["files"]]


class Stage:
    """Base class. Subclasses set the class attributes and implement partitions/score/decide."""

    number: ClassVar[int]
    name: ClassVar[str]
    schema: ClassVar[pa.Schema]            # columns every kept row must have (extra columns are kept)
    schema_version: ClassVar[str]
    config_sections: ClassVar[tuple[str, ...]] = ()  # sections or dotted keys the output depends on (default: name)
    runs_on_driver: ClassVar[bool] = False  # True: partitions run in this process, not on the engine

    def __init__(self, ctx: StageContext):
        self.ctx = ctx
        self.config = ctx.config

    @property
    def settings(self) -> dict:
        """This stage's own config section."""
        return self.config.get(self.name, {})

    @classmethod
    def sections(cls) -> tuple[str, ...]:
        return cls.config_sections or (cls.name,)

    def partitions(self) -> list[Partition]:
        raise NotImplementedError

    def prepare(self, engine: Engine) -> None:
        """Global work before the partition map (calibration, clustering). Must itself be resumable."""

    def score(self, part: Partition) -> pa.Table:
        """Every input row of the partition, with this stage's columns added. Pure."""
        raise NotImplementedError

    def decide(self, table: pa.Table) -> pa.Array:
        """Per row: null to keep, else a short reason ("language", "tier_low"). From config only."""
        return pa.nulls(table.num_rows, pa.string())

    def finish(self, engine: Engine) -> dict:
        """Extra manifest fields, computed after every partition has committed."""
        return {}
