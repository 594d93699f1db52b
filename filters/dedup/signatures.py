"""Per-partition step of the dedup stage: hash one input file into a signature table.

Runs on the engine's workers; each output file is written atomically and skipped when present,
so a resumed run hashes only what is missing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup.minhash import MinhashParams, band_keys, hash_texts
from pipeline import io
from pipeline.errors import InputError
from pipeline.tables import read_documents

SIGNATURE_SCHEMA_COLUMNS = ("part", "row", "id", "exact", "length", "tier_rank", "shingles", "bands", "sig")


def tier_ranks(tiers: pa.ChunkedArray | None, rows: int, tier_order: list[str],
               survivor_rank: pa.ChunkedArray | None = None) -> pa.Array:
    """Position of each row's tier in tier_order (0 = best); unknown or missing tiers rank last.
    A `survivor_rank` column (int, 0 = best), when an input has one, ranks instead of the tier:
    stage 6 ranks copies of a code file by the stars of their repository, then recency."""
    last = len(tier_order)
    if survivor_rank is not None and survivor_rank.null_count < len(survivor_rank):
        return survivor_rank.cast(pa.int32()).combine_chunks()
    if tiers is None:
        return pa.array(np.full(rows, last, dtype=np.int32))
    ranks = pc.index_in(tiers.cast(pa.string()), value_set=pa.array(tier_order, pa.string()))
    return pc.fill_null(ranks, last).cast(pa.int32()).combine_chunks()


def packed_rows(matrix: np.ndarray) -> pa.Array:
    """Each row of a numeric matrix as one binary value: Spark sorts, shuffles and joins a flat
    binary column several times faster than an array column."""
    n, width = matrix.shape
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width * matrix.itemsize), n, [None, pa.py_buffer(np.ascontiguousarray(matrix).tobytes())])
    return fixed.cast(pa.binary())


def unpacked_rows(column: pa.Array, dtype: type) -> np.ndarray:
    """The inverse of packed_rows for a binary Arrow array of equal-width values (no copy)."""
    offset_type = np.int64 if pa.types.is_large_binary(column.type) else np.int32
    offsets = np.frombuffer(column.buffers()[1], offset_type)[column.offset: column.offset + len(column) + 1]
    if len(column) == 0 or offsets[-1] == offsets[0]:
        return np.zeros((len(column), 0), dtype=dtype)
    data = np.frombuffer(column.buffers()[2], np.uint8)[offsets[0]: offsets[-1]]
    return data.view(dtype).reshape(len(column), -1)


def signature_table(table: pa.Table, part: int, params: MinhashParams, tier_order: list[str]) -> pa.Table:
    """One row per input row: where it is, what ranks it as survivor, and its hashes."""
    texts = pc.fill_null(table.column("text").cast(pa.string()), "")
    hashes = hash_texts(texts, params)
    n = table.num_rows
    tiers = table.column("tier") if "tier" in table.column_names else None
    ranks = table.column("survivor_rank") if "survivor_rank" in table.column_names else None
    return pa.table({
        "part": pa.array(np.full(n, part, dtype=np.int32)),
        "row": pa.array(np.arange(n, dtype=np.int32)),
        "id": table.column("id").cast(pa.string()).combine_chunks(),
        "exact": packed_rows(hashes.exact),
        "length": pc.utf8_length(texts).cast(pa.int64()).combine_chunks(),
        "tier_rank": tier_ranks(tiers, n, tier_order, ranks),
        "shingles": pa.array(hashes.shingle_counts),
        "bands": packed_rows(band_keys(hashes.signatures, params.bands, params.rows)),  # int64 each
        "sig": packed_rows(hashes.signatures),  # uint32 each
    })


def write_uncompressed(uri: str, table: pa.Table) -> None:
    """Hashes do not compress: writing them without zstd saves its CPU for nothing lost."""
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="none", write_page_checksum=True)
    io.write_bytes_atomic(uri, sink.getvalue().to_pybytes())


def signature_rows(path: str) -> int:
    """Rows of a signature file, from its footer."""
    import pyarrow.parquet as pq

    with io.open_input(path) as fh:
        return pq.ParquetFile(fh).metadata.num_rows


def write_signatures(job: dict) -> dict:
    """Hash one partition's input into job["output"]; returns {"rows": n} or {"error": one line}."""
    if io.exists(job["output"]):
        return {"rows": -1}
    try:
        table = read_documents(job["input"], columns={"id": pa.string(), "text": pa.string(), "tier": pa.string(),
                                                           "survivor_rank": pa.int32()})
        sigs = signature_table(table, job["part"], job["params"], job["tier_order"])
        write_uncompressed(job["output"], sigs)
        return {"rows": sigs.num_rows}
    except InputError as exc:
        return {"error": str(exc)}
