"""The candidate_pairs step: signature files → LSH buckets → candidate pairs, in one Spark shuffle.

Bucket rows (one per LSH band, one per normalised-text hash) are built and grouped in numpy: the
shuffle carries one packed blob per (mapper chunk, reducer), so the JVM moves bytes and never sees
a row per document. Each bucket of two or more becomes a star to its first member by (tier,
length, normalised-text hash), which depends on the documents only: the pairs, and hence the
clusters, are the same for any input partitioning or Spark cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

import numpy as np
import pyarrow as pa
from pyspark.sql import SparkSession

from filters.dedup.cluster_settings import ClusterSettings
from filters.dedup.signatures import unpacked_rows, write_uncompressed
from pipeline import io
from pipeline.tables import part_name

PAIRS = pa.schema([("a", pa.int64()), ("b", pa.int64())])
KEY_BITS = 56  # bucket = (band + 1) << 56 | 56 bits of the band key; band 0 is the exact-text hash
KEY_MASK = np.int64((1 << KEY_BITS) - 1)
CHUNK_ROWS = 250_000  # signature rows turned into bucket rows at a time (bounds a mapper's memory)


def _exact_keys(column: pa.Array) -> np.ndarray:
    """The first 64 bits of each 128-bit normalised-text hash, as int64."""
    return np.ascontiguousarray(unpacked_rows(column, np.int64)[:, 0])


def bucket_rows(batch: pa.RecordBatch, part: int, exact: bool, near: bool) -> np.ndarray:
    """(bucket, centre, exact key, node) int64 rows of one batch of signature rows: one per LSH band
    (documents with shingles only) and one per normalised-text hash. `centre` ranks members for the
    star: best tier, then longest; the exact key breaks its ties by content."""
    node = (np.int64(part) << 32) | batch.column("row").to_numpy().astype(np.int64)
    exact_key = _exact_keys(batch.column("exact"))
    length = np.minimum(batch.column("length").to_numpy(), 0xFFFFFFFF)
    centre = (batch.column("tier_rank").to_numpy().astype(np.int64) << 32) | (0xFFFFFFFF - length)
    keep = batch.column("shingles").to_numpy() > 0 if near else np.zeros(len(node), dtype=bool)
    keys = unpacked_rows(batch.column("bands"), np.int64)[keep]
    count, bands = keys.shape
    first = len(node) if exact else 0
    out = np.empty((first + count * bands, 4), dtype=np.int64)  # filled in place: no temporaries
    if exact:
        out[:first] = np.column_stack([exact_key & KEY_MASK, centre, exact_key, node])
    per_band = out[first:].reshape(count, bands, 4)
    per_band[:, :, 0] = (keys & KEY_MASK) | (np.arange(1, bands + 1, dtype=np.int64) << KEY_BITS)
    for column, values in ((1, centre), (2, exact_key), (3, node)):
        per_band[:, :, column] = values[keep][:, None]
    return out


def _bucket_blobs(job: tuple[str, int], settings: ClusterSettings, reducers: int) -> Iterator[tuple[int, bytes]]:
    """One signature file → (reducer, packed bucket rows) per reducer and chunk of rows."""
    path, part = job
    table = io.read_parquet(path, columns=["row", "exact", "length", "tier_rank", "shingles", "bands"])
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        rows = bucket_rows(batch, part, settings.exact, settings.near)
        target = (rows[:, 0] % reducers).astype(np.uint16 if reducers < 2**16 else np.int64)
        order = np.argsort(target, kind="stable")  # a radix sort for 16-bit keys
        bounds = np.searchsorted(target[order], np.arange(reducers + 1))
        for reducer in range(reducers):
            chunk = rows[order[bounds[reducer]:bounds[reducer + 1]]]
            if len(chunk):
                yield reducer, np.ascontiguousarray(chunk).tobytes()


def bucket_stars(rows: np.ndarray) -> np.ndarray:
    """Bucket rows → distinct (member, centre) node pairs: each member of a bucket of two or more
    linked to its first member by (centre, exact key, node)."""
    by_bucket = np.sort(rows[:, 0])
    shared = np.unique(by_bucket[1:][by_bucket[1:] == by_bucket[:-1]])  # buckets of two or more
    rows = rows[np.isin(rows[:, 0], shared, assume_unique=False)]  # the few rows that matter
    if not len(rows):
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))
    bucket, node = rows[order, 0], rows[order, 3]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = bucket[1:] != bucket[:-1]
    centre = node[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    pairs = np.column_stack([node[~starts], centre[~starts]])
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def _write_stars(index: int, blobs: Iterable[tuple[int, bytes]], folder: str) -> Iterator[int]:
    """One reducer: all bucket rows hashed to it → its candidate pairs, as one parquet file."""
    parts = [np.frombuffer(blob, dtype=np.int64).reshape(-1, 4) for _, blob in blobs]
    pairs = bucket_stars(np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64))
    write_uncompressed(io.join(folder, part_name(index)),
                       pa.table([pa.array(pairs[:, 0]), pa.array(pairs[:, 1])], schema=PAIRS))
    yield len(pairs)


def candidate_pairs(spark: SparkSession, files: list[tuple[str, int]], folder: str,
                    settings: ClusterSettings) -> None:
    """Candidate pairs (a, b) of nodes `part << 32 | row` into `folder`, one parquet file per
    reducer (a pair may repeat across files), from the signature files [(path, part)]."""
    reducers = max(int(spark.conf.get("spark.sql.shuffle.partitions")), 1)
    (spark.sparkContext.parallelize(files, len(files))
     .flatMap(partial(_bucket_blobs, settings=settings, reducers=reducers))
     .partitionBy(reducers, int)
     .mapPartitionsWithIndex(partial(_write_stars, folder=folder))
     .collect())
