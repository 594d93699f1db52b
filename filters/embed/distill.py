"""Distil the static `minilm-static` table from the packaged all-MiniLM-L6-v2, offline.

    .venv/bin/python -m filters.embed.distill [--passages 4000]

Every WordPiece token's row is MiniLM's average last-layer output for that token over real text
(the token in context, not alone): the table reproduces MiniLM's mean pooling as a sum of lookups.
Text: 920-character windows of the FineWeb pages in ../shared/data/quality (1 page in 5 is held
out, by a stable hash of its id, for the benchmark) and of the Python docs' reStructuredText
sources (Debian python3-doc, every 4th file). Tokens never seen keep a zero row. One torch thread,
fixed order: the same table on every run. Stored as int8 with one scale per row (models/). Built at
`make setup` (a few minutes of CPU), not committed (6.5 MB): models/minilm_static.json records the
sha256 each build is checked against.

Measured (bench/bench_rebalance.py): ~100x MiniLM's speed per core, but a mean cosine of only
~0.6 with MiniLM's own embeddings: a token's vector in context carries the document's shared
component, which a per-token average cannot. It is the fast option for very large runs and for
tests, not a replacement for the transformer.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np

from filters.embed.models import STATIC_TABLE, minilm_path
from pipeline import npz
from pipeline.resources import check_build

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PYDOC_SOURCES = "/usr/share/doc/python3.11/html/_sources"
WINDOW = 920
RECORD = STATIC_TABLE.with_suffix(".json")


def held_out(page_id: str) -> bool:
    """FineWeb pages kept out of training (the benchmark embeds these)."""
    return hashlib.sha1(page_id.encode()).digest()[0] % 5 == 0


def fineweb_pages(shared: Path, held: bool) -> list[tuple[str, str]]:
    path = shared / "quality" / "fineweb_edu_llama3_annotations_1000.jsonl.gz"
    out = []
    with gzip.open(path, "rt") as f:
        for line in f:
            row = json.loads(line)
            if held_out(row["id"]) == held:
                out.append((row["id"], " ".join(row["text"].split())))
    return out


def windows(text: str, limit: int = 4000) -> list[str]:
    return [text[i:i + WINDOW] for i in range(0, min(len(text), limit), WINDOW) if len(text[i:i + WINDOW]) > 300]


def training_passages(shared: Path, count: int) -> list[str]:
    passages = [w for _, text in fineweb_pages(shared, held=False) for w in windows(text)]
    for path in sorted(glob.glob(f"{PYDOC_SOURCES}/**/*.txt", recursive=True))[::4]:
        passages += windows(" ".join(Path(path).read_text(errors="replace").split()), 3000)
    random.Random(0).shuffle(passages)
    return passages[:count]


def contextual_means(passages: list[str], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of MiniLM's last-layer vectors per token id over the passages."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.set_num_threads(1)
    folder = minilm_path()
    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    sums = np.zeros((tokenizer.get_vocab_size(), model.config.hidden_size), np.float64)
    counts = np.zeros(tokenizer.get_vocab_size(), np.int64)
    with torch.no_grad():
        for start in range(0, len(passages), batch):
            encoded = tokenizer.encode_batch(passages[start:start + batch])
            ids = torch.tensor([e.ids for e in encoded])
            mask = torch.tensor([e.attention_mask for e in encoded])
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
            for row, e in enumerate(encoded):
                n = int(sum(e.attention_mask))
                np.add.at(sums, ids[row, :n].numpy(), hidden[row, :n])
                np.add.at(counts, ids[row, :n].numpy(), 1)
    return sums, counts


def save_table(sums: np.ndarray, counts: np.ndarray, path: Path, max_tokens: int = 256) -> None:
    table = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    quantized = np.round(table / scale[:, None]).astype(np.int8)
    npz.save(path, table=quantized, scale=scale.astype(np.float32), counts=counts.astype(np.int32),
             max_tokens=max_tokens)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=4000)
    parser.add_argument("--shared", default=str(SHARED))
    parser.add_argument("--out", default=str(STATIC_TABLE))
    args = parser.parse_args()
    passages = training_passages(Path(args.shared), args.passages)
    sums, counts = contextual_means(passages)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_table(sums, counts, Path(args.out))
    same = check_build(Path(args.out), json.loads(RECORD.read_text())["sha256"])
    print(f"{len(passages)} passages, {int((counts > 0).sum())} tokens seen -> {args.out}"
          f"{' (identical to the recorded build)' if same else ''}")


if __name__ == "__main__":
    main()
