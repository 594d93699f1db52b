"""Stage 5 (rebalance) output: the document fields plus the embedding cluster, topic/format and
knowledge columns of each kept row (weight mode: of every row)."""

import pyarrow as pa

from schemas.base import DOC_FIELDS

VERSION = "1"

COLUMNS = [
    pa.field("embedding_cluster", pa.int64(), nullable=False),          # leaf of the k-means tree
    pa.field("embedding_coarse_cluster", pa.int64(), nullable=False),   # its top-level ancestor
    pa.field("cluster_size_before", pa.int64(), nullable=False),        # input rows in the cluster
    pa.field("cluster_size_after", pa.int64(), nullable=False),         # rows the caps keep in it
    pa.field("topic", pa.string()),                                     # WebOrganizer topic (24)
    pa.field("topic_confidence", pa.float32()),
    pa.field("format", pa.string()),                                    # WebOrganizer format (24)
    pa.field("format_confidence", pa.float32()),
    pa.field("knowledge", pa.bool_(), nullable=False),                  # in the knowledge subset
    pa.field("knowledge_score", pa.float32(), nullable=False),
    pa.field("knowledge_coverage", pa.int32(), nullable=False),         # inventory items covered
    pa.field("knowledge_item", pa.string()),                            # the best-matching item
    pa.field("rebalance_weight", pa.float32(), nullable=False),         # stage 8's sampling weight
    pa.field("rebalance_reason", pa.string()),                          # the cap that drops it (null: kept)
]

SCHEMA = pa.schema([*DOC_FIELDS, *COLUMNS])
DECISIONS_SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False), *COLUMNS])
