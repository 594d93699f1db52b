"""The outside contract of the CLI and make targets: help, clear one-line errors, exit codes."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PIPELINE_LOG": "quiet", "PATH": "/usr/bin:/bin"})


def test_help_lists_every_stage():
    for args in (["--help"], ["run", "--help"]):
        out = _cli(*args)
        assert out.returncode == 0
        for n in range(1, 9):
            assert f"stage-{n}" in out.stdout


def test_bad_config_key_is_one_line_naming_the_key(tmp_path):
    out = _cli("run", "stage-2", "--run", str(tmp_path), "--set", "extract.no_such_key=1")
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert lines == ["error: unknown config key 'extract.no_such_key'"]


def test_missing_config_file_is_named(tmp_path):
    out = _cli("run", "stage-3", "--run", str(tmp_path), "--config", str(tmp_path / "absent.yaml"))
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [f"error: config file not found: {tmp_path / 'absent.yaml'}"]


def test_every_stage_has_a_make_target_and_a_job_script():
    makefile = (ROOT / "Makefile").read_text()
    assert "stage-%:" in makefile
    for n in range(1, 9):
        dry = subprocess.run(["make", "-n", f"stage-{n}", "RUN=/tmp/r"], cwd=ROOT, capture_output=True, text=True)
        assert f"-m pipeline run stage-{n} --run /tmp/r" in dry.stdout
        assert list((ROOT / "jobs").glob(f"stage_{n}_*.py")), f"no jobs/ entry for stage {n}"
