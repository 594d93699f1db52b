"""Knowledge mining: an inventory of entities, concepts and relations retrieves the documents and
passages that are about them, in the embedding space the stage already computed.

    inventory (JSONL or one item per line) → embed each item (as a query)
    → faiss search: each item's `top_k` nearest passages (all passages of all documents)
    → a document covers an item when one of its passages is retrieved with cosine >= min_similarity
    → score = density_weight × knowledge density + (1 − density_weight) × coverage
      (density: stage 3's educational-value score 0..5 scaled to 0..1; coverage: covered items /
      coverage_norm, at most 1)
    → `knowledge` = score >= threshold and at least one item covered

An inventory line is either plain text (the item itself) or a JSON object with `name` and, when
known, `kind` (entity | concept | relation), `aliases` and `description`; an item is embedded as
"name (aliases): description", so a relation is best written as a sentence ("X causes Y").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import io
from pipeline.errors import InputError
from pipeline.resources import resource

DEFAULT_INVENTORY = Path(__file__).parent / "inventory" / "default.jsonl"
KINDS = ("entity", "concept", "relation")


@dataclass
class Item:
    name: str
    kind: str = "concept"
    aliases: list[str] = field(default_factory=list)
    description: str = ""

    def query(self) -> str:
        head = self.name + (f" ({', '.join(self.aliases)})" if self.aliases else "")
        return f"{head}: {self.description}" if self.description else head


def load_inventory(path: str | None) -> list[Item]:
    """The items of an inventory file (the packaged default when `path` is None)."""
    source = str(resource(DEFAULT_INVENTORY)) if path is None else path
    if not io.exists(source):
        raise InputError(f"rebalance.knowledge.inventory: no file at {source}")
    items: list[Item] = []
    with io.open_input(source, "rb") as fh:
        for number, raw in enumerate(fh.read().decode("utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("{"):
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{source}:{number}: not valid JSON ({exc.msg})") from None
                if not isinstance(data.get("name"), str) or not data["name"].strip():
                    raise InputError(f"{source}:{number}: an inventory item needs a non-empty 'name'")
                kind = data.get("kind", "concept")
                if kind not in KINDS:
                    raise InputError(f"{source}:{number}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
                items.append(Item(data["name"].strip(), kind, list(data.get("aliases") or []),
                                  str(data.get("description") or "")))
            else:
                items.append(Item(line))
    if not items:
        raise InputError(f"rebalance.knowledge.inventory: {source} holds no items")
    return items


def search(item_vectors: np.ndarray, passage_vectors: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, passage indices) of each item's top_k nearest passages (exact inner product;
    passage_vectors may be float16, they are indexed in float32 chunks)."""
    import faiss

    index = faiss.IndexFlatIP(passage_vectors.shape[1])
    for start in range(0, len(passage_vectors), 262_144):
        index.add(np.ascontiguousarray(passage_vectors[start:start + 262_144], dtype=np.float32))
    k = min(top_k, len(passage_vectors))
    if k == 0:
        empty = np.zeros((len(item_vectors), 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    sims, ids = index.search(np.ascontiguousarray(item_vectors, dtype=np.float32), k)
    return sims, ids


@dataclass
class Coverage:
    covered: np.ndarray        # per document: number of inventory items it covers
    best: np.ndarray           # per document: best cosine to any item (-1 when none retrieved)
    top_item: np.ndarray       # per document: the item index of `best` (-1 when none)
    hits_per_item: np.ndarray  # per item: documents covering it


def coverage(sims: np.ndarray, ids: np.ndarray, passage_doc: np.ndarray, docs: int,
             min_similarity: float) -> Coverage:
    """Which documents cover which items, from the search result."""
    items = np.repeat(np.arange(sims.shape[0]), sims.shape[1])
    sim, doc = sims.ravel(), passage_doc[np.clip(ids.ravel(), 0, None)]
    valid = (ids.ravel() >= 0) & (sim >= min_similarity)
    pairs = np.unique(np.stack([doc[valid], items[valid]]), axis=1) if valid.any() else np.zeros((2, 0), np.int64)
    covered = np.bincount(pairs[0], minlength=docs).astype(np.int64)
    hits_per_item = np.bincount(pairs[1], minlength=sims.shape[0]).astype(np.int64)
    best = np.full(docs, -1.0, np.float32)
    top_item = np.full(docs, -1, np.int64)
    order = np.argsort(sim, kind="stable")  # ascending: the last write per document is its best
    ok = order[(ids.ravel()[order] >= 0)]
    best[doc[ok]] = sim[ok]
    top_item[doc[ok]] = items[ok]
    return Coverage(covered, best, top_item, hits_per_item)


def scores(density: np.ndarray, covered: np.ndarray, settings) -> tuple[np.ndarray, np.ndarray]:
    """(score, flag) per document. `settings`: KnowledgeConfig."""
    coverage_part = np.minimum(covered / settings.coverage_norm, 1.0)
    score = settings.density_weight * np.clip(density, 0.0, 1.0) + (1 - settings.density_weight) * coverage_part
    flag = (score >= settings.threshold) & (covered > 0)
    return score, flag
