"""Stage 4 (dedup) output: the document fields plus the duplicate cluster of each kept row."""

import pyarrow as pa

from schemas.base import DOC_FIELDS

VERSION = "1"

SCHEMA = pa.schema([
    *DOC_FIELDS,
    pa.field("dup_cluster_id", pa.string(), nullable=False),   # id of the row kept for the cluster
    pa.field("dup_cluster_size", pa.int64(), nullable=False),  # rows in the cluster (1 = unique)
])

CLUSTER_FILE_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("dup_cluster_id", pa.string(), nullable=False),
    pa.field("dup_cluster_size", pa.int64(), nullable=False),
    pa.field("dup_type", pa.string(), nullable=False),  # unique | survivor | exact_duplicate | near_duplicate
])
