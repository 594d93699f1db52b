"""Stage 5 end to end on real text: planted over-represented clusters, survivors, determinism on
a real Ray head, weight mode, SemDeDup, domain caps, re-deciding without re-embedding."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline import io
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.runner import run_stage
from tests.rebalance.corpus import PLANTED, REPO, TIERS

CAP = 40
FAST = ["rebalance.embed.model=minilm-static", "ray.num_cpus=2", "rebalance.knowledge.enabled=false",
        "spark.class_archive_dir=null", "rebalance.kmeans.clusters=60"]


def _run(run_dir, inputs, *sets: str, force: bool = False) -> dict:
    config = load_config(None, [f"rebalance.inputs=[{','.join(map(str, inputs))}]", *FAST, *sets])
    return run_stage(5, str(run_dir), config, force=force, progress=False)


def _rows(run_dir, folder: str = "decisions") -> pa.Table:
    base = io.join(str(run_dir), "stage-5", folder)
    return pa.concat_tables([io.read_parquet(io.join(base, n)) for n in sorted(io.listdir(base))
                             if n.endswith(".parquet")])


def _groups(inputs) -> dict[str, str]:
    table = pa.concat_tables([pa.parquet.read_table(p, columns=["id", "group", "tier"]) for p in inputs])
    return {i: (g, t) for i, g, t in zip(*(table.column(c).to_pylist() for c in ("id", "group", "tier")), strict=True)}


@pytest.fixture(scope="session")
def capped_run(planted, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("capped") / "run"
    manifest = _run(run_dir, planted, f"rebalance.cap={CAP}")
    return run_dir, manifest


def test_planted_clusters_are_cut_to_the_cap_and_small_clusters_untouched(planted, capped_run):
    run_dir, manifest = capped_run
    rows = _rows(run_dir)
    groups = _groups(planted)
    leaf = rows.column("embedding_cluster").to_numpy()
    before = rows.column("cluster_size_before").to_numpy()
    after = rows.column("cluster_size_after").to_numpy()
    kept = pc.is_null(rows.column("rebalance_reason")).to_numpy(zero_copy_only=False)
    assert (after <= CAP).all()
    assert (after[before <= CAP] == before[before <= CAP]).all(), "a cluster under the cap lost rows"
    assert kept[before <= CAP].all()
    # every planted group sits in a few over-represented clusters, and they are cut to the cap
    ids = rows.column("id").to_pylist()
    for group, count in PLANTED.items():
        mine = np.array([groups[i][0] == group for i in ids])
        clusters = np.unique(leaf[mine])
        assert len(clusters) <= count // CAP // 4, f"{group} spread over {len(clusters)} clusters"
        assert kept[mine].sum() <= len(clusters) * CAP < count // 4
    background = np.array([groups[i][0] == "background" for i in ids])
    assert kept[background].mean() > 0.95, "real background pages were capped"
    assert manifest["dropped"]["rebalance:cluster_cap"] == int((~kept).sum()) > 2500
    assert manifest["rows_out"] == int(kept.sum())


def test_survivors_of_a_capped_cluster_are_its_best_tier_rows(planted, capped_run):
    run_dir, _ = capped_run
    rows = _rows(run_dir)
    tiers = {i: TIERS.index(t) for i, (_, t) in _groups(planted).items()}
    table = rows.append_column("rank", pa.array([tiers[i] for i in rows.column("id").to_pylist()]))
    capped = table.filter(pc.greater(table.column("cluster_size_before"), CAP))
    assert capped.num_rows > 2500
    for cluster in np.unique(capped.column("embedding_cluster").to_numpy()):
        members = capped.filter(pc.equal(capped.column("embedding_cluster"), cluster))
        kept = pc.is_null(members.column("rebalance_reason")).to_numpy(zero_copy_only=False)
        rank = members.column("rank").to_numpy()
        assert kept.sum() == CAP
        assert rank[kept].max() <= rank[~kept].min(), f"cluster {cluster}: a worse tier survived a better one"


def test_outputs_columns_and_manifest_figures(capped_run):
    run_dir, manifest = capped_run
    out = pa.concat_tables([io.read_parquet(io.join(str(run_dir), "stage-5", f["path"])) for f in manifest["files"]])
    for name in ("embedding_cluster", "cluster_size_before", "cluster_size_after", "topic", "format",
                 "knowledge", "knowledge_score", "rebalance_weight"):
        assert name in out.column_names
    assert out.column("topic").null_count == 0
    figures = manifest["rebalance"]
    mass = figures["cluster_mass"]
    assert sum(mass["rows_before"]) == manifest["rows_in"] and sum(mass["rows_after"]) == manifest["rows_out"]
    assert figures["caps"]["largest_cluster_after"] <= CAP < figures["caps"]["largest_cluster_before"]
    topics = figures["topic_mass"]
    assert sum(t["rows_before"] for t in topics.values()) == manifest["rows_in"]
    assert sum(t["rows_after"] for t in topics.values()) == manifest["rows_out"]
    assert sum(f["bytes_after"] for f in figures["format_mass"].values()) < \
        sum(f["bytes_before"] for f in figures["format_mass"].values())
    assert figures["kmeans"]["levels"] == 2 and figures["kmeans"]["clusters"] == 60


def test_same_input_and_seed_give_identical_clusters_and_survivors_locally_and_on_a_ray_head(
        planted, capped_run, ray_cluster, tmp_path):
    reference = _rows(capped_run[0])
    again = tmp_path / "again"
    _run(again, planted, f"rebalance.cap={CAP}")
    assert _rows(again).equals(reference)
    # the cluster run in its own process, as `make stage-5` runs it: a local Ray (this session ran
    # one) leaves RAY_AUTH_MODE=token in the environment, and a token-mode driver cannot create
    # actors on the auth-disabled head of tests/clusters.py (Ray: "Actor creation cancelled")
    on_ray = tmp_path / "ray"
    sets = [f"rebalance.inputs=[{','.join(map(str, planted))}]", *FAST, f"rebalance.cap={CAP}", "engine=ray",
            f"ray.address={ray_cluster}"]
    done = subprocess.run([sys.executable, "-m", "pipeline", "run", "stage-5", "--run", str(on_ray),
                           *sum((["--set", s] for s in sets), [])], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env=dict(os.environ, RAY_AUTH_MODE="disabled"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert io.read_json(str(on_ray / "stage-5" / "_manifest.json"))["engine"] == "ray"
    assert _rows(on_ray).equals(reference)
    for p in range(3):  # the embeddings themselves, bit for bit
        a = np.load(f"{capped_run[0]}/embeddings/minilm-static-c1200-p1/part-{p:05d}.npy")
        b = np.load(f"{on_ray}/embeddings/minilm-static-c1200-p1/part-{p:05d}.npy")
        assert a.dtype == np.float16 and np.array_equal(a, b)


@pytest.mark.slow
def test_on_a_spark_standalone_cluster_equals_the_local_run(planted, capped_run, spark_cluster, tmp_path):
    """engine=spark: the per-partition steps on the cluster's executors (embedding stays on the
    driver's local Ray actor pool): the same decisions and the same parts, byte for byte."""
    on_spark = tmp_path / "spark"
    manifest = _run(on_spark, planted, f"rebalance.cap={CAP}", "engine=spark", f"spark.master={spark_cluster}")
    assert manifest["engine"] == "spark"
    assert _rows(on_spark).equals(_rows(capped_run[0]))
    assert [f["sha256"] for f in manifest["files"]] == [f["sha256"] for f in capped_run[1]["files"]]
    assert manifest["dropped"] == capped_run[1]["dropped"] and manifest["rows_out"] == capped_run[1]["rows_out"]


def test_redeciding_reuses_embeddings_and_clusters(planted, capped_run, tmp_path):
    run_dir, first = capped_run
    manifest = _run(run_dir, planted, f"rebalance.cap={CAP * 2}", force=True)
    assert manifest["rebalance"]["partitions_embedded"] == 0 and manifest["rebalance"]["kmeans"]["reused"]
    assert manifest["rows_out"] > first["rows_out"]
    rows = _rows(run_dir)
    assert (rows.column("cluster_size_after").to_numpy() <= CAP * 2).all()
    _run(run_dir, planted, f"rebalance.cap={CAP}", force=True)  # leave the shared run as it was


def test_weight_mode_keeps_every_row_and_weights_the_capped_ones(planted, capped_run, tmp_path):
    run_dir = tmp_path / "weight"
    manifest = _run(run_dir, planted, f"rebalance.cap={CAP}", "rebalance.mode=weight", "rebalance.phases=[annealing]")
    assert manifest["rows_out"] == manifest["rows_in"] and not manifest["dropped"]
    out = pa.concat_tables([io.read_parquet(io.join(str(run_dir), "stage-5", f["path"])) for f in manifest["files"]])
    dropped = _rows(capped_run[0])
    would_drop = set(dropped.filter(pc.is_valid(dropped.column("rebalance_reason"))).column("id").to_pylist())
    weights = dict(zip(out.column("id").to_pylist(), out.column("rebalance_weight").to_pylist(), strict=True))
    assert {i for i, w in weights.items() if w == 0.0} == would_drop
    assert all(w == 1.0 for i, w in weights.items() if i not in would_drop)
    assert manifest["rebalance"]["weight_column"] == "rebalance_weight"
    assert manifest["rebalance"]["phases"] == ["annealing"]


def test_phases_need_weight_mode(planted, tmp_path):
    with pytest.raises(ConfigError, match="rebalance.phases needs rebalance.mode=weight"):
        _run(tmp_path / "bad", planted, "rebalance.phases=[annealing]")


def test_semdedup_removes_near_identical_pages_inside_clusters(planted, capped_run, tmp_path):
    run_dir = tmp_path / "semdedup"
    manifest = _run(run_dir, planted, "rebalance.cap=100000", "rebalance.semdedup.enabled=true",
                    "rebalance.semdedup.eps=0.02")
    rows = _rows(run_dir)
    groups = _groups(planted)
    reasons = rows.column("rebalance_reason").to_pylist()
    ids = rows.column("id").to_pylist()
    planted_removed = sum(1 for i, r in zip(ids, reasons, strict=True) if r == "semdedup" and groups[i][0] != "background")
    background_removed = sum(1 for i, r in zip(ids, reasons, strict=True) if r == "semdedup" and groups[i][0] == "background")
    assert planted_removed > 0.9 * sum(PLANTED.values())
    assert background_removed <= 2, "distinct real pages were taken for near-duplicates"
    assert manifest["dropped"]["rebalance:semdedup"] == planted_removed + background_removed


def test_host_and_domain_caps(planted, capped_run, tmp_path):
    run_dir = tmp_path / "hosts"
    manifest = _run(run_dir, planted, "rebalance.cap=100000", "rebalance.domain_cap.host=0.02",
                    "rebalance.domain_cap.registered_domain=0.5")
    rows = _rows(run_dir)
    hosts = {}
    for path in planted:
        t = pa.parquet.read_table(path, columns=["id", "url"])
        hosts.update(zip(t.column("id").to_pylist(), (u.split("/")[2] for u in t.column("url").to_pylist()), strict=True))
    kept = [hosts[i] for i, r in zip(rows.column("id").to_pylist(), rows.column("rebalance_reason").to_pylist(),
                                     strict=True) if r is None]
    counts = np.unique(kept, return_counts=True)[1]
    assert counts.max() <= 0.02 * manifest["rows_in"]
    assert manifest["dropped"]["rebalance:host_cap"] > 0
    # every host is under example.org: one registered domain, capped at half of what the host cap kept
    domain_dropped = manifest["dropped"]["rebalance:domain_cap"]
    assert domain_dropped > 0 and len(kept) == int(0.5 * (len(kept) + domain_dropped))


def test_a_saved_k_means_tree_assigns_the_same_rows_to_the_same_clusters(planted, capped_run):
    run_dir, first = capped_run
    folder = first["rebalance"]["kmeans"]["centroids"]
    reference = _rows(run_dir).column("embedding_cluster").to_numpy()
    manifest = _run(run_dir, planted, f"rebalance.cap={CAP}", f"rebalance.kmeans.centroids={folder}", force=True)
    assert manifest["rebalance"]["kmeans"]["assigned_to_saved"] and manifest["rebalance"]["partitions_embedded"] == 0
    assigned = _rows(run_dir).column("embedding_cluster").to_numpy()
    # the clustering's leaves are the tree's own assignment (refined, then assigned down the beam)
    assert (assigned == reference).all()
    _run(run_dir, planted, f"rebalance.cap={CAP}", force=True)  # leave the shared run as it was
