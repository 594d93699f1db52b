"""Stream stage-8 shards as (input_ids, loss_mask) batches, with exact resume from (shard, row).

    reader = TokenReader("runs/x/stage-8", batch_size=8)
    for input_ids, loss_mask in reader: ...          # numpy int32 / uint8, shape (batch, length)
    state = reader.state()                            # {"shard": k, "row": r}: the next row
    TokenReader("runs/x/stage-8", batch_size=8, start=state)   # continues exactly there

Rows of unequal length are right-padded with `pad_id` and loss 0. `TokenDataset` wraps the
reader as a torch IterableDataset (DataLoader workers and ranks take disjoint shards).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import pyarrow.compute as pc

from pipeline import io


class TokenReader:
    def __init__(self, stage_dir: str, batch_size: int = 8, start: dict | None = None,
                 pad_id: int = 0, shards: list[int] | None = None):
        self.stage_dir = str(stage_dir)
        index = io.read_json(io.join(self.stage_dir, "_index.json"))
        self.shards = [s["path"] for s in index["shards"]]
        self.selected = list(range(len(self.shards))) if shards is None else list(shards)
        self.batch_size, self.pad_id = batch_size, pad_id
        start = start or {"shard": self.selected[0] if self.selected else 0, "row": 0}
        self.position = (int(start["shard"]), int(start["row"]))

    def state(self) -> dict:
        """Where the next batch starts; pass it as `start` to resume exactly."""
        return {"shard": self.position[0], "row": self.position[1]}

    def _rows(self) -> Iterator[tuple[np.ndarray, np.ndarray, int, int]]:
        first_shard, first_row = self.position
        for shard in self.selected:
            if shard < first_shard:
                continue
            table = io.read_parquet(io.join(self.stage_dir, self.shards[shard]), ["input_ids", "loss_mask"])
            skip = first_row if shard == first_shard else 0
            ids_col = table.column("input_ids").combine_chunks()
            mask_col = table.column("loss_mask").combine_chunks()
            ids_flat = pc.list_flatten(ids_col).to_numpy()
            mask_flat = pc.list_flatten(mask_col).to_numpy()
            offsets = ids_col.offsets.to_numpy() - ids_col.offsets[0].as_py()
            for row in range(skip, table.num_rows):
                yield ids_flat[offsets[row]:offsets[row + 1]], mask_flat[offsets[row]:offsets[row + 1]], shard, row

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
                     pad_id: int = 0):
            super().__init__()
            self.stage_dir, self.batch_size, self.pad_id = str(stage_dir), batch_size, pad_id
            self.rank, self.world_size = rank, world_size

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            workers, worker = (info.num_workers, info.id) if info else (1, 0)
            n_shards = len(io.read_json(io.join(self.stage_dir, "_index.json"))["shards"])
            slot, slots = self.rank * workers + worker, self.world_size * workers
            reader = TokenReader(self.stage_dir, self.batch_size, pad_id=self.pad_id,
                                 shards=list(range(slot, n_shards, slots)))
            for input_ids, loss_mask in reader:
                yield torch.from_numpy(input_ids), torch.from_numpy(loss_mask)

    TokenDataset.__module__, TokenDataset.__qualname__ = __name__, "TokenDataset"  # picklable
    return TokenDataset


def __getattr__(name: str):
    if name == "TokenDataset":  # torch is imported only when asked for
        return _torch_dataset()
    raise AttributeError(name)


__all__ = ["TokenReader"]  # and TokenDataset, built on first access
