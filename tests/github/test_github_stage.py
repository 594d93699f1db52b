"""Stage 7 end to end on the real data: GH Archive hour, API dumps, the requests and itsdangerous
histories; planted benchmark copies; SWE-bench Verified fix commits; both training phases in stage 8."""

import gzip
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from filters.decontam.patches import pull_ref
from filters.github import git
from filters.github.stage import KINDS, GithubStage
from pipeline.config import load_config
from pipeline.runner import run_stage
from pipeline.stage import StageContext

ROOT = Path(__file__).resolve().parents[2]

LINKED = {"psf__requests-1142": 1051, "psf__requests-1724": 1723, "psf__requests-1921": 1920,
          "psf__requests-2317": 2316}  # "Fix #1051" … in the commits of those PRs


def _plant(shared_data, folder):
    """Two real events of the hour, one with a HumanEval prompt (digits changed) as the issue body,
    one with an MBPP solution pasted into a comment."""
    events = [json.loads(line) for line in gzip.open(shared_data / "github/gharchive/2015-01-01-12.json.gz", "rt")]
    humaneval = [json.loads(line) for line in gzip.open(shared_data / "benchmarks/humaneval/HumanEval.jsonl.gz", "rt")]
    mbpp = [json.loads(line) for line in gzip.open(shared_data / "benchmarks/mbpp/mbpp.jsonl.gz", "rt")]
    task = next(t for t in humaneval[10:] if len(re.findall(r"\d", t["prompt"])) >= 3)
    prompt = task["prompt"]
    issue = next(e for e in events if e["type"] == "IssuesEvent" and e["payload"]["action"] == "opened")
    issue["payload"]["issue"]["number"] = 990001
    issue["payload"]["issue"]["body"] = "I tried this and it fails:\n" + re.sub(
        r"\d", lambda m: str((int(m.group()) + 1) % 10), prompt)
    comment = next(e for e in events if e["type"] == "IssueCommentEvent")
    comment["payload"]["issue"]["number"] = 990002
    comment["payload"]["comment"]["body"] = "Here is my solution:\n```python\n" + mbpp[150]["code"] + "\n```"
    path = folder / "planted.json.gz"
    path.write_bytes(gzip.compress((json.dumps(issue) + "\n" + json.dumps(comment) + "\n").encode()))
    stars = folder / "stars.csv"
    stars.write_text("repo,stars\npsf/requests,52000\npallets/itsdangerous,2900\n")
    return path, stars, task["task_id"], f"mbpp/{mbpp[150]['task_id']}"


def _config(shared_data, planted, stars, *extra):
    data = shared_data / "github"
    return load_config(None, [
        f"github.gharchive=[{data}/gharchive/2015-01-01-12.json.gz, {planted}]",
        f"github.api_dumps=[{data}/perceval, {data}/pygithub-replay]",
        f"github.repos=[{data}/repos/pallets_itsdangerous.bundle]",
        f"github.stars=[{stars}]", "run.progress=false", *extra])


def _run(config, run_dir):
    manifest = run_stage(7, str(run_dir), config)
    table = pq.read_table(sorted((run_dir / "stage-7").glob("part-*.parquet")))
    rejects = pq.read_table(run_dir / "stage-7" / "_rejects")
    return manifest, table, rejects, GithubStage(StageContext(config, str(run_dir)))


@pytest.fixture(scope="module")
def run(shared_data, tmp_path_factory):
    """Everything but the requests history: the hour (+ planted copies), API dumps, itsdangerous."""
    folder = tmp_path_factory.mktemp("github")
    planted, stars, humaneval_id, mbpp_id = _plant(shared_data, folder)
    manifest, table, rejects, stage = _run(_config(shared_data, planted, stars), folder / "run")
    stage.planted = (humaneval_id, mbpp_id)
    return manifest, table, rejects, stage


@pytest.fixture(scope="module")
def requests_run(shared_data, tmp_path_factory):
    """The whole requests history (commit rows only: its samples would add nothing tested here)."""
    folder = tmp_path_factory.mktemp("requests")
    config = load_config(None, [f"github.repos=[{shared_data}/github/repos/psf_requests.bundle]",
                                "github.samples=[]", "run.progress=false"])
    return _run(config, folder / "run")


def test_rows_follow_the_contract(run, requests_run):
    manifest, table, _, _ = run
    assert set(table.column("kind").to_pylist()) == set(KINDS)
    assert manifest["github"]["samples"] == dict(Counter(table.column("kind").to_pylist()))
    assert set(table.column("content_type").to_pylist()) == {"Code"}
    assert all(s == f"github-{k}" for s, k in zip(table.column("source").to_pylist(),
                                                  table.column("kind").to_pylist(), strict=True))
    rows = table.to_pylist()
    assert all(r["provenance"] and r["repo"] for r in rows)
    assert all(r["number"] is not None for r in rows if r["kind"] in ("pr", "issue"))
    assert all(re.fullmatch(r"[0-9a-f]{40}", r["sha"] or "") for r in rows if r["kind"] in ("localization", "repair"))
    assert len(set(table.column("id").to_pylist())) == table.num_rows
    reasons = {k.split(":", 1)[1] for m in (manifest, requests_run[0]) for k in m["dropped"]}
    assert {"contaminated", "bot", "language", "stars", "non_pr_merge", "huge_diff", "trivial_whitespace",
            "trivial_version_bump"} <= reasons


def test_manifest_counts_events_and_validates_against_git_diff(run, requests_run, shared_data):
    manifest, _, _, _ = run
    figures = manifest["github"]
    plain = Counter(json.loads(line)["type"] for line in gzip.open(shared_data / "github/gharchive/2015-01-01-12.json.gz"))
    plain.update({"IssuesEvent": 1, "IssueCommentEvent": 1})  # the two planted events
    assert figures["events"] == dict(plain)
    for validation in (figures["git_diff_validation"], requests_run[0]["github"]["git_diff_validation"]):
        (repo,) = validation["by_repo"]
        assert validation["by_repo"][repo]["checked"] >= 25
        assert validation["agreement"] == 1.0 and validation["checked"] == validation["agreed"]
    assert requests_run[0]["github"]["git_diff_validation"]["checked"] == round(0.05 * 6729)
    assert figures["decontam"]["sets"]["swe_bench_verified"]["instances"] == 500
    assert figures["decontam"]["hits"]["count"] == 2  # the real hour, API dumps, itsdangerous: only the planted
    sample = requests_run[0]["github"]["decontam"]["hits"]["sample"]
    assert len(sample) == 20 and all({"benchmark", "instance", "method", "span"} <= set(h) for h in sample)


def test_planted_benchmark_copies_are_caught_with_evidence(run):
    _, table, rejects, stage = run
    humaneval_id, mbpp_id = stage.planted
    numbers = set(table.column("number").to_pylist())
    assert 990001 not in numbers and 990002 not in numbers
    caught = {r["number"]: r["decontam"] for r in rejects.to_pylist() if r["number"] in (990001, 990002)}
    assert caught[990001]["benchmark"] == "HumanEval" and caught[990001]["instance"] == humaneval_id
    assert caught[990002]["benchmark"] == "mbpp" and caught[990002]["instance"] == mbpp_id


def test_clean_itsdangerous_flags_nothing(run):
    manifest, table, _, _ = run
    assert "pallets/itsdangerous" not in manifest["github"]["decontam"]["hits"]["by_repo"]
    kept = Counter(k for k, r in zip(table.column("kind").to_pylist(), table.column("repo").to_pylist(), strict=True)
                   if r == "pallets/itsdangerous")
    assert kept["commit"] > 200 and kept["repair"] > 100 and kept["localization"] > 100


def test_swe_bench_fix_commits_are_caught_by_id_linked_issue_and_gold_patch(requests_run, shared_data):
    manifest, table, _, stage = requests_run
    assert set(manifest["github"]["decontam"]["hits"]["by_method"]) >= {"id", "gold_patch", "linked_issue"}
    fixes = json.loads((shared_data / "github/repos/psf_requests.verified_fix_commits.json").read_text())
    kept = set(table.column("sha").to_pylist())
    repo = stage._step("repos")[0]["git_dir"]
    commits = git.read_commits(repo, [f["fix_commit"] for f in fixes])
    assert not kept & {c.sha for c in commits}
    index = stage.index
    rows = [stage._commit_row("psf/requests", c.sha, c.message, c.author, c.email, c.author_date, c.parents,
                              [{"path": f.path, "status": f.status, "patch": f.patch} for f in c.files], "git")
            for c in commits]
    texts = pa.array([r["text"] for r in rows])
    by_id = index.evidence(texts, pa.array(["psf/requests"] * len(rows)), pa.array([pull_ref(c.message) for c in commits]))
    assert [e["method"] for e in by_id.to_pylist()] == ["id"] * len(fixes)
    assert [e["instance"] for e in by_id.to_pylist()] == [f["instance_id"] for f in fixes]
    by_patch = index.evidence(texts).to_pylist()  # no ids at all: the change itself
    assert [e and e["method"] for e in by_patch] == ["gold_patch"] * len(fixes)
    assert [e["instance"] for e in by_patch] == [f["instance_id"] for f in fixes]
    # the issues those PRs close: the issue itself, and any commit or PR that says it fixes it
    issues = list(LINKED.values())
    as_issue = index.evidence(pa.array(["an issue"] * 4), pa.array(["psf/requests"] * 4), pa.array(issues)).to_pylist()
    assert [(e["method"], e["instance"]) for e in as_issue] == [("linked_issue", i) for i in LINKED]
    closing = index.evidence(pa.array(["Fixes it"] * 4), pa.array(["psf/requests"] * 4), pa.array([None] * 4, pa.int64()),
                             closes=pa.array([[i] for i in issues], pa.list_(pa.int64()))).to_pylist()
    assert [e["method"] for e in closing] == ["linked_issue"] * 4
    branch = [c for c in git.read_commits(repo, [f["pr_head_ref"] for f in fixes if f["instance_id"] in LINKED])]
    assert not kept & {c.sha for c in branch}  # the PRs' own commits are dropped too


def test_stage_8_writes_either_phase_from_the_same_stage_7_output(run, tmp_path):
    from filters.tokenize.tokenizer import load_tokenizer

    _, table, _, _ = run
    picks = [i for kind in KINDS for i in pc.indices_nonzero(pc.equal(table.column("kind"), kind)).to_pylist()[:4]]
    sample = table.take(pa.array(picks))
    source = tmp_path / "stage7.parquet"
    pq.write_table(sample, source)
    tokenizer = load_tokenizer("default", ("<|meta|>", "<|/meta|>"))
    trained = {}
    for phase in ("pretrain", "midtrain"):
        config = load_config(None, [f"tokenize.inputs=[{source}]", f"tokenize.phase={phase}", "run.progress=false",
                                    "tokenize.header.enabled=false", "tokenize.append_eos=false"])
        run_stage(8, str(tmp_path / phase), config)
        out = pq.read_table(sorted((tmp_path / phase / "stage-8").glob("part-*.parquet"))).to_pylist()
        trained[phase] = {r["id"]: tokenizer.decode([t for t, m in zip(r["input_ids"], r["loss_mask"], strict=True) if m])
                          for r in out}
    rows = {r["id"]: r for r in sample.to_pylist()}
    for row_id, row in rows.items():
        pre, mid = trained["pretrain"][row_id], trained["midtrain"][row_id]
        unmasked = "".join(row["text"][a:b] for a, b in _complement(row["no_loss_spans"], len(row["text"])))
        assert pre == unmasked and "Repository Structure" not in pre and "--- BEGIN ISSUE ---" not in pre
        if row["kind"] in ("localization", "repair"):
            marker = "wrapped in ```.\n" if row["kind"] == "localization" else "each edit in a fenced code block.\n"
            answer = row["text"].split(marker, 1)[1]
            assert mid == answer + "<|im_end|>\n"  # only the assistant's turn is learnt
            assert row["chat_text"].startswith("<|im_start|>user\n")
        else:
            assert mid == pre and row["chat_text"] is None


def _complement(spans, length):
    out, cursor = [], 0
    for start, end in spans or []:
        if start > cursor:
            out.append((cursor, start))
        cursor = end
    if cursor < length:
        out.append((cursor, length))
    return out


@pytest.mark.slow
def test_make_submit_equals_the_local_run(shared_data, spark_cluster, tmp_path):
    """`make submit STAGE=7` (the code shipped as the --py-files zip) on a real standalone cluster."""
    planted, stars, _, _ = _plant(shared_data, tmp_path)
    data = shared_data / "github"
    settings = [f"github.gharchive=[{data}/gharchive/2015-01-01-12.json.gz,{planted}]",
                f"github.api_dumps=[{data}/perceval,{data}/pygithub-replay]",
                f"github.repos=[{data}/repos/pallets_itsdangerous.bundle]", f"github.stars=[{stars}]",
                "github.samples=[repair]", "run.progress=false"]
    local = run_stage(7, str(tmp_path / "local"), load_config(None, settings))
    out = subprocess.run(["make", "--no-print-directory", "submit", "STAGE=7", f"RUN={tmp_path / 'cluster'}",
                          f"MASTER={spark_cluster}", f"SET={' '.join(settings)}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    cluster = json.loads((tmp_path / "cluster" / "stage-7" / "_manifest.json").read_text())
    assert cluster["engine"] == "spark"
    assert [f["sha256"] for f in cluster["files"]] == [f["sha256"] for f in local["files"]]
    assert cluster["dropped"] == local["dropped"] and cluster["github"]["samples"] == local["github"]["samples"]
    assert local["rows_out"] > 1000 and local["github"]["samples"]["repair"] > 100
