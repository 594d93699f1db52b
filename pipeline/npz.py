"""Write .npz files that are byte-identical for identical arrays (np.savez stamps the time)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


def save(path: str | Path, **arrays) -> None:
    """Like np.savez_compressed, with a fixed member timestamp and order, so a deterministic
    training run rebuilds a model file byte for byte; np.load reads it as usual."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arrays[name]), allow_pickle=False)
