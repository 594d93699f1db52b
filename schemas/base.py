"""Columns every document row carries from stage 2 on, and the one validation path for writes."""

from __future__ import annotations

import pyarrow as pa

from pipeline.errors import PipelineError

DOC_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),       # deterministic, never changed once assigned
    pa.field("source", pa.string()),                  # where it came from: "crawl", "cc-warc", "files"…
    pa.field("content_type", pa.string()),            # Web | Book | Paper | Document | Code | …
    pa.field("text", pa.string()),
    pa.field("url", pa.string()),
]

DOC_SCHEMA = pa.schema(DOC_FIELDS)


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
