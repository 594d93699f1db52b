"""Embeddings persisted beside the run, float16, so re-clustering and re-ranking never re-embed.

    DIR/embeddings/<model>-c<max_chars>-p<passages>/
        part-00007.npy            float16 (passages, dims): every passage of the partition's rows
        part-00007.index.parquet  id, first, count: row i's passages are rows first..first+count-1;
                                  passage `first` is the document's head (its document embedding)

The index is written after the vectors, so its presence means the partition is complete. It
lives outside DIR/stage-5/, so `--force` on the stage (re-deciding) keeps the embeddings.
"""

from __future__ import annotations

import io as _io
import re

import numpy as np
import pyarrow as pa

from filters.embed.models import model_slug
from pipeline import io
from pipeline.tables import part_name

_BREAK = re.compile(r"\s")


def passages(text: str, max_chars: int, count: int) -> list[str]:
    """The text's first `count` passages of at most `max_chars` characters, cut at whitespace
    (a passage boundary never splits a word unless a word is longer than a passage)."""
    text = text.strip()
    if not text:
        return [""]
    out, start = [], 0
    while start < len(text) and len(out) < count:
        end = start + max_chars
        if end < len(text):
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            end = cut if cut > start + max_chars // 2 else end
        out.append(text[start:end].strip())
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return out


class EmbeddingStore:
    def __init__(self, run_dir: str, model: str, max_chars: int, passages_per_doc: int):
        self.model = model
        self.folder = io.join(run_dir, "embeddings", f"{model_slug(model)}-c{max_chars}-p{passages_per_doc}")

    def vectors_path(self, index: int) -> str:
        return io.join(self.folder, part_name(index, ".npy"))

    def index_path(self, index: int) -> str:
        return io.join(self.folder, part_name(index, ".index.parquet"))

    def complete(self, index: int) -> bool:
        return io.exists(self.index_path(index))

    def write(self, index: int, ids: pa.Array, counts: np.ndarray, vectors: np.ndarray) -> None:
        buffer = _io.BytesIO()
        np.save(buffer, np.asarray(vectors, dtype=np.float16))
        io.write_bytes_atomic(self.vectors_path(index), buffer.getvalue())
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else np.zeros(0, np.int64)
        io.write_parquet_atomic(self.index_path(index), pa.table(
            {"id": ids, "first": pa.array(first), "count": pa.array(np.asarray(counts, np.int64))}))

    def read_index(self, index: int) -> pa.Table:
        return io.read_parquet(self.index_path(index))

    def read_vectors(self, index: int) -> np.ndarray:
        """All passages of a partition, float16 (memory-mapped when the run folder is local)."""
        path = self.vectors_path(index)
        if "://" not in path:
            return np.load(path, mmap_mode="r")
        with io.open_input(path) as fh:
            return np.load(_io.BytesIO(fh.read()))

    def read_documents(self, index: int) -> np.ndarray:
        """One float16 vector per row: the embedding of the document's head."""
        first = self.read_index(index).column("first").to_numpy()
        return np.asarray(self.read_vectors(index)[first])
