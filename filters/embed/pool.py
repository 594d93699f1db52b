"""Embeddings as batched work on Ray: an actor pool whose actors load the model once each and
embed whole input partitions, writing them to the EmbeddingStore (float16, beside the run).

Ray is the run's engine when `engine: ray` (local, or the cluster at `ray.address`); with another
engine a local Ray is started for this step and stopped after it. A partition already in the
store is skipped, so a killed run resumes where it stopped. Every actor runs `threads` torch
threads (1 by default), so a partition's vectors are bit-identical whichever actor or machine
embedded it.
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from filters.embed.models import load_embedder
from filters.embed.store import EmbeddingStore, passages
from pipeline.errors import InputError
from pipeline.log import log
from pipeline.tables import read_documents


def embed_file(store: EmbeddingStore, model: str, max_chars: int, per_doc: int, batch_size: int,
               threads: int, index: int, path: str) -> dict:
    """Embed one input partition into the store; returns its counts or {"error": one line}."""
    try:
        table = read_documents(path, ("id", "text"), {"id": pa.string(), "text": pa.string()})
        chunks: list[str] = []
        counts = np.zeros(table.num_rows, np.int64)
        for row, text in enumerate(table.column("text").to_pylist()):
            pieces = passages(text or "", max_chars, per_doc)
            counts[row] = len(pieces)
            chunks += pieces
        embedder = load_embedder(model, threads, batch_size)
        started = time.process_time()
        vectors = embedder.embed(chunks) if chunks else np.zeros((0, embedder.dims), np.float32)
        store.write(index, table.column("id").combine_chunks(), counts, vectors)
        return {"index": index, "rows": table.num_rows, "passages": len(chunks),
                "cpu_seconds": time.process_time() - started}
    except Exception as exc:  # noqa: BLE001 - returned as one line naming the file
        first = str(exc).splitlines()[0] if str(exc) else ""
        return {"index": index, "error": f"rebalance: embedding {path}: {type(exc).__name__}: {first}"}


class _Actor:
    """One Ray actor: the model stays loaded between partitions."""

    def __init__(self, store: EmbeddingStore, model: str, max_chars: int, per_doc: int, batch_size: int,
                 threads: int):
        self.args = (store, model, max_chars, per_doc, batch_size, threads)
        load_embedder(model, threads, batch_size)

    def embed(self, index: int, path: str) -> dict:
        return embed_file(*self.args, index, path)


def embed_partitions(store: EmbeddingStore, inputs: dict[int, str], settings, per_doc: int,
                     config: dict, engine) -> dict:
    """Embed every partition not in the store yet, on a Ray actor pool. `settings`: EmbedConfig."""
    todo = [(i, path) for i, path in sorted(inputs.items()) if not store.complete(i)]
    if not todo:
        return {"partitions_embedded": 0}
    from pipeline.engines.ray_engine import RayEngine

    ray_engine = engine if getattr(engine, "name", None) == "ray" else RayEngine(config)
    ray_engine.start()
    try:
        import ray
        from ray.util import ActorPool

        # a fresh class per call: Ray keeps per-session state on a decorated class, and a driver
        # that already ran a local Ray (then shut it down) would hang on a cluster with the old one
        actor = ray.remote(num_cpus=settings.threads)(type("EmbedActor", (_Actor,), {}))
        size = settings.actors or max(1, int(ray.cluster_resources().get("CPU", 1) // settings.threads))
        size = min(size, len(todo))
        args = (store, settings.model, settings.max_chars, per_doc, settings.batch_size, settings.threads)
        log("rebalance.embed", model=settings.model, partitions=len(todo), actors=size)
        pool = ActorPool([actor.remote(*args) for _ in range(size)])
        results = list(pool.map_unordered(lambda a, job: a.embed.remote(*job), todo))
    finally:
        if ray_engine is not engine:
            ray_engine.close()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise InputError(errors[0] + (f" (and {len(errors) - 1} more partitions)" if len(errors) > 1 else ""))
    return {"partitions_embedded": len(results), "passages_embedded": sum(r["passages"] for r in results),
            "embed_cpu_seconds": round(sum(r["cpu_seconds"] for r in results), 2)}
