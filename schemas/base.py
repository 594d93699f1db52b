"""Columns every document row carries from stage 2 on (checked on write by pipeline.tables.conform)."""

from __future__ import annotations

import pyarrow as pa

DOC_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),       # deterministic, never changed once assigned
    pa.field("source", pa.string()),                  # where it came from: "crawl", "cc-warc", "files"…
    pa.field("content_type", pa.string()),            # Web | Book | Paper | Document | Code | …
    pa.field("text", pa.string()),
    pa.field("url", pa.string()),
]

DOC_SCHEMA = pa.schema(DOC_FIELDS)
