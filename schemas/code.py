"""Stage 6 (code) output: one row per kept source file, with its OpenCoder verdict and provenance."""

from __future__ import annotations

import pyarrow as pa

from schemas.base import DOC_FIELDS

VERSION = "1"

SIGNALS = pa.map_(pa.string(), pa.float64())

SCHEMA = pa.schema([
    *DOC_FIELDS,                                           # source "code", content_type "Code", url code://repo/path
    pa.field("language", pa.string()),                     # = code_language (stage 8's `lang` header field)
    pa.field("code_language", pa.string()),                # OpenCoder's key of the linguist language: python, cpp…
    pa.field("doc_type", pa.string()),                     # code | data | text (OpenCoder's routing)
    pa.field("rule_profile", pa.string()),                 # the rule set applied: python, data, others, text_en…
    pa.field("path", pa.string()),                         # path inside the repository or folder
    pa.field("repo", pa.string()),
    pa.field("stars", pa.int64()),
    pa.field("license", pa.string()),
    pa.field("commit_date", pa.timestamp("s", tz="UTC")),
    pa.field("size_bytes", pa.int64()),
    pa.field("hits", pa.list_(pa.string())),               # names of the OpenCoder rules that fired
    pa.field("hit_count", pa.int32()),
    pa.field("code_signals", SIGNALS),                     # rule name → signal value (null: not applicable)
    pa.field("secrets_redacted", pa.map_(pa.string(), pa.int32())),  # kind → replacements in this file
])
