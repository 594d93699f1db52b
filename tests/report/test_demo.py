"""`make demo` end to end, twice: real sites on loopback, every built stage, the report.

The first run is the session's `demo_run` (shared with the browser tests); here it runs a second
time in the same folder, as a newcomer would, and the funnel must add up stage by stage.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline import demo
from pipeline.registry import STAGES, is_built
from tests.report.conftest import make_demo


def _manifests(run: Path) -> dict[int, dict]:
    return {n: json.loads((run / f"stage-{n}" / "_manifest.json").read_text())
            for n in STAGES if (run / f"stage-{n}" / "_manifest.json").is_file()}


def test_first_run_shows_progress_names_unbuilt_stages_and_the_report(demo_run):
    out = demo_run.output
    assert "demo: starting a fresh run folder" in out
    for number, (name, _) in STAGES.items():
        if is_built(number):
            assert f"stage-{number} {name}" in out
        else:
            assert f"stage-{number} ({name})" in out.split("not built yet")[1].splitlines()[0]
    assert f"report: {demo_run.folder}/report/index.html" in out
    assert (demo_run.folder / "report" / "report.json").is_file()


def test_second_run_reuses_the_folder_without_error(demo_run):
    before = _manifests(demo_run.folder)
    again = make_demo(demo_run.folder)
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr[-4000:]}"
    assert again.stdout.splitlines()[0].startswith(f"demo: reusing {demo_run.folder}")
    assert "failed" not in again.stdout
    assert _manifests(demo_run.folder) == before  # finished stages are kept as they were
    assert "already finished" in again.stdout


def test_the_crawl_honours_robots_txt_on_both_sites(demo_run):
    crawl = pq.read_table(demo_run.folder / "stage-1" / "part-00000.parquet")
    fetched = crawl.filter(pc.equal(crawl["reason"], "ok"))["url"].to_pylist()
    english = [u for u in fetched if u.startswith("http://127.0.0.1:")]
    chinese = [u for u in fetched if u.startswith("http://127.0.0.2:")]
    assert english and chinese
    assert not any("/_sources/" in u or "/genindex" in u or "/c-api/" in u for u in english)
    assert not any(u.endswith((".en.html", "/ch12.zh-cn.html")) for u in chinese)
    denied = crawl.filter(pc.equal(crawl["reason"], "robots_disallowed")).num_rows
    assert denied >= 1
    assert _manifests(demo_run.folder)[1]["profile"]["by"]["reason"]["robots_disallowed"]["docs_in"] == denied
    languages = _manifests(demo_run.folder)[2]["profile"]["by"]["language"]
    assert languages["en"]["docs_out"] > 0 and languages["zh"]["docs_out"] > 0  # both sites reach stage 3


def test_the_funnel_adds_up_stage_by_stage(demo_run):
    manifests = _manifests(demo_run.folder)
    for number, m in manifests.items():
        profile = m["profile"]
        assert m["rows_in"] == m["rows_out"] + sum(m["dropped"].values()), number
        assert profile["in"]["docs"] == m["rows_in"] and profile["out"]["docs"] == m["rows_out"], number
        assert {r: f["docs"] for r, f in profile["dropped"].items()} == m["dropped"], number
        if "text_bytes" in profile["in"]:
            dropped_bytes = sum(f["text_bytes"] for f in profile["dropped"].values())
            assert profile["in"]["text_bytes"] == profile["out"]["text_bytes"] + dropped_bytes, number
    # every fetched response reaches stage 2 as one record
    responses = sum(v["docs_in"] for k, v in manifests[1]["profile"]["by"]["status"].items() if k != "(none)")
    assert manifests[2]["rows_in"] - manifests[2]["dropped"].get("extract:non_response", 0) == responses
    # each web stage reads exactly what the one before kept, rows and bytes
    web = [n for n in (2, 3, 4, 5) if n in manifests]
    for before, after in zip(web, web[1:], strict=False):
        assert manifests[after]["rows_in"] == manifests[before]["rows_out"], (before, after)
        assert manifests[after]["profile"]["in"]["text_bytes"] == manifests[before]["profile"]["out"]["text_bytes"]
    # stage 8 reads the last web stage plus code and GitHub
    read = manifests[web[-1]]["rows_out"] + sum(manifests[n]["rows_out"] for n in (6, 7) if n in manifests)
    assert manifests[8]["input_documents"] == read
    assert manifests[8]["total_tokens"] == manifests[8]["profile"]["out"]["n_tokens"] > 0
    # the report's funnel is those numbers
    report = json.loads((demo_run.folder / "report" / "report.json").read_text())
    for row in report["funnel"]["rows"]:
        if row["stage"] in manifests:
            m = manifests[row["stage"]]
            assert (row["docs_in"], row["docs_out"], row["adds_up"]) == (m["rows_in"], m["rows_out"], True)
        else:
            assert row["status"] in ("not built", "not run")


# ---- reuse or start afresh (no stage runs: the folder decisions alone) ---------------------------
@pytest.fixture
def sites():
    available = demo._sites()
    assert available, "the demo sites are installed by make setup"
    return available


def _opened(run: Path, sites, capsys) -> tuple[int | None, str]:
    servers, port = demo._open_run(run, sites)
    if servers is not None:
        servers.close()
    return port, capsys.readouterr().out.strip()


def test_a_taken_port_or_a_changed_config_starts_a_fresh_folder_said_in_one_line(tmp_path, sites, capsys):
    run = tmp_path / "demo"
    port, said = _opened(run, sites, capsys)
    assert said == f"demo: starting a fresh run folder {run}"
    assert json.loads((run / demo.STATE_FILE).read_text()) == {"port": port}
    # the same port free again, nothing run yet: reused
    again, said = _opened(run, sites, capsys)
    assert again == port and said.startswith(f"demo: reusing {run}")
    # a stage recorded with another config: a fresh folder, the old one kept aside
    (run / "stage-2").mkdir()
    (run / "stage-2" / "_manifest.json").write_text(json.dumps({"config_sha256": "0" * 64}))
    _, said = _opened(run, sites, capsys)
    assert said == (f"demo: stage-2 (extract) was made with another config; starting a fresh run folder {run} "
                    f"(the old one is now {run}.previous)")
    assert (tmp_path / "demo.previous" / "stage-2").is_dir() and not (run / "stage-2").exists()
    # the recorded port taken by another program: a fresh folder on another port
    port = json.loads((run / demo.STATE_FILE).read_text())["port"]
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((sites[0].host, port))
        holder.listen()
        new_port, said = _opened(run, sites, capsys)
    assert new_port != port
    assert said.startswith(f"demo: port {port} (the demo's sites) is taken; starting a fresh run folder {run}")


def test_a_stage_whose_input_finished_after_it_is_run_again(demo_run, tmp_path):
    """E.g. stage 7 built since the last demo: stage 8, finished before it, must read it too."""
    run = tmp_path / "run"
    for manifest in demo_run.folder.glob("stage-*/_manifest.json"):
        (run / manifest.parent.name).mkdir(parents=True)
        shutil.copy(manifest, run / manifest.parent.name)
    finished = [n for n in STAGES if (run / f"stage-{n}" / "_manifest.json").is_file()]
    assert [n for n in finished if demo._newer_input(str(run), n)] == []  # a fresh run: nothing stale
    path = run / "stage-6" / "_manifest.json"
    stage_6 = json.loads(path.read_text())
    stage_6["finished"] = "2999-01-01T00:00:00+00:00"  # as if stage 6 had run again since
    path.write_text(json.dumps(stage_6))
    assert {n: demo._newer_input(str(run), n) for n in finished if demo._newer_input(str(run), n)} == {8: 6}
