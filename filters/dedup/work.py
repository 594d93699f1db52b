"""DIR/stage-4/_work/: the files stage 4's steps hand each other, and each finished step's marker.

    pairs/            candidate pairs (a, b) of nodes part << 32 | row, one file per reducer
    nodes/            candidate nodes with their signature rows, `node` increasing in survivor order
    components/       (node, root) of every component member, root = its smallest node (the survivor)
    checked/          the same after the survivor check
    assign/part=P/    cluster rows of input partition P (row, id, dup_cluster_id, size, type)
    steps/NAME.json   a step's figures, written when its outputs are complete
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import io
from pipeline.tables import part_name

LINKS = pa.schema([("node", pa.int64()), ("root", pa.int64())])


class WorkDir:
    def __init__(self, root: str):
        self.root = root

    def path(self, *parts: str) -> str:
        return io.join(self.root, *parts)

    # ---- markers -----------------------------------------------------------------------------
    def finished(self, step: str) -> dict | None:
        marker = self.path("steps", f"{step}.json")
        return io.read_json(marker) if io.exists(marker) else None

    def finish(self, step: str, figures: dict) -> None:
        io.write_json_atomic(self.path("steps", f"{step}.json"), figures)

    # ---- files -------------------------------------------------------------------------------
    def _read_folder(self, name: str, columns: list[str] | None = None) -> pa.Table | None:
        folder = self.path(name)
        files = [io.join(folder, n) for n in io.listdir(folder) if n.endswith(".parquet")]
        return pa.concat_tables([io.read_parquet(f, columns) for f in files]) if files else None

    def write_nodes(self, table: pa.Table) -> None:
        io.write_parquet_atomic(self.path("nodes", part_name(0)), table)

    def read_nodes(self) -> pa.Table:
        table = self._read_folder("nodes")
        return table.sort_by("node").combine_chunks()

    def write_links(self, name: str, node: np.ndarray, root: np.ndarray) -> None:
        table = pa.table([pa.array(node, pa.int64()), pa.array(root, pa.int64())], schema=LINKS)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="none", write_page_checksum=True)
        io.write_bytes_atomic(self.path(name, part_name(0)), sink.getvalue().to_pybytes())

    def read_links(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        table = self._read_folder(name, ["node", "root"])
        if table is None or not table.num_rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return table.column("node").to_numpy(), table.column("root").to_numpy()

    def write_assignment(self, part: int, rows: pa.Table) -> None:
        io.write_parquet_atomic(self.path("assign", f"part={part}", part_name(0)), rows)

    def read_assignment(self) -> pa.Table:
        """Every cluster member's row, with its input partition as `part`."""
        pieces = []
        for name in io.listdir(self.path("assign")):
            if name.startswith("part="):
                table = self._read_folder(f"assign/{name}")
                if table is not None:
                    part = int(name.split("=", 1)[1])
                    pieces.append(table.append_column("part", pa.array(np.full(table.num_rows, part, np.int32))))
        return pa.concat_tables(pieces) if pieces else None
