"""Stage 8 output: token rows (no text) with loss masks, and the input columns it reads."""

from __future__ import annotations

import pyarrow as pa

VERSION = "1"

SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),   # the document's id (packed: pack-SHARD-ROW)
    pa.field("source", pa.string()),
    pa.field("content_type", pa.string()),
    pa.field("input_ids", pa.list_(pa.int32())),
    pa.field("loss_mask", pa.list_(pa.uint8())),   # same length as input_ids; 0 = no loss
    pa.field("meta", pa.string()),                 # the header string prepended (may be "")
    pa.field("n_tokens", pa.int32()),
])

# Columns stage 8 reads from its inputs (missing ones are nulls); only id and text are required.
INPUT_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.string(),
    "text": pa.string(),
    "source": pa.string(),
    "content_type": pa.string(),
    "tier": pa.string(),
    "language": pa.string(),
    "domain": pa.string(),
    "topic": pa.string(),                          # stage 5's WebOrganizer topic (the header's domain)
    "page_topic": pa.string(),                     # stage 1's page topic, carried by stage 2
    "dataset": pa.string(),                        # the dataset a row came from (the header's source)
    "url": pa.string(),
    "dup_cluster_id": pa.string(),
    "kind": pa.string(),
    "repo": pa.string(),
    "number": pa.int64(),
    "no_loss_spans": pa.list_(pa.list_(pa.int64())),  # stage 7: [start, end) char offsets, no loss
    "chat_text": pa.string(),                          # stage 7: the sample as a chat dialogue (midtrain)
    "chat_no_loss_spans": pa.list_(pa.list_(pa.int64())),  # … its user turns
}
