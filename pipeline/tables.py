"""The one input layer and the one write check: how stages read parquet inputs and name parts.

- `read_documents(path, required, columns)`: one input table, with one clear error naming the file
  and the missing column; document fields the table lacks come back as nulls.
- `conform(table, schema, what)`: a stage's output checked and cast against its schema before a
  part is written.
- `part_name(index)`: `part-00007.parquet`, for stage parts and every per-partition sidecar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import io
from pipeline.errors import InputError, PipelineError
from schemas.base import DOC_FIELDS


def part_name(index: int, suffix: str = ".parquet") -> str:
    return f"part-{index:05d}{suffix}"


def input_schema(path: str) -> pa.Schema:
    """The parquet schema of an input file (footer only), or an InputError naming the file."""
    try:
        with io.open_input(path) as fh:
            return pq.read_schema(fh)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None


def read_documents(
    path: str,
    required: Sequence[str] = ("id", "text"),
    columns: Mapping[str, pa.DataType] | None = None,
    rows: np.ndarray | None = None,
) -> pa.Table:
    """One input table of documents.

    `columns` None: every column of the file, plus any document field (id, source, content_type,
    text, url) it lacks, as nulls. `columns` given: exactly those columns in that order, cast to
    their types, missing ones as nulls. `rows`: only these row positions, in that order.
    """
    present = set(input_schema(path).names)
    for name in required:
        if name not in present:
            raise InputError(f"{path}: input table lacks required column '{name}'")
    wanted = None if columns is None else [c for c in columns if c in present]
    table = io.read_parquet(path, wanted)
    if "id" in required and "id" in table.column_names:
        ids = table.column("id")
        if ids.null_count:
            raise InputError(f"{path}: column 'id' has {ids.null_count} nulls")
        if pc.count_distinct(ids).as_py() != len(ids):
            repeated = pc.value_counts(ids).filter(pc.greater(pc.struct_field(pc.value_counts(ids), "counts"), 1))
            raise InputError(f"{path}: column 'id' repeats {repeated[0]['values'].as_py()!r} "
                             f"({len(repeated)} ids appear more than once); ids must be unique")
    if rows is not None:
        table = table.take(pa.array(rows))
    if columns is None:
        for field in DOC_FIELDS:
            if field.name not in table.column_names:
                table = table.append_column(field.name, pa.nulls(table.num_rows, field.type))
        return table
    arrays = [table.column(name).cast(kind) if name in present else pa.nulls(table.num_rows, kind)
              for name, kind in columns.items()]
    return pa.Table.from_arrays(arrays, names=list(columns))


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """Check the schema's columns are present and castable; cast them; keep extra columns after.

    Raises one clear error naming the column, so a stage bug never writes a malformed part.
    """
    columns, fields = [], []
    for field in schema:
        if field.name not in table.column_names:
            raise PipelineError(f"{what}: output lacks required column '{field.name}'")
        column = table.column(field.name)
        if not column.type.equals(field.type):
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise PipelineError(
                    f"{what}: column '{field.name}' is {column.type}, expected {field.type} ({exc})"
                ) from None
        if not field.nullable and column.null_count:
            raise PipelineError(f"{what}: column '{field.name}' has {column.null_count} nulls")
        columns.append(column)
        fields.append(field)
    for name in table.column_names:
        if name not in schema.names:
            columns.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
