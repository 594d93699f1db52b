"""Stage 3 (quality) output: the document fields plus the scorer ensemble's verdict."""

from __future__ import annotations

import pyarrow as pa

from schemas.base import DOC_FIELDS

VERSION = "1"

SCHEMA = pa.schema([
    *DOC_FIELDS,
    pa.field("quality_scores", pa.map_(pa.string(), pa.float64())),   # scorer name → raw score
    pa.field("quality_buckets", pa.map_(pa.string(), pa.int32())),    # scorer name → bucket 0..19
    pa.field("quality_bucket", pa.int32()),                           # ensemble bucket 0..19
    pa.field("tier", pa.string()),                                    # high … low
    pa.field("rule_failures", pa.list_(pa.string())),                 # "c4:curly_bracket", …
    pa.field("sample_weight", pa.float64()),                          # >1: STEM/knowledge up-weighted
])
