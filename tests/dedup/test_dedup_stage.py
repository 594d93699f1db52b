"""Stage 4 end to end on Spark: real documents with planted copies, determinism across partition
counts, connected components against union-find, and a real standalone Spark cluster."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.dedup.dedup_corpus import cc_texts, near_copy_at, page_texts, true_jaccard, wet_texts

FAST_SPARK = ["run.progress=false", "spark.conf={spark.sql.shuffle.partitions: 2}"]


TIER_RANK = {"high": 0, "medium": 2}


def _planted_rows(shared_data: Path) -> tuple[list[dict], dict]:
    """Real documents plus planted copies; returns rows and, per row of a planted group, the
    expected (survivor id, drop reason or None). The survivor rule is applied here independently:
    best tier, then longest text, then smallest id."""
    texts = [t for t in cc_texts(shared_data) + page_texts(shared_data, 30) + wet_texts(shared_data)
             if len(t.split()) >= 150]
    rng = random.Random(3)
    vocabulary = [w for t in texts for w in t.split()]
    rows = [{"id": f"doc-{i:03d}", "text": t, "tier": "medium"} for i, t in enumerate(texts)]
    groups: list[tuple[list[dict], str]] = []  # (members, reason of the non-survivors)
    exact = {"id": "exact-000", "text": "  " + texts[0].upper() + " !!", "tier": "medium"}
    groups.append(([rows[0], exact], "exact_duplicate"))
    for k, target in enumerate([0.95, 0.9, 0.85, 0.8]):
        copy, jaccard = near_copy_at(texts[1 + k], target, rng, vocabulary)
        assert jaccard >= 0.78
        groups.append(([rows[1 + k], {"id": f"near-{k}", "text": copy, "tier": "medium"}], "near_duplicate"))
    copy, _ = near_copy_at(texts[6], 0.9, rng, vocabulary)  # a better-tier copy wins over the original
    better = {"id": "zz-better-tier", "text": copy, "tier": "high"}
    groups.append(([rows[6], better], "near_duplicate"))
    far, jaccard = near_copy_at(texts[7], 0.35, rng, vocabulary)  # far below the threshold: stays
    assert jaccard < 0.5
    expect: dict[str, tuple[str, str | None]] = {"far-7": ("far-7", None), "doc-007": ("doc-007", None)}
    for members, reason in groups:
        survivor = min(members, key=lambda r: (TIER_RANK[r["tier"]], -len(r["text"]), r["id"]))
        for member in members:
            expect[member["id"]] = (survivor["id"], None if member is survivor else reason)
    assert expect["zz-better-tier"] == ("zz-better-tier", None)
    rows += [m for members, _ in groups for m in members[1:]]
    rows.append({"id": "far-7", "text": far, "tier": "medium"})
    rng.shuffle(rows)
    return rows, expect


def _write_parts(rows: list[dict], folder: Path, parts: int) -> str:
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows)
    size = -(-len(rows) // parts)
    for i in range(parts):
        pq.write_table(table.slice(i * size, size), folder / f"in-{i}.parquet")
    return str(folder / "*.parquet")


def _clusters(run: Path) -> dict[str, tuple[str, int, str]]:
    files = sorted((run / "stage-4" / "clusters").glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return {r["id"]: (r["dup_cluster_id"], r["dup_cluster_size"], r["dup_type"]) for r in table.to_pylist()}


def _kept(run: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in sorted((run / "stage-4").glob("part-*.parquet"))])


@pytest.fixture(scope="module")
def planted(shared_data, tmp_path_factory):
    rows, expect = _planted_rows(shared_data)
    base = tmp_path_factory.mktemp("dedup")
    runs = {}
    for parts in (3, 1):
        pattern = _write_parts(rows, base / f"input-{parts}", parts)
        # components in the driver (default) for 3 parts, distributed rounds for 1 part
        rounds = [] if parts == 3 else ["dedup.driver_components_max_edges=0"]
        config = load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}", *rounds])
        runs[parts] = (base / f"run-{parts}", run_stage(4, str(base / f"run-{parts}"), config), pattern)
    return rows, expect, runs


def test_planted_copies_are_removed_with_their_reason(planted):
    rows, expect, runs = planted
    run, manifest, _ = runs[3]
    clusters = _clusters(run)
    assert set(clusters) == {r["id"] for r in rows}  # every input row, kept or not
    for planted_id, (survivor, reason) in expect.items():
        cluster_id, size, kind = clusters[planted_id]
        assert cluster_id == survivor, planted_id
        assert (kind if kind in ("exact_duplicate", "near_duplicate") else None) == reason, planted_id
        assert size >= 2 or reason is None
    dropped = sum(1 for _, reason in expect.values() if reason)
    assert manifest["rows_out"] == len(rows) - dropped
    assert manifest["dropped"] == {"dedup:exact_duplicate": 1, "dedup:near_duplicate": dropped - 1}
    kept = _kept(run)
    assert set(kept.column("id").to_pylist()) == {i for i, c in clusters.items() if c[2] in ("unique", "survivor")}
    assert kept.column("dup_cluster_id").null_count == 0 and kept.column("dup_cluster_size").null_count == 0
    assert {"source", "content_type", "url", "tier"} <= set(kept.column_names)


def test_manifest_reports_the_measured_precision(planted):
    _, _, runs = planted
    stats = runs[3][1]["dedup"]
    assert stats["precision"]["sampled"] == stats["near_duplicates"] == 5
    assert stats["precision"]["precision"] == 1.0
    assert stats["params"] == {"ngram": 5, "bands": 14, "rows": 8, "num_perm": 112,
                               "target_jaccard": pytest.approx(0.719, abs=1e-3),
                               "verify_threshold": pytest.approx(0.634, abs=1e-3),
                               "survivor_check": pytest.approx(0.634, abs=1e-3), "survivor_check_mode": "exact"}


def test_manifest_cluster_size_histogram_counts_every_cluster(planted):
    rows, expect, runs = planted
    run, manifest, _ = runs[3]
    sizes: dict[str, int] = {}
    for cluster_id, size, _ in _clusters(run).values():
        sizes[cluster_id] = size
    clusters_of_two = sum(1 for size in sizes.values() if size == 2)
    histogram = manifest["dedup"]["cluster_sizes"]
    assert sum(histogram.values()) == len(sizes)  # one count per cluster, singletons included
    assert histogram["2"] == clusters_of_two == 6  # the six planted pairs
    assert histogram["1"] == len(rows) - 2 * clusters_of_two


def test_a_run_whose_only_duplicates_are_exact_copies(shared_data, tmp_path):
    texts = [t for t in cc_texts(shared_data) if len(t.split()) >= 150][:8]
    rows = [{"id": f"doc-{i}", "text": t, "tier": "medium"} for i, t in enumerate(texts)]
    rows.append({"id": "copy-of-doc-3", "text": texts[3].upper() + "  !", "tier": "medium"})
    pattern = _write_parts(rows, tmp_path / "input", 2)
    config = load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}"])
    manifest = run_stage(4, str(tmp_path / "run"), config)  # the survivor check had no text to read
    assert manifest["dropped"] == {"dedup:exact_duplicate": 1}
    assert manifest["dedup"]["cluster_sizes"] == {"1": len(texts) - 1, "2": 1}


def test_same_clusters_and_rows_for_any_partition_count_and_components_path(planted):
    _, _, runs = planted
    assert runs[3][1]["dedup"]["components_rounds"] == 0 < runs[1][1]["dedup"]["components_rounds"]
    assert _clusters(runs[3][0]) == _clusters(runs[1][0])  # the driver path vs the Spark path
    same = ("candidate_pairs", "verified_pairs", "clusters", "near_duplicates", "exact_duplicates", "precision")
    assert {k: runs[3][1]["dedup"][k] for k in same} == {k: runs[1][1]["dedup"][k] for k in same}
    a, b = _kept(runs[3][0]), _kept(runs[1][0])
    assert sorted(a.column("id").to_pylist()) == sorted(b.column("id").to_pylist())
    assert a.sort_by("id").equals(b.sort_by("id"))


def test_rerun_resumes_without_recomputing(planted):
    _, _, runs = planted
    run, manifest, pattern = runs[1]
    again = run_stage(4, str(run), load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}",
                                                      "dedup.driver_components_max_edges=0"]))
    assert again == manifest


def test_a_chain_does_not_remove_what_the_survivor_does_not_resemble(shared_data, tmp_path):
    """X ~ Y ~ Z with Z far from X: Y goes (it resembles the survivor X), Z stays on its own with
    the survivor check (exact or estimated), and is removed through the chain without it."""
    texts = [t for t in cc_texts(shared_data) if len(t.split()) >= 250]
    rng = random.Random(12)
    vocabulary = [w for t in texts for w in t.split()]
    x = texts[0]
    y, j_xy = near_copy_at(x, 0.7, rng, vocabulary)
    z, j_yz = near_copy_at(y, 0.7, rng, vocabulary)
    assert min(j_xy, j_yz) >= 0.69 and true_jaccard(x, z) < 0.53
    rows = [{"id": "x", "text": x, "tier": "high"}, {"id": "y", "text": y, "tier": "medium"},
            {"id": "z", "text": z, "tier": "medium"}]
    rows += [{"id": f"other-{i}", "text": t, "tier": "medium"} for i, t in enumerate(texts[1:20])]
    pattern = _write_parts(rows, tmp_path / "input", 1)
    found = {}
    for check in ("exact", "estimate", "disabled"):
        config = load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}", "dedup.threshold=0.7",
                                    f"dedup.survivor_check={check}"])
        run_stage(4, str(tmp_path / check), config)
        found[check] = _clusters(tmp_path / check)
    for check in ("exact", "estimate"):
        assert found[check]["y"] == ("x", 2, "near_duplicate")
        assert found[check]["z"] == ("z", 1, "unique")
    assert found["disabled"]["z"] == ("x", 3, "near_duplicate")  # the chain, when the check is off


def test_the_exact_survivor_check_removes_nothing_below_the_cut(shared_data, tmp_path, monkeypatch):
    """Pairs planted just below the cut: the estimate passes some of them (MinHash error), the
    exact check none; every removal's true Jaccard with its survivor is at least the cut. Reading
    the texts in many small chunks gives the same clusters."""
    texts = [t for t in cc_texts(shared_data) + page_texts(shared_data, 40) + wet_texts(shared_data)
             if len(t.split()) >= 150]
    chunks = [" ".join(w[i:i + 200]) for w in (t.split() for t in texts) for i in range(0, len(w) - 199, 200)]
    rng = random.Random(5)
    vocabulary = [w for t in texts for w in t.split()]
    rows = []
    for i, chunk in enumerate(chunks[:150]):
        copy, _ = near_copy_at(chunk, 0.6, rng, vocabulary)
        rows += [{"id": f"base-{i:03d}", "text": chunk}, {"id": f"copy-{i:03d}", "text": copy}]
    pattern = _write_parts(rows, tmp_path / "input", 2)
    text_of = {r["id"]: r["text"] for r in rows}
    below = {}
    for check in ("exact", "estimate"):
        config = load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}", "dedup.threshold=0.7",
                                    f"dedup.survivor_check={check}"])
        manifest = run_stage(4, str(tmp_path / check), config)
        cut = manifest["dedup"]["params"]["survivor_check"]
        removed = [(i, c[0]) for i, c in _clusters(tmp_path / check).items() if c[2] == "near_duplicate"]
        below[check] = [true_jaccard(text_of[i], text_of[s]) for i, s in removed
                        if true_jaccard(text_of[i], text_of[s]) < cut]
        assert removed, check
    assert below["exact"] == []
    assert below["estimate"]  # the corpus does reach the estimator's error

    import filters.dedup.driver_path

    monkeypatch.setattr(filters.dedup.driver_path, "TEXT_BYTES", 20_000)  # ~10 pairs per read
    config = load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}", "dedup.threshold=0.7"])
    run_stage(4, str(tmp_path / "chunked"), config)
    assert _clusters(tmp_path / "chunked") == _clusters(tmp_path / "exact")


@pytest.mark.parametrize("settings", [[], ["dedup.near=false", "dedup.exact=false"]])
def test_a_corpus_without_duplicates_keeps_every_row(shared_data, tmp_path, settings):
    texts = sorted(set(cc_texts(shared_data)))
    pattern = _write_parts([{"id": f"doc-{i}", "text": t} for i, t in enumerate(texts)], tmp_path / "in", 2)
    manifest = run_stage(4, str(tmp_path / "run"), load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}",
                                                                       *settings]))
    assert manifest["rows_out"] == manifest["rows_in"] == len(texts)
    assert manifest["dedup"]["clusters"] == 0 and manifest["dedup"]["unique"] == len(texts)
    assert {c[2] for c in _clusters(tmp_path / "run").values()} == {"unique"}


def test_connected_components_match_union_find():
    from filters.dedup.components import connected_components, connected_components_on_driver
    from pipeline.engines.spark_engine import spark_session

    rng = random.Random(5)
    edges = [(i, i + 1) for i in range(30)]  # a long path: the slow case for label propagation
    edges += [(rng.randrange(100, 400), rng.randrange(100, 400)) for _ in range(150)]
    spark = spark_session(load_config(None, FAST_SPARK), "local[*]")
    frame = spark.createDataFrame(edges, "a long, b long")
    found, rounds = connected_components(frame)
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    nodes = {x for e in edges for x in e}
    expected = {n: root(n) for n in nodes if root(n) != n}
    assert dict(found.collect()) == expected
    assert dict(connected_components_on_driver(frame).collect()) == expected


def test_the_driver_samples_by_sparks_own_hash():
    from pyspark.sql import functions as F

    from filters.dedup.rules import spark_xxhash64
    from pipeline.engines.spark_engine import spark_session

    spark = spark_session(load_config(None, FAST_SPARK), "local[*]")
    ids = ["doc-001", "", "ünï-çødé 文", "x" * 300]
    for seed in (1, 1234, -7, 2**40):
        found = spark.createDataFrame([(i,) for i in ids], "id string").select(
            F.xxhash64("id", F.lit(seed)).alias("h")).collect()
        assert [r["h"] for r in found] == [spark_xxhash64(i, seed) for i in ids]


@pytest.mark.slow
def test_standalone_spark_cluster_gives_the_local_clusters(planted, spark_cluster, tmp_path):
    _, _, runs = planted
    run, manifest, pattern = runs[1]
    config = load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}", "engine=spark",
                                f"spark.master={spark_cluster}"])
    on_cluster = run_stage(4, str(tmp_path / "cluster"), config)
    assert on_cluster["engine"] == "spark"
    assert _clusters(tmp_path / "cluster") == _clusters(run)
    assert [f["sha256"] for f in on_cluster["files"]] == [f["sha256"] for f in manifest["files"]]


@pytest.fixture(scope="module")
def near_copies(shared_data) -> list[dict]:
    """Real documents and near-copies of them at true Jaccard 0.55-0.97 (some below the cut)."""
    texts = [t for t in cc_texts(shared_data) + page_texts(shared_data, 40) + wet_texts(shared_data)
             if len(t.split()) >= 150]
    rng = random.Random(11)
    vocabulary = [w for t in texts for w in t.split()]
    rows = [{"id": f"doc-{i:03d}", "text": t} for i, t in enumerate(texts)]
    for i, text in enumerate(texts):
        copy, _ = near_copy_at(text, rng.uniform(0.55, 0.97), rng, vocabulary)
        rows.append({"id": f"copy-{i:03d}", "text": copy})
    rng.shuffle(rows)
    return rows


def test_the_manifest_precision_matches_an_independent_true_jaccard(near_copies, tmp_path):
    """The exact survivor check reports precision 1.0 by construction; recompute every removal's
    true 5-gram Jaccard with its survivor here, in plain Python, from the texts: all pass the cut,
    and the manifest's census figures (count, mean, minimum) are those same numbers."""
    rows = near_copies
    pattern = _write_parts(rows, tmp_path / "in", 2)
    manifest = run_stage(4, str(tmp_path / "run"), load_config(None, [*FAST_SPARK, f"dedup.inputs={pattern}",
                                                                       "dedup.threshold=0.7"]))
    figures = manifest["dedup"]["precision"]
    cut = manifest["dedup"]["params"]["survivor_check"]
    text_of = {r["id"]: r["text"] for r in rows}
    removed = [(i, c[0]) for i, c in _clusters(tmp_path / "run").items() if c[2] == "near_duplicate"]
    independent = np.array([true_jaccard(text_of[i], text_of[s]) for i, s in removed])
    assert len(removed) >= 15 and figures["method"] == "census" and figures["sampled"] == len(removed)
    assert (independent >= cut).all()
    assert figures["true_jaccard_min"] == pytest.approx(independent.min(), abs=1e-4)
    assert figures["true_jaccard_mean"] == pytest.approx(independent.mean(), abs=1e-4)
    copies_above = sum(true_jaccard(text_of[f"doc-{c[5:]}"], text_of[c]) >= 0.8 for c in text_of if c.startswith("copy-"))
    assert len(removed) >= copies_above - 1  # the pairs well above the threshold were all found (±1 LSH miss)


KILL_DRIVER = """
import json, sys
from pipeline.config import load_config
from pipeline.runner import run_stage
run_stage(4, sys.argv[1], load_config(None, json.loads(sys.argv[2])))
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", ["candidate_pairs", "components"])
def test_killed_inside_the_global_step_resumes_to_the_same_clusters(near_copies, tmp_path, kill_after):
    """SIGKILL the whole process tree once a named step of the clustering has finished (the later
    steps not yet), then run again: identical clusters and kept rows; the finished steps are not
    run again."""
    import json
    import os
    import subprocess
    import sys
    import time

    from tests.kill import kill_tree

    pattern = _write_parts(near_copies, tmp_path / "in", 2)
    sets = [*FAST_SPARK, f"dedup.inputs={pattern}", "dedup.threshold=0.7"]
    reference = run_stage(4, str(tmp_path / "reference"), load_config(None, sets))

    run = tmp_path / "killed"
    steps = run / "stage-4" / "_work" / "steps"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", KILL_DRIVER, str(run), json.dumps(sets)], cwd=root,
                            env=dict(os.environ, PYTHONPATH=str(root), PIPELINE_LOG="quiet"),
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while not (steps / f"{kill_after}.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the stage ended before the kill"
        time.sleep(0.02)
    kill_tree(proc)
    assert not (run / "stage-4" / "clusters" / "_done.json").exists()  # killed inside the global step
    finished = sorted(p.stem for p in steps.glob("*.json"))

    import contextlib
    import io as stdio

    log = stdio.StringIO()
    with contextlib.redirect_stderr(log):
        resumed = run_stage(4, str(run), load_config(None, sets))
    rerun = {json.loads(line)["step"] for line in log.getvalue().splitlines()
             if line.startswith("{") and json.loads(line).get("event") == "dedup.step"}
    assert kill_after in finished and not rerun & set(finished)
    assert _clusters(run) == _clusters(tmp_path / "reference")
    assert [f["sha256"] for f in resumed["files"]] == [f["sha256"] for f in reference["files"]]
    assert resumed["dedup"] == reference["dedup"]
