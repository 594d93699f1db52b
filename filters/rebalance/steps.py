"""Stage 5's global work, step by step (see stage.py). Embeddings and the k-means tree are kept
beside the run and reused when they match; decisions are cheap and recomputed."""

from __future__ import annotations

import hashlib
import io as _io
import math
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.embed.models import load_embedder
from filters.embed.pool import embed_partitions
from filters.embed.store import EmbeddingStore
from filters.rebalance import kmeans, knowledge, select, topics
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.log import log
from pipeline.stage import StageContext
from pipeline.tables import part_name, read_documents
from schemas.rebalance import DECISIONS_SCHEMA

HISTOGRAM_EDGES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536]


def registered_domain(url: str | None, host: str) -> str:
    """eTLD+1 from the public suffix list shipped by `tld` (offline); the host when there is none."""
    if not url:
        return host
    from tld import get_fld

    return get_fld(url, fail_silently=True) or host


def partition_rows(job: dict) -> dict:
    """Per-row facts the driver needs (run on the engine's workers, one input partition each)."""
    table = read_documents(job["path"])
    n = table.num_rows
    names = table.column_names
    tiers = table.column("tier").to_pylist() if "tier" in names else [None] * n
    order = {t: i for i, t in enumerate(job["tier_order"])}
    score = np.full(n, np.nan)
    column = job["score_column"]
    if column in names and pa.types.is_integer(table.schema.field(column).type) or \
            column in names and pa.types.is_floating(table.schema.field(column).type):
        score = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    urls = table.column("url").to_pylist() if "url" in names else [None] * n
    hosts = [(urlsplit(u).hostname or "") if u else "" for u in urls]
    if "domain" in names:
        hosts = [d or h for d, h in zip(table.column("domain").to_pylist(), hosts, strict=True)]
    texts = [t or "" for t in table.column("text").to_pylist()]
    density = np.full(n, np.nan)
    if "quality_scores" in names:
        density = np.array([dict(s or {}).get("edu", np.nan) for s in table.column("quality_scores").to_pylist()],
                           dtype=np.float64)
    if job["density"] and np.isnan(density).any():
        density = np.where(np.isnan(density), _edu(texts), density)
    out = {"ids": table.column("id").cast(pa.string()).to_pylist(),
           "tier_rank": np.array([order.get(t, len(order)) for t in tiers], np.int64),
           "score": score, "hosts": hosts,
           "domains": [registered_domain(u, h) for u, h in zip(urls, hosts, strict=True)],
           "bytes": pc.binary_length(pc.cast(table.column("text"), pa.binary())).fill_null(0)
           .to_numpy(zero_copy_only=False).astype(np.int64),
           "density": np.nan_to_num(density, nan=0.0) / 5.0}
    if job["topics"]:
        titles = table.column("title").to_pylist() if "title" in names else None
        out.update(topics.classify(texts, titles))
    return out


def _edu(texts: list[str]) -> np.ndarray:
    """Stage 3's educational-value scorer (0..5) for rows that did not come through stage 3."""
    from filters.quality.config import QualityConfig
    from filters.quality.scorers import SCORERS
    from filters.quality.textbatch import TextBatch

    return np.asarray(SCORERS.get("edu")(TextBatch(texts), QualityConfig()), np.float64)


class RebalanceSteps:
    def __init__(self, ctx: StageContext, settings, inputs: dict[int, str], stage_dir: str):
        self.ctx, self.settings, self.inputs, self.stage_dir = ctx, settings, inputs, stage_dir
        s = settings.embed
        self.per_doc = s.passages if settings.knowledge.enabled else 1
        self.store = EmbeddingStore(ctx.run_dir, s.model, s.max_chars, self.per_doc)
        if settings.mode == "drop" and settings.phases is not None:
            raise ConfigError("rebalance.phases needs rebalance.mode=weight (in drop mode every phase "
                              "gets the rebalanced rows)")

    # ------------------------------------------------------------------ the run
    def run(self, engine) -> dict:
        s = self.settings
        parts = sorted(self.inputs)
        self._remove_partial_writes()
        figures: dict = {"embedder": s.embed.model, "embeddings": self.store.folder.rsplit("/", 2)[-2:][-1],
                         "mode": s.mode, "weight_column": "rebalance_weight",
                         "phases": s.phases, "rule": s.rule}
        figures.update(embed_partitions(self.store, self.inputs, s.embed, self.per_doc, self.ctx.config, engine))
        jobs = [{"path": self.inputs[p], "tier_order": list(s.tier_order), "score_column": s.score_column,
                 "topics": s.topics.enabled and s.topics.classifier == "hashed", "density": s.knowledge.enabled}
                for p in parts]
        rows_per_part = engine.map(partition_rows, jobs) if jobs else []
        sizes = [len(r["ids"]) for r in rows_per_part]
        for p, n in zip(parts, sizes, strict=True):
            index = self.store.read_index(p)
            if index.num_rows != n or index.column("id").to_pylist() != rows_per_part[parts.index(p)]["ids"]:
                raise InputError(f"rebalance: the embeddings in {self.store.folder} do not match partition {p} "
                                 f"({self.inputs[p]}); remove that folder to re-embed")
        merged = _concat(rows_per_part)
        n = len(merged["ids"])
        figures["documents"] = n
        vectors = np.vstack([self.store.read_documents(p) for p in parts]) if parts else np.zeros((0, 1), np.float16)
        hierarchy, leaf = self._clusters(vectors, merged["ids"], parts, sizes, figures)
        top = hierarchy.ancestors(leaf)[-1] if n else np.zeros(0, np.int64)
        if s.topics.enabled and s.topics.classifier == "zero_shot" and n:
            merged.update(topics.classify_embeddings(vectors, load_embedder(s.embed.model, s.embed.threads,
                                                                             s.embed.batch_size)))
        reasons = self._select(merged, leaf, hierarchy, vectors, figures)
        know = self._knowledge(merged, parts, n, figures) if s.knowledge.enabled else None
        self._write_decisions(parts, sizes, merged, leaf, top, reasons, know)
        self._figures(merged, leaf, reasons, know, figures)
        return figures

    def _remove_partial_writes(self) -> None:
        """Temporary files of embedding or k-means writes a killed run never renamed: the runner
        cleans DIR/stage-5/, but the embeddings folder lives beside it (reused across --force)."""
        for path in io.find(self.store.folder):
            if path.rsplit("/", 1)[-1].startswith(".tmp-"):
                io.remove(path)

    # ------------------------------------------------------------------ k-means
    def _clusters(self, vectors: np.ndarray, ids: list[str], parts, sizes, figures: dict):
        km = self.settings.kmeans
        n = len(ids)
        k = kmeans.effective_clusters(n, km.clusters, km.min_cluster_docs)
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
        if km.centroids:
            hierarchy = kmeans.Hierarchy.load(km.centroids)
            leaf = hierarchy.assign(vectors) if n else np.zeros(0, np.int64)
            figures["kmeans"] = {"centroids": km.centroids, "assigned_to_saved": True,
                                 "clusters": int(len(hierarchy.leaves)), "levels": len(hierarchy.levels)}
            return hierarchy, leaf
        folder = io.join(self.store.folder, f"kmeans-k{k}-l{km.levels}-i{km.iterations}-m{km.max_points_per_centroid}"
                                            f"-r{km.refine}-p{km.probe}-s{self.ctx.seed}")
        leaf_file = io.join(folder, f"leaf-{digest}.npy")
        if io.exists(leaf_file) and io.exists(io.join(folder, "hierarchy.npz")):
            hierarchy = kmeans.Hierarchy.load(folder)
            with io.open_input(leaf_file) as fh:
                leaf = np.load(_io.BytesIO(fh.read()))
            reused = True
        else:
            log("rebalance.kmeans", docs=n, clusters=k, levels=km.levels)
            hierarchy, leaf = kmeans.hierarchical_kmeans(vectors, k, km.levels, km.iterations, self.ctx.seed,
                                                         km.max_points_per_centroid, km.refine, km.probe)
            hierarchy.save(folder)
            buffer = _io.BytesIO()
            np.save(buffer, leaf)
            io.write_bytes_atomic(leaf_file, buffer.getvalue())
            reused = False
        figures["kmeans"] = {"centroids": folder, "reused": reused, "clusters": int(len(hierarchy.leaves)),
                             "levels": len(hierarchy.levels),
                             "nodes_per_level": [int(len(c)) for c in hierarchy.levels]}
        return hierarchy, leaf

    # ------------------------------------------------------------------ selection
    def _select(self, merged: dict, leaf: np.ndarray, hierarchy, vectors: np.ndarray, figures: dict) -> np.ndarray:
        s = self.settings
        n = len(leaf)
        reasons = np.full(n, None, dtype=object)
        if not n:
            return reasons
        rows = select.Rows(merged["ids"], leaf, merged["tier_rank"], merged["score"], merged["hosts"],
                           merged["domains"])
        rank = select.ranking(rows, self.ctx.seed)
        alive = np.ones(n, bool)
        if s.semdedup.enabled:
            drop = select.semdedup(leaf, rank, lambda r: np.asarray(vectors[r], np.float32), s.semdedup.eps, alive)
            reasons[drop] = "semdedup"
            alive &= ~drop
        sizes = np.bincount(leaf[alive], minlength=len(hierarchy.leaves))
        ancestors = hierarchy.ancestors(np.arange(len(hierarchy.leaves)))[1:]
        caps = select.cluster_caps(sizes, s.rule, s.cap, s.cap_factor, s.target_fraction, ancestors, self.ctx.seed)
        drop = select.keep_first(leaf, rank, alive, caps)
        reasons[drop] = "cluster_cap"
        alive &= ~drop
        capped = sizes > caps
        figures["caps"] = {"clusters_capped": int(capped.sum()),
                           "cap": int(caps[capped].max()) if capped.any() else None,
                           "largest_cluster_before": int(np.bincount(leaf).max()),
                           "largest_cluster_after": int(np.bincount(leaf[alive]).max()) if alive.any() else 0}
        for key, share, reason in (("hosts", s.domain_cap.host, "host_cap"),
                                   ("domains", s.domain_cap.registered_domain, "domain_cap")):
            drop = select.share_cap(merged[key], rank, alive, share)
            reasons[drop] = reason
            alive &= ~drop
        return reasons

    # ------------------------------------------------------------------ knowledge
    def _knowledge(self, merged: dict, parts, n: int, figures: dict) -> dict:
        ks, es = self.settings.knowledge, self.settings.embed
        items = knowledge.load_inventory(ks.inventory)
        embedder = load_embedder(es.model, es.threads, es.batch_size)
        item_vectors = embedder.embed([item.query() for item in items], query=True)
        passage_vectors, passage_doc, offset = [], [], 0
        for p in parts:
            index = self.store.read_index(p)
            passage_vectors.append(self.store.read_vectors(p))
            counts = index.column("count").to_numpy()
            passage_doc.append(np.repeat(np.arange(len(counts)) + offset, counts))
            offset += len(counts)
        if n:
            all_passages = np.vstack(passage_vectors)
            doc_of = np.concatenate(passage_doc)
            sims, ids = knowledge.search(item_vectors, all_passages, ks.top_k)
        else:
            doc_of = np.zeros(0, np.int64)
            sims, ids = np.zeros((len(items), 0), np.float32), np.zeros((len(items), 0), np.int64)
        cov = knowledge.coverage(sims, ids, doc_of, n, ks.min_similarity)
        score, flag = knowledge.scores(merged["density"], cov.covered, ks)
        top = np.argsort(-cov.hits_per_item, kind="stable")[:10]
        figures["knowledge"] = {
            "inventory": ks.inventory or "packaged default", "items": len(items),
            "items_with_hits": int((cov.hits_per_item > 0).sum()), "passages_searched": int(len(doc_of)),
            "documents_flagged": int(flag.sum()),
            "bytes_flagged": int(merged["bytes"][flag].sum()) if n else 0,
            "top_items": [{"item": items[i].name, "kind": items[i].kind, "documents": int(cov.hits_per_item[i])}
                          for i in top if cov.hits_per_item[i] > 0],
            "sample_ids": [merged["ids"][i] for i in np.argsort(-score, kind="stable")[:5] if flag[i]]}
        names = np.array([item.name for item in items] + [None], dtype=object)
        return {"score": score, "flag": flag, "covered": cov.covered, "item": names[cov.top_item]}

    # ------------------------------------------------------------------ outputs
    def _write_decisions(self, parts, sizes, merged, leaf, top, reasons, know) -> None:
        s = self.settings
        n = len(leaf)
        kept = np.array([r is None for r in reasons], bool)
        before = np.bincount(leaf, minlength=int(leaf.max(initial=-1)) + 1) if n else np.zeros(0, np.int64)
        after = np.bincount(leaf[kept], minlength=len(before)) if n else np.zeros(0, np.int64)
        weight = np.where(kept, 1.0, s.dropped_weight).astype(np.float32)
        topics_on = s.topics.enabled
        start = 0
        for p, size in zip(parts, sizes, strict=True):
            sl = slice(start, start + size)
            start += size
            columns = {
                "id": pa.array(merged["ids"][sl], pa.string()),
                "embedding_cluster": pa.array(leaf[sl], pa.int64()),
                "embedding_coarse_cluster": pa.array(top[sl], pa.int64()),
                "cluster_size_before": pa.array(before[leaf[sl]], pa.int64()),
                "cluster_size_after": pa.array(after[leaf[sl]], pa.int64()),
                "topic": pa.array(merged["topic"][sl] if topics_on else [None] * size, pa.string()),
                "topic_confidence": pa.array(merged["topic_confidence"][sl] if topics_on else [None] * size, pa.float32()),
                "format": pa.array(merged["format"][sl] if topics_on else [None] * size, pa.string()),
                "format_confidence": pa.array(merged["format_confidence"][sl] if topics_on else [None] * size,
                                              pa.float32()),
                "knowledge": pa.array(know["flag"][sl] if know else np.zeros(size, bool), pa.bool_()),
                "knowledge_score": pa.array(know["score"][sl] if know else np.zeros(size), pa.float32()),
                "knowledge_coverage": pa.array(know["covered"][sl] if know else np.zeros(size, np.int32), pa.int32()),
                "knowledge_item": pa.array(list(know["item"][sl]) if know else [None] * size, pa.string()),
                "rebalance_weight": pa.array(weight[sl], pa.float32()),
                "rebalance_reason": pa.array(list(reasons[sl]), pa.string()),
            }
            io.write_parquet_atomic(io.join(self.stage_dir, "decisions", part_name(p)),
                                    pa.table(columns, schema=DECISIONS_SCHEMA))

    def _figures(self, merged, leaf, reasons, know, figures: dict) -> None:
        """The manifest's figures: cluster mass, topic/format mass, before and after the caps."""
        kept = np.array([r is None for r in reasons], bool)
        before = np.bincount(leaf) if len(leaf) else np.zeros(0, np.int64)
        after = np.bincount(leaf[kept], minlength=len(before)) if len(leaf) else np.zeros(0, np.int64)
        figures["cluster_mass"] = {"bins": _bin_labels(), "clusters_before": _histogram(before[before > 0]),
                                   "clusters_after": _histogram(after[after > 0]),
                                   "rows_before": _histogram(before[before > 0], weights=before[before > 0]),
                                   "rows_after": _histogram(after[after > 0], weights=after[after > 0])}
        figures["rows_kept"] = int(kept.sum())
        if self.settings.topics.enabled:
            for key in ("topic", "format"):
                figures[f"{key}_mass"] = _mass(merged[key], merged["bytes"], kept)
        if know is not None:
            figures["knowledge"]["bytes_kept_flagged"] = int(merged["bytes"][kept & know["flag"]].sum())


def _concat(parts: list[dict]) -> dict:
    if not parts:
        return {"ids": [], "tier_rank": np.zeros(0, np.int64), "score": np.zeros(0), "hosts": [], "domains": [],
                "bytes": np.zeros(0, np.int64), "density": np.zeros(0), "topic": [], "format": [],
                "topic_confidence": np.zeros(0, np.float32), "format_confidence": np.zeros(0, np.float32)}
    out = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        out[key] = np.concatenate(values) if isinstance(values[0], np.ndarray) else [v for p in values for v in p]
    return out


def _bin_labels() -> list[str]:
    labels = []
    for low, high in zip(HISTOGRAM_EDGES, HISTOGRAM_EDGES[1:] + [math.inf], strict=True):
        labels.append(f"{low}" if high == low + 1 else f"{low}-{high - 1}" if high != math.inf else f"{low}+")
    return labels


def _histogram(sizes: np.ndarray, weights: np.ndarray | None = None) -> list[int]:
    edges = np.array(HISTOGRAM_EDGES + [np.iinfo(np.int64).max])
    bins = np.searchsorted(edges, sizes, side="right") - 1
    return np.bincount(bins, weights=weights, minlength=len(HISTOGRAM_EDGES)).astype(np.int64).tolist()


def _mass(labels: list[str], sizes: np.ndarray, kept: np.ndarray) -> dict:
    out: dict[str, dict[str, int]] = {}
    for label, size, keep in zip(labels, sizes.tolist(), kept.tolist(), strict=True):
        entry = out.setdefault(label or "unknown", {"rows_before": 0, "rows_after": 0, "bytes_before": 0,
                                                    "bytes_after": 0})
        entry["rows_before"] += 1
        entry["bytes_before"] += size
        if keep:
            entry["rows_after"] += 1
            entry["bytes_after"] += size
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["bytes_before"]))
