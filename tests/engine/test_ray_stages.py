"""Every built stage run with `engine=ray` on a real Ray head (`ray start --head`) writes the local
run's parts, byte for byte (stage 5 on Ray: tests/rebalance; on Spark: test_submit.py)."""

import shutil
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crawl.testsite import serve_folder
from pipeline.config import load_config
from pipeline.runner import run_stage

pytestmark = pytest.mark.slow
PYDOC = Path("/usr/share/doc/python3.11/html")
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _on_ray(address: str, settings: list[str]) -> dict:
    return load_config(None, [*settings, "engine=ray", f"ray.address={address}"])


def _same_parts(local: dict, on_ray: dict, stage: int) -> None:
    assert on_ray["engine"] == "ray", stage
    assert on_ray["rows_out"] == local["rows_out"] > 0, stage
    assert [f["sha256"] for f in on_ray["files"]] == [f["sha256"] for f in local["files"]], stage
    assert on_ray["dropped"] == local["dropped"], stage


def test_web_stages_on_a_ray_head_equal_the_local_run(ray_cluster, tmp_path):
    """Stages 1-4 and 8 on real python3-doc pages served on loopback."""
    assert (PYDOC / "index.html").is_file(), "needs Debian's python3-doc (make setup installs it)"
    local, ray_run = tmp_path / "local", tmp_path / "ray"
    with serve_folder(PYDOC, robots_txt="User-agent: *\nDisallow: /genindex\n", index=False) as site:
        settings = [f"crawl.seeds=[{site.base_url}/library/index.html]", "crawl.allow_networks=[127.0.0.0/8]",
                    "crawl.max_pages=14", "crawl.max_depth=1", "crawl.min_host_delay=0", "run.progress=false",
                    "extract.min_chars=50", "quality.keep_tiers=[high,medium_high,medium,medium_low,low]"]
        expected = {n: run_stage(n, str(local), load_config(None, settings)) for n in (1, 2, 3, 4, 8)}
        crawled = run_stage(1, str(ray_run), _on_ray(ray_cluster, settings))
    assert crawled["engine"] == "ray" and crawled["rows_out"] == expected[1]["rows_out"] > 5
    fetched = [pq.read_table(run / "stage-1" / "part-00000.parquet").select(["url", "status", "reason"])
               for run in (local, ray_run)]
    assert sorted(map(str, fetched[0].to_pylist())) == sorted(map(str, fetched[1].to_pylist()))

    shutil.rmtree(ray_run / "stage-1")
    shutil.copytree(local / "stage-1", ray_run / "stage-1")  # the same fetched bytes (WARC dates) for both
    for number in (2, 3, 4, 8):
        _same_parts(expected[number], run_stage(number, str(ray_run), _on_ray(ray_cluster, settings)), number)


def test_code_and_github_stages_on_a_ray_head_equal_the_local_run(shared_data, ray_cluster, tmp_path):
    """Stage 6 on real standard-library code, stage 7 on the real GH Archive hour, API dumps and a
    real repository bundle."""
    data = shared_data / "github"
    settings = {
        6: ["run.progress=false", f"code.inputs=[{STDLIB / 'json'},{STDLIB / 'html'}]", "seed=7",
            "code.partition_bytes=60000"],
        7: [f"github.gharchive=[{data}/gharchive/2015-01-01-12.json.gz]",
            f"github.api_dumps=[{data}/perceval,{data}/pygithub-replay]",
            f"github.repos=[{data}/repos/pallets_itsdangerous.bundle]", "github.samples=[repair]",
            "run.progress=false"],
    }
    for number, sets in settings.items():
        local = run_stage(number, str(tmp_path / f"local-{number}"), load_config(None, sets))
        on_ray = run_stage(number, str(tmp_path / f"ray-{number}"), _on_ray(ray_cluster, sets))
        _same_parts(local, on_ray, number)
        assert len(local["files"]) > 1, number  # several partitions, spread over Ray workers
