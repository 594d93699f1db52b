"""The stage contract every stage implements.

A stage splits its input into partitions, scores each partition (adds columns, pure), then decides
per row from config (keep, or a short drop reason). The runner does everything else: moving
partitions through an engine, writing kept rows and sampled rejects, counting reasons, committing
each partition atomically, resuming, and writing the manifest last.

    read partition → score (add columns) → decide (reason or keep) → write kept + rejects → commit

A stage declares where its input comes from (`upstream`, overridable by `<name>.inputs`), the
columns it needs (`required_columns`, checked by `read_documents`), its typed config section
(`settings_model`) and its kind:

- `MAP` (the default): partitions are pure functions of their input files. They run on the
  engine's workers (Spark, Ray), in any order, and may run twice (a retried task).
- `DRIVER`: partitions run in the driver process, one after the other, and may have side effects
  outside the stage folder (the crawl talks to web servers and keeps a frontier on disk). Such a
  stage must make its side effects resumable itself; the runner still commits and resumes
  partitions as usual.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa

from pipeline import io, tables
from pipeline.config import Section, validate_section
from pipeline.errors import InputError
from pipeline.profile import PROFILE_COLUMNS, Column

if TYPE_CHECKING:
    from pipeline.engines import Engine


COUNTERS_KEY = b"pipeline:counters"


def with_counters(table: pa.Table, counters: dict[str, dict[str, int]]) -> pa.Table:
    """Attach a partition's counts of things that are not rows (e.g. stage 2's skipped WARC
    request/metadata records) to its scored table; the runner sums them into the manifest under
    each name, beside rows_in / rows_out, which count rows only."""
    metadata = dict(table.schema.metadata or {})
    metadata[COUNTERS_KEY] = json.dumps(counters, sort_keys=True).encode()
    return table.replace_schema_metadata(metadata)


def pop_counters(table: pa.Table) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """(the table without the counters, the counters) for the runner."""
    metadata = dict(table.schema.metadata or {})
    raw = metadata.pop(COUNTERS_KEY, None)
    if raw is None:
        return table, {}
    return table.replace_schema_metadata(metadata or None), json.loads(raw)


class Kind(StrEnum):
    MAP = "map"
    DRIVER = "driver"


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
        current = current_schema_version(number)
        if current is not None and data.get("schema_version") != current:
            raise InputError(
                f"stage-{number} in {self.run_dir} was written with schema version "
                f"{data.get('schema_version')!r}; this code reads version {current!r}: re-run stage {number} with --force"
            )
        return [io.join(self.stage_dir(number), f["path"]) for f in data["files"]]


def current_schema_version(number: int) -> str | None:
    """The schema version this code writes for stage `number` (schemas/<name>.py), if it has one."""
    import importlib

    from pipeline.registry import STAGES

    try:
        return importlib.import_module(f"schemas.{STAGES[number][0]}").VERSION
    except (KeyError, ModuleNotFoundError, AttributeError):
        return None


class Stage:
    """Base class. Subclasses set the class attributes and implement score (and decide)."""

    number: ClassVar[int]
    name: ClassVar[str]
    schema: ClassVar[pa.Schema]            # columns every kept row must have (extra columns are kept)
    schema_version: ClassVar[str]
    settings_model: ClassVar[type[Section]]  # the typed `<name>:` config section
    kind: ClassVar[Kind] = Kind.MAP
    upstream: ClassVar[tuple[int, ...]] = ()  # default input: the parts of the first finished of these
    required_columns: ClassVar[tuple[str, ...]] = ("id", "text")
    config_sections: ClassVar[tuple[str, ...]] = ()  # sections or dotted keys the output depends on (default: name)
    # What the runner counts per value for the audit report (pipeline/profile.py; absent columns are
    # skipped, tuples are cross counts), and columns with a few sampled documents per value.
    profile_columns: ClassVar[tuple[Column, ...]] = PROFILE_COLUMNS
    sample_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: StageContext):
        self.ctx = ctx
        self.config = ctx.config

    @functools.cached_property
    def settings(self) -> Any:
        """This stage's config section as its typed model (attributes, checked ranges)."""
        return validate_section(self.settings_model, self.config.get(self.name) or {}, self.name)

    @classmethod
    def sections(cls) -> tuple[str, ...]:
        return cls.config_sections or (cls.name,)

    # ---- input ------------------------------------------------------------------------------
    def input_files(self) -> list[str]:
        """`<name>.inputs` when set (globs, folders), else the upstream stage's parts."""
        configured = getattr(self.settings, "inputs", None)
        if configured:
            return io.expand_inputs(configured, f"{self.name}.inputs")
        return self.upstream_files()

    def upstream_files(self) -> list[str]:
        for number in self.upstream:
            if self.ctx.stage_finished(number):
                return self.ctx.stage_parts(number)
        if len(self.upstream) == 1:
            return self.ctx.stage_parts(self.upstream[0])  # its error says to run that stage
        names = " or ".join(f"stage-{n}" for n in self.upstream)
        raise InputError(f"{self.name}: no finished {names} in {self.ctx.run_dir} and "
                         f"{self.name}.inputs is not set")

    def read_documents(self, path: str, columns: Mapping[str, pa.DataType] | None = None,
                       rows: np.ndarray | None = None) -> pa.Table:
        """One input table, checked for `required_columns` (see pipeline.tables.read_documents)."""
        return tables.read_documents(path, self.required_columns, columns, rows)

    # ---- the work ---------------------------------------------------------------------------
    def partitions(self) -> list[Partition]:
        """Default: one partition per input file, in order."""
        return [Partition(index=i, inputs=(path,)) for i, path in enumerate(self.input_files())]

    def prepare(self, engine: Engine) -> None:
        """Global work before the partition map (calibration, clustering). Must itself be resumable."""

    def score(self, part: Partition) -> pa.Table:
        """Every input row of the partition, with this stage's columns added. Pure."""
        raise NotImplementedError

    def decide(self, table: pa.Table) -> pa.Array:
        """Per row: null to keep, else a short reason ("language", "tier_low"). From config only."""
        return pa.nulls(table.num_rows, pa.string())

    def assemble(self, kept: pa.Table, part: Partition) -> pa.Table:
        """The rows written for the kept rows: themselves, unless a stage regroups them (packing)."""
        return kept

    def finish(self, engine: Engine) -> dict:
        """Extra manifest fields, computed after every partition has committed."""
        return {}
