"""Stream stage-8 shards as (input_ids, loss_mask) batches, with exact resume from (shard, row).

    reader = TokenReader("runs/x/stage-8", batch_size=8)
    for input_ids, loss_mask in reader: ...          # numpy int32 / uint8, shape (batch, length)
    state = reader.state()                            # {"shard": k, "row": r, "tokens": n}: the next row
    TokenReader("runs/x/stage-8", batch_size=8, start=state)   # continues exactly there

The header (meta) tokens of every sample are located from the shards (`n_header_tokens`, or
`doc_starts` + `doc_header_tokens` in packed rows), so the loss on them is the trainer's choice at
read time, without re-tokenizing: `meta_loss="full"` trains on them, `"masked"` gives them loss 0,
None keeps what stage 8 wrote; `masked_after_tokens=N` trains on them for the first N tokens read
and masks them after (the report's schedule: ~3.8T tokens with the header, then without).

Rows of unequal length are right-padded with `pad_id` and loss 0. `TokenDataset` wraps the
reader as a torch IterableDataset (DataLoader workers and ranks take disjoint shards).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import io
from pipeline.errors import ConfigError
from pipeline.tables import input_schema

HEADER_COLUMNS = ("n_header_tokens", "doc_starts", "doc_header_tokens")


def header_positions(table: pa.Table, offsets: np.ndarray) -> np.ndarray:
    """A bool per flat token of the shard: True on header tokens."""
    total = int(offsets[-1])
    flags = np.zeros(total, dtype=bool)
    if "doc_header_tokens" in table.column_names:  # packed: every piece starts with its header
        starts = table.column("doc_starts").combine_chunks()
        rows = np.repeat(np.arange(table.num_rows), np.diff(starts.offsets.to_numpy()))
        begin = offsets[:-1][rows] + pc.list_flatten(starts).to_numpy()
        length = pc.list_flatten(table.column("doc_header_tokens").combine_chunks()).to_numpy()
    elif "n_header_tokens" in table.column_names:
        begin, length = offsets[:-1], table.column("n_header_tokens").to_numpy()
    else:
        return flags
    marks = np.zeros(total + 1, dtype=np.int64)
    np.add.at(marks, begin, 1)
    np.add.at(marks, begin + length, -1)
    return np.cumsum(marks[:-1]) > 0


class TokenReader:
    def __init__(self, stage_dir: str, batch_size: int = 8, start: dict | None = None,
                 pad_id: int = 0, shards: list[int] | None = None, meta_loss: str | None = None,
                 masked_after_tokens: int | None = None):
        if meta_loss not in (None, "full", "masked"):
            raise ConfigError(f"TokenReader meta_loss must be full, masked or None, got {meta_loss!r}")
        self.stage_dir = str(stage_dir)
        index = io.read_json(io.join(self.stage_dir, "_index.json"))
        self.shards = [s["path"] for s in index["shards"]]
        self.selected = list(range(len(self.shards))) if shards is None else list(shards)
        self.batch_size, self.pad_id = batch_size, pad_id
        self.meta_loss, self.masked_after_tokens = meta_loss, masked_after_tokens
        start = start or {"shard": self.selected[0] if self.selected else 0, "row": 0}
        self.position = (int(start["shard"]), int(start["row"]))
        self.tokens = int(start.get("tokens", 0))  # tokens read before `position` (for the switch)

    def state(self) -> dict:
        """Where the next batch starts; pass it as `start` to resume exactly."""
        return {"shard": self.position[0], "row": self.position[1], "tokens": self.tokens}

    def _header_loss(self, tokens_before: int) -> int | None:
        """The loss to put on header tokens of a row read after `tokens_before` tokens (None: as written)."""
        if self.masked_after_tokens is not None:
            return 1 if tokens_before < self.masked_after_tokens else 0
        return {None: None, "full": 1, "masked": 0}[self.meta_loss]

    def _rows(self) -> Iterator[tuple[np.ndarray, np.ndarray, int, int]]:
        first_shard, first_row = self.position
        rewrite = self.meta_loss is not None or self.masked_after_tokens is not None
        for shard in self.selected:
            if shard < first_shard:
                continue
            path = io.join(self.stage_dir, self.shards[shard])
            names = set(input_schema(path).names) if rewrite else set()
            table = io.read_parquet(path, ["input_ids", "loss_mask", *[c for c in HEADER_COLUMNS if c in names]])
            skip = first_row if shard == first_shard else 0
            ids_col = table.column("input_ids").combine_chunks()
            mask_col = table.column("loss_mask").combine_chunks()
            ids_flat = pc.list_flatten(ids_col).to_numpy()
            mask_flat = pc.list_flatten(mask_col).to_numpy()
            offsets = ids_col.offsets.to_numpy() - ids_col.offsets[0].as_py()
            header = header_positions(table, offsets) if rewrite else None
            for row in range(skip, table.num_rows):
                ids, mask = ids_flat[offsets[row]:offsets[row + 1]], mask_flat[offsets[row]:offsets[row + 1]]
                loss = self._header_loss(self.tokens) if rewrite else None
                if loss is not None:
                    mask = np.where(header[offsets[row]:offsets[row + 1]], np.uint8(loss), mask)
                self.tokens += len(ids)
                yield ids, mask, shard, row

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        batch: list[tuple[np.ndarray, np.ndarray]] = []
        for ids, mask, shard, row in self._rows():
            batch.append((ids, mask))
            if len(batch) == self.batch_size:
                self.position = (shard, row + 1)
                yield self._collate(batch)
                batch = []
        if batch:
            self.position = (len(self.shards), 0)
            yield self._collate(batch)
        self.position = (len(self.shards), 0)

    def _collate(self, batch: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(ids) for ids, _ in batch)
        input_ids = np.full((len(batch), width), self.pad_id, np.int32)
        loss_mask = np.zeros((len(batch), width), np.uint8)
        for i, (ids, mask) in enumerate(batch):
            input_ids[i, :len(ids)] = ids
            loss_mask[i, :len(mask)] = mask
        return input_ids, loss_mask


@lru_cache(maxsize=1)
def _torch_dataset():
    import torch

    class TokenDataset(torch.utils.data.IterableDataset):
        """Shards split over (rank, DataLoader worker); yields (input_ids, loss_mask) tensors."""

        def __init__(self, stage_dir: str, batch_size: int = 8, rank: int = 0, world_size: int = 1,
                     pad_id: int = 0, meta_loss: str | None = None):
            super().__init__()
            self.stage_dir, self.batch_size, self.pad_id = str(stage_dir), batch_size, pad_id
            self.rank, self.world_size, self.meta_loss = rank, world_size, meta_loss

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            workers, worker = (info.num_workers, info.id) if info else (1, 0)
            n_shards = len(io.read_json(io.join(self.stage_dir, "_index.json"))["shards"])
            slot, slots = self.rank * workers + worker, self.world_size * workers
            reader = TokenReader(self.stage_dir, self.batch_size, pad_id=self.pad_id,
                                 shards=list(range(slot, n_shards, slots)), meta_loss=self.meta_loss)
            for input_ids, loss_mask in reader:
                yield torch.from_numpy(input_ids), torch.from_numpy(loss_mask)

    TokenDataset.__module__, TokenDataset.__qualname__ = __name__, "TokenDataset"  # picklable
    return TokenDataset


def __getattr__(name: str):
    if name == "TokenDataset":  # torch is imported only when asked for
        return _torch_dataset()
    raise AttributeError(name)


__all__ = ["TokenReader", "header_positions"]
