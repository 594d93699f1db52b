"""The benchmark harness itself: real subprocesses measured, results written, table rendered.

No timing assertions: only that the measurements exist, are consistent with each other, and that
memory a process really allocates shows up in its peak RSS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench import harness
from bench.harness import Goal, Job, call, compare, scaling

# Allocates MB megabytes inside a timed section and reports a metric.
SCRIPT = """
import sys
from bench.harness import timed
mb = int(sys.argv[1])
with timed(items=1000) as probe:
    block = bytearray(mb * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    probe.metrics["touched_pages"] = sum(block[::4096])
"""


@pytest.fixture
def results_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(harness, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path / "results")
    return tmp_path / "results"


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "alloc.py"
    path.write_text(SCRIPT)
    return path


@pytest.mark.slow
def test_compare_two_real_commands_writes_medians_ratio_and_peak_rss(results_dir, script):
    ours = Job(sys.executable, script, ["20"])
    peer = Job(sys.executable, script, ["200"])
    result = compare("selftest.alloc", ours, {"big": peer}, items=1000, unit="docs",
                     input_desc="synthetic allocation", reps=2, goals=[Goal(0.5, peer="big")])

    saved = json.loads((results_dir / "selftest.alloc.json").read_text())
    assert saved["name"] == "selftest.alloc" and set(saved["sides"]) == {"ours", "big"}
    for side in saved["sides"].values():
        assert side["ok"] and len(side["runs"]) == 2
        assert side["timing"] == "section"  # the timed block, not the interpreter start-up
        assert side["median_cpu_s"] > 0 and side["median_wall_s"] > 0
        assert side["per_core"] == pytest.approx(1000 / side["median_cpu_s"])
        assert side["metrics"]["touched_pages"] > 0
        assert all(r["process_cpu_s"] >= r["cpu_s"] for r in side["runs"])
    big, small = saved["sides"]["big"], saved["sides"]["ours"]
    assert big["peak_rss_mb"] >= 200 > small["peak_rss_mb"]  # the 200 MB really allocated
    assert saved["ratios"]["big"] == pytest.approx(small["per_core"] / big["per_core"], rel=1e-2)
    assert saved["goals"][0]["met"] is (saved["ratios"]["big"] >= 0.5)
    assert saved["machine"]["cores"] >= 1 and saved["date"]
    assert result.sides["ours"].versions  # ours records the commit


@pytest.mark.slow
def test_failing_side_is_reported_not_raised_and_whole_process_timed_without_probe(results_dir):
    ours = Job(sys.executable, "sum(range(10**6))")
    broken = Job(sys.executable, "raise SystemExit('peer cannot run here')")
    result = compare("selftest.fail", ours, {"broken": broken}, items=10, reps=1,
                     goals=[Goal(1e12)])
    assert result.sides["ours"].ok and result.sides["ours"].timing == "process"
    assert not result.sides["broken"].ok
    assert "peer cannot run here" in result.sides["broken"].error
    assert result.ratios["broken"] is None
    assert result.below_goal is True  # 1e12 docs/s per core is out of reach

    missing = compare("selftest.nopeer", ours, {"ghost": harness.peer_job("no-such-peer", "pass")},
                      items=10, reps=1)
    assert not missing.sides["ghost"].ok and "unknown peer" in missing.sides["ghost"].error

    hung = compare("selftest.hang", Job(sys.executable, "import time; time.sleep(60)"), {},
                   items=1, reps=1, timeout=1)
    assert not hung.sides["ours"].ok and "timed out" in hung.sides["ours"].error


@pytest.mark.slow
def test_call_runs_a_function_in_our_venv_and_keeps_its_metrics(results_dir):
    result = compare("selftest.call", call("bench.harness:machine_info"), {}, items=1, reps=1)
    ours = result.sides["ours"]
    assert ours.ok and ours.timing == "section"
    assert ours.metrics["cores"] >= 1  # the dict the function returned


@pytest.mark.slow
def test_scaling_reports_marginal_cost_and_memory_per_item(results_dir):
    code = ("from bench.harness import timed\nwith timed(items={}):\n"
            "    b = bytearray({} * 2**20)\n    b[::4096] = b'\\x01' * len(b[::4096])")
    result = scaling("selftest.scaling",
                     lambda f: (Job(sys.executable, code.format(1000 * f, 20 * f)), 1000 * f),
                     factors=(1, 2, 4))
    assert [p["factor"] for p in result.scaling] == [1, 2, 4]
    base, *more = result.scaling
    assert base["marginal_cpu_ms_per_item"] is None  # nothing before the first size
    for point in more:  # each extra item allocates 20 KB: the marginal memory shows it
        assert 10 < point["marginal_rss_kb_per_item"] < 40
        assert point["marginal_cpu_ms_per_item"] is not None
    assert result.sides["4x"].peak_rss_mb > 80


def test_markdown_section_is_rewritten_in_place(tmp_path, monkeypatch, results_dir):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(f"# Benchmarks\n\nhand-written intro\n\n{bench_main.START}\nold\n"
                  f"{bench_main.END}\n\nhand-written outro\n")
    monkeypatch.setattr(bench_main, "BENCHMARKS_MD", md)
    (results_dir / "quick").mkdir(parents=True)
    sides = {"ours": _side(200.0), "peer": _side(50.0)}
    harness.CONTEXT.update(stage="dedup", quick=True)
    try:
        result = harness._result("dedup.demo", "docs", "real docs", 3, sides, {"peer": 4.0},
                                 [Goal(5.0, peer="peer")], "")
    finally:
        harness.CONTEXT.update(stage=None, quick=False)
    result.save()
    bench_main.update_markdown({"dedup": "ok", "crawl": "skipped: not built yet"})

    text = md.read_text()
    assert "hand-written intro" in text and "hand-written outro" in text and "\nold\n" not in text
    assert "dedup.demo" in text and "python -m bench --quick --only dedup" in text
    assert "**yes**" in text  # 4x against a 5x goal is below goal, and says so
    assert "crawl** skipped" in text


def test_discovery_and_unknown_peer():
    assert set(bench_main.discover()) <= {p.stem.removeprefix("bench_")
                                          for p in bench_main.BENCH_DIR.glob("bench_*.py")}
    with pytest.raises(KeyError, match="unknown peer"):
        harness.peer_python("no-such-peer")


def _side(per_core: float) -> harness.Side:
    return harness.Side(command="x", runs=[], versions={}, ok=True, items=100,
                        median_wall_s=100 / per_core, median_cpu_s=100 / per_core,
                        per_core=per_core, per_wall_s=per_core, peak_rss_mb=50.0, timing="section")


def test_generated_documents_are_real_text_deterministic_with_planted_copies(
        tmp_path, monkeypatch, shared_data):
    import pyarrow.parquet as pq

    from bench import inputs

    monkeypatch.setattr(inputs, "CACHE", tmp_path)  # the paragraph pool stays in the shared cache
    tables = []
    for _ in range(2):
        corpus = inputs.documents(300, kind="prose", doc_bytes=1024, near_dups=0.2, seed=7)
        tables.append(pq.read_table(corpus.parquet).to_pylist())
        corpus.parquet.unlink()  # the second call generates it again
    assert tables[0] == tables[1] and corpus.docs == 300
    rows = {r["id"]: r for r in tables[0]}
    copies = [r for r in tables[0] if r["dup_of"]]
    assert 20 < len(copies) < 120
    for copy in copies:
        original = set(rows[copy["dup_of"]]["text"].split())
        assert len(original & set(copy["text"].split())) / len(original) > 0.5
    pool = set(inputs.paragraphs("prose"))
    originals = [r for r in tables[0] if not r["dup_of"]]
    assert all(p in pool for r in originals for p in r["text"].split("\n\n"))
    corpus = inputs.documents(300, kind="prose", doc_bytes=1024, near_dups=0.2, seed=7)
    assert json.loads(corpus.jsonl.read_text().splitlines()[0])["id"] == tables[0][0]["id"]


@pytest.mark.slow
def test_a_peer_venv_sees_the_bench_package_but_none_of_our_code(tmp_path, results_dir):
    import subprocess

    venv = tmp_path / "peer-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    code = ("import importlib.util as u, sys\n"
            "from bench.harness import timed\n"
            "with timed(items=1) as p:\n"
            "    p.metrics['sees_pipeline'] = u.find_spec('pipeline') is not None\n")
    result = compare("selftest.isolation", Job(venv / "bin" / "python", code), {}, reps=1)
    side = result.sides["ours"]
    assert side.ok, side.error
    assert side.metrics["sees_pipeline"] is False
    assert "ours" not in side.versions  # a venv python is not taken for ours (symlinks alike)


@pytest.mark.slow
def test_stage_module_runs_with_its_scaling_and_reproducing_command(monkeypatch, results_dir):
    import types

    module = types.ModuleType("bench.bench_selftest")
    module.run = lambda quick: [compare("selftest.stage", Job(sys.executable, "pass"), {},
                                       items=5, reps=1)]
    module.scale = lambda factor, quick: (Job(sys.executable, f"bytearray({factor} * 2**22)"),
                                          100 * factor)
    monkeypatch.setitem(sys.modules, "bench.bench_selftest", module)
    results, status = bench_main.run_stage("selftest", quick=True)
    assert status.startswith("ok (2 result")
    run, scaled = results
    assert run.command == ".venv/bin/python -m bench --quick --only selftest" and run.quick
    assert [p["factor"] for p in scaled.scaling] == [1, 4]
    assert (results_dir / "quick" / "selftest.scaling.json").exists()

    broken = types.ModuleType("bench.bench_broken")
    broken.run = lambda quick: 1 / 0
    monkeypatch.setitem(sys.modules, "bench.bench_broken", broken)
    assert bench_main.run_stage("broken", quick=True) == ([], "failed: ZeroDivisionError: "
                                                              "division by zero")


@pytest.mark.slow
def test_peak_rss_is_the_childs_own_not_the_harness_and_catches_freed_peaks(results_dir):
    ballast = bytearray(400 * 2**20)  # the harness itself is big, as after loading an input
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    tiny = compare("selftest.tiny", Job(sys.executable, "pass"), {}, items=1, reps=1)
    assert tiny.sides["ours"].peak_rss_mb < 200  # a child must not inherit the harness's RSS
    del ballast
    freed = ("b = bytearray(250 * 2**20)\nb[::4096] = b'\\x01' * len(b[::4096])\ndel b\n"
             "import time; time.sleep(0.3)")
    spike = compare("selftest.spike", Job(sys.executable, freed), {}, items=1, reps=1)
    assert spike.sides["ours"].peak_rss_mb >= 250  # freed before exit, still its peak
