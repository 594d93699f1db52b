"""Stage 4 benchmark: MinHash signatures and the whole dedup stage vs datatrove, datasketch, rensa.

Input: documents of ~2 KB of real prose from bench.inputs (100k; 10k with --quick).
- dedup.signatures: end to end per core (normalisation, shingling, hashing), 112 permutations.
  Ours: filters.dedup.minhash.hash_texts on Arrow batches. Peers, each in its own venv:
  datatrove MinhashDedupSignature.get_shingles + get_signature (its word tokenizer included),
  datasketch MinHash.update_batch and rensa RMinHash.update over 5-gram shingles built in Python.
  Goal: ≥ 10,000 docs/s per core.
- dedup.stage: the whole stage (exact + signatures + LSH + components + survivors + writing rows)
  through the runner on Spark local, vs datatrove's 4 MinHash steps on a LocalPipelineExecutor,
  on a corpus with 10% planted near-copies. Recall on planted pairs by true 5-gram Jaccard
  (≥0.8 and 0.7–0.8) and false merges (removed documents whose true Jaccard with the survivor
  that replaces them is < 0.5) are reported as metrics, for the default 14×8 and for
  dedup.threshold=0.7. Goals: ≥ 50× datatrove per core, no removal below the run's cut
  (`removed_below_cut` = 0); on the threshold-0.7 runs also recall ≥ 0.99 at J ≥ 0.8 and ≥ 0.9 at
  0.7–0.8.
- dedup.stage_threshold_0.7, dedup.stage_1m, dedup.stage_1m_threshold_0.7: ours with
  dedup.threshold=0.7 and/or on 1M documents in 10 input files (the 1M runs in full runs only),
  against datatrove's side of dedup.stage: the recall goal at 0.7–0.8 needs the 0.7 setting (no
  band setting of 112 permutations at 14 × 8 reaches it), and at 1M Spark's fixed cost is amortised
  as in real use.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness import Goal, Probe, _write_probe, call, compare, peer_job
from bench.inputs import documents

if TYPE_CHECKING:
    import numpy as np

HERE = Path(__file__).parent
NUM_PERM = 112

SHINGLE_PEER = """
import json, sys
from bench.harness import timed
texts = [json.loads(line)["text"] for line in open(sys.argv[1])]
def shingles(text):
    words = text.lower().split()
    return [" ".join(words[i:i + 5]) for i in range(max(len(words) - 4, 1))]
"""

DATASKETCH = SHINGLE_PEER + """
from datasketch import MinHash
with timed(items=len(texts)):
    for text in texts:
        m = MinHash(num_perm=112, seed=1)
        m.update_batch([s.encode() for s in shingles(text)])
        m.digest()
"""

RENSA = SHINGLE_PEER + """
from rensa import RMinHash
with timed(items=len(texts)):
    for text in texts:
        m = RMinHash(num_perm=112, seed=1)
        m.update(shingles(text))
        m.digest()
"""

DATATROVE_SIGNATURE = """
import json, sys, tempfile
from bench.harness import timed
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.hashing import HashConfig
texts = [json.loads(line)["text"] for line in open(sys.argv[1])]
step = MinhashDedupSignature(tempfile.mkdtemp(), MinhashConfig(hash_config=HashConfig(precision=64)))
step.get_signature(step.get_shingles("warm up the word tokenizer " * 3))
with timed(items=len(texts)):
    for text in texts:
        step.get_signature(step.get_shingles(text))
"""

DATATROVE_STAGE = """
import json, os, sys, tempfile
from bench.harness import timed
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
    MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
src = sys.argv[1]
work = tempfile.mkdtemp()
cfg = MinhashConfig(hash_config=HashConfig(precision=64), num_buckets=14, hashes_per_bucket=8, n_grams=5)
reader = lambda: JsonlReader(os.path.dirname(src), glob_pattern=os.path.basename(src))
kw = dict(skip_completed=False)
n = sum(1 for _ in open(src))
with timed(items=n) as probe:
    LocalPipelineExecutor([reader(), MinhashDedupSignature(output_folder=f"{work}/sigs", config=cfg)], tasks=1,
                          logging_dir=f"{work}/l1", **kw).run()
    LocalPipelineExecutor([MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=cfg)],
                          tasks=cfg.num_buckets, workers=1, logging_dir=f"{work}/l2", **kw).run()
    LocalPipelineExecutor([MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove", config=cfg)], tasks=1,
                          logging_dir=f"{work}/l3", **kw).run()
    LocalPipelineExecutor([reader(), MinhashDedupFilter(f"{work}/remove"), JsonlWriter(f"{work}/out")],
                          tasks=1, logging_dir=f"{work}/l4", **kw).run()
kept = set()
import gzip, glob
for path in glob.glob(f"{work}/out/*"):
    with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as fh:
        kept.update(json.loads(line)["id"] for line in fh)
with open(sys.argv[2], "w") as fh:
    json.dump(sorted(kept), fh)
"""


def our_signatures(parquet: str) -> None:
    import pyarrow.parquet as pq

    from bench.harness import timed
    from filters.dedup.minhash import MinhashParams, band_keys, hash_texts

    texts = pq.read_table(parquet, columns=["text"]).column("text").combine_chunks()
    params = MinhashParams()
    hash_texts(texts.slice(0, 100), params)  # builds the Unicode table once per process
    with timed(items=len(texts)):
        hashes = hash_texts(texts, params)
        band_keys(hashes.signatures, params.bands, params.rows)


def _true_jaccards(parquet: str, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Exact 5-gram Jaccard of each pair of ids, reading only those rows' texts, in batches."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from filters.dedup.minhash import exact_jaccard, shingle_sets

    wanted = sorted({i for pair in pairs for i in pair})
    table = pq.read_table(parquet, columns=["id", "text"], filters=[("id", "in", wanted)])
    text_of = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))
    del table
    truth = []
    for start in range(0, len(pairs), 5_000):  # the numpy shingling holds a batch at a time
        chunk = pairs[start : start + 5_000]
        sets = shingle_sets(pa.array([text_of[a] for a, _ in chunk] + [text_of[b] for _, b in chunk]), 5)
        truth += [exact_jaccard(sets[i], sets[len(chunk) + i]) for i in range(len(chunk))]
    return np.array(truth)


def _recall(parquet: str, caught_pair) -> dict:
    """Recall of planted pairs by true Jaccard band. A pair is caught when the output no longer
    holds both documents (the same rule for every side)."""
    import numpy as np
    import pyarrow.parquet as pq

    planted = pq.read_table(parquet, columns=["id", "dup_of"]).to_pydict()
    pairs = [(a, b) for a, b in zip(planted["id"], planted["dup_of"], strict=True) if b]
    truth = _true_jaccards(parquet, pairs)
    caught = np.array([caught_pair(a, b) for a, b in pairs])
    high, mid = truth >= 0.8, (truth >= 0.7) & (truth < 0.8)
    return {"recall_j_ge_0.8": round(float(caught[high].mean()), 4) if high.any() else None,
            "pairs_j_ge_0.8": int(high.sum()),
            "recall_j_0.7_0.8": round(float(caught[mid].mean()), 4) if mid.any() else None,
            "pairs_j_0.7_0.8": int(mid.sum())}


def _removal_quality(parquet: str, clusters: list[dict], cut: float | None) -> dict:
    """True Jaccard of every removed near-duplicate with the survivor that replaces it.

    Planted families are not ground truth for false merges here: the generator's base documents are
    random draws from a finite pool of real paragraphs, and some pool paragraphs (long rst tables,
    doctest blocks) repeat, so unplanted documents can be genuine near-duplicates. A removal is a false
    merge when the removed text shares less than half its 5-gram set with the kept one (J < 0.5)."""
    import numpy as np

    pairs = [(r["id"], r["dup_cluster_id"]) for r in clusters if r["dup_type"] == "near_duplicate"]
    if not pairs:
        return {"false_merges_j_lt_0.5": 0}
    truth = _true_jaccards(parquet, pairs)
    return {"false_merges_j_lt_0.5": int((truth < 0.5).sum()),
            "removed_true_j_min": round(float(truth.min()), 4),
            "removed_true_j_p01": round(float(np.quantile(truth, 0.01)), 4),
            "removed_j_lt_0.6": int((truth < 0.6).sum()),
            # the manifest's cut is rounded to 4 decimals: below it by more than the rounding
            "removed_below_cut": int((truth < cut - 5e-5).sum()) if cut is not None else None}


def split_input(parquet: Path, parts: int) -> str:
    """The corpus as `parts` files (one stage partition each, as a real input folder would be)."""
    import pyarrow.parquet as pq

    folder = parquet.with_suffix(f".{parts}-parts")
    if not (folder / "_done").exists():
        folder.mkdir(exist_ok=True)
        table = pq.read_table(parquet, columns=["id", "text"])
        size = -(-table.num_rows // parts)
        for i in range(parts):
            pq.write_table(table.slice(i * size, size), folder / f"part-{i:03d}.parquet")
        (folder / "_done").touch()
    return str(folder / "*.parquet")


def our_stage(parquet: str, threshold: float | None = None, stage_input: str | None = None) -> dict:
    import pyarrow.parquet as pq

    from bench.harness import timed
    from pipeline.config import load_config
    from pipeline.runner import run_stage

    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        sets = ["run.progress=false", f"dedup.inputs={stage_input or parquet}"]
        if threshold is not None:
            sets.append(f"dedup.threshold={threshold}")
        config = load_config(None, sets)
        with timed(items=pq.ParquetFile(parquet).metadata.num_rows):
            manifest = run_stage(4, f"{tmp}/run", config)
        clusters = pq.read_table(f"{tmp}/run/stage-4/clusters",
                                 columns=["id", "dup_cluster_id", "dup_type"]).to_pylist()
    kept = {r["id"] for r in clusters if r["dup_type"] in ("unique", "survivor")}
    # quality metrics, measured after the timed section: a probe with no time and no items
    metrics = _recall(parquet, lambda a, b: not (a in kept and b in kept))
    metrics.update(_removal_quality(parquet, clusters, manifest["dedup"]["params"]["survivor_check"]))
    metrics["removed"] = manifest["rows_in"] - manifest["rows_out"]
    metrics["precision_self_estimate"] = manifest["dedup"]["precision"]["precision"]
    metrics["bands_rows"] = f"{manifest['dedup']['params']['bands']}x{manifest['dedup']['params']['rows']}"
    _write_probe(Probe(metrics=metrics))
    return {}


def datatrove_recall(parquet: str, kept_json: str) -> dict:
    """Recall for datatrove: a planted pair counts as caught when one of the two was removed."""
    import json

    kept = set(json.loads(Path(kept_json).read_text()))
    return _recall(parquet, lambda a, b: not (a in kept and b in kept))


NO_FALSE_MERGES = Goal(0, metric="removed_below_cut", higher_is_better=False)
RECALL = [Goal(0.99, metric="recall_j_ge_0.8"), Goal(0.9, metric="recall_j_0.7_0.8")]  # needs threshold 0.7


def run(quick: bool):
    n = 10_000 if quick else 100_000
    corpus = documents(n)
    results = [compare(
        "dedup.signatures", call(our_signatures, str(corpus.parquet)),
        {"datatrove": peer_job("datatrove", DATATROVE_SIGNATURE, [str(documents(2_000 if quick else 5_000).jsonl)]),
         "datasketch": peer_job("datasketch", DATASKETCH, [str(documents(5_000 if quick else 20_000).jsonl)]),
         "rensa": peer_job("rensa", RENSA, [str(corpus.jsonl)])},
        unit="docs", input_desc=corpus.description, reps=1 if quick else 3,
        goals=[Goal(10_000)],
        notes="per core, end to end (normalisation + shingling + hashing); 112 permutations; "
              "datatrove and datasketch on a prefix-sized corpus of the same kind to bound run time")]

    dup_corpus = documents(20_000 if quick else 100_000, near_dups=0.1)
    dt_corpus = documents(2_000 if quick else 20_000, near_dups=0.1)
    kept = Path(tempfile.mkdtemp(prefix="bench-dt-")) / "kept.json"
    stage = compare(
        "dedup.stage", call(our_stage, str(dup_corpus.parquet)),
        {"datatrove": peer_job("datatrove", DATATROVE_STAGE, [str(dt_corpus.jsonl), str(kept)])},
        unit="docs", input_desc=f"ours: {dup_corpus.description}; datatrove: {dt_corpus.description}",
        reps=1, goals=[Goal(50.0, peer="datatrove"), NO_FALSE_MERGES],
        notes="whole stage through the runner on Spark local[*] (start-up included) vs datatrove's "
              "4 MinHash steps (14x8, 64-bit) on a LocalPipelineExecutor")
    if kept.exists():
        stage.notes += f"; datatrove recall: {datatrove_recall(str(dt_corpus.parquet), str(kept))}"
        stage.save()
    results.append(stage)
    results.append(_against_datatrove(stage, "dedup.stage_threshold_0.7", dup_corpus, 0.7, goals=RECALL))
    if not quick:
        million = documents(1_000_000, near_dups=0.1)
        results.append(_against_datatrove(stage, "dedup.stage_1m", million, None, 10))
        results.append(_against_datatrove(stage, "dedup.stage_1m_threshold_0.7", million, 0.7, 10, goals=RECALL))
    return results


def _against_datatrove(stage, name: str, corpus, threshold: float | None, files: int = 1,
                       goals: list[Goal] | None = None):
    """Ours on `corpus` (in `files` input files) with `threshold`, against datatrove's side of the
    dedup.stage measurement (20k docs, 14 x 8; its cost per document does not fall with size),
    reused rather than run again for hours. At 1M docs Spark's fixed start-up (~4 s of CPU) weighs
    less, as in real use."""
    from bench.harness import _result

    stage_input = split_input(corpus.parquet, files) if files > 1 else None
    desc = corpus.description + (f", {files} input files" if files > 1 else "")
    if threshold is not None:
        desc += f"; dedup.threshold={threshold} (bands x rows for P(candidate | J={threshold}) >= 0.95, all 128 "\
                "permutations verify)"
    ours = compare(name, call(our_stage, str(corpus.parquet), threshold, stage_input), {}, unit="docs",
                   input_desc=desc, reps=1, save=False)
    sides = {"ours": ours.sides["ours"], "datatrove": stage.sides["datatrove"]}
    per_core = sides["ours"].per_core, sides["datatrove"].per_core
    ratios = {"datatrove": per_core[0] / per_core[1] if all(per_core) else None}
    result = _result(name, "docs", f"ours: {desc}; datatrove: as in dedup.stage", 1, sides, ratios,
                     [Goal(50.0, peer="datatrove"), NO_FALSE_MERGES, *(goals or [])],
                     "datatrove's side reused from dedup.stage (20k docs, 14 x 8)")
    result.save()
    return result
