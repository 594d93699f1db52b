"""Command line: `python -m pipeline run stage-N --run DIR [--config F] [--set k=v ...]` and friends."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import load_config
from pipeline.errors import ConfigError, PipelineError
from pipeline.registry import STAGES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TRAINERS = {name: "filters.quality.train" for name in (
    "fasttext_quality", "fasttext-quality", "edu", "perplexity", "static_embed", "calibration", "all")}


def _stage_number(text: str) -> int:
    raw = text.removeprefix("stage-")
    if not raw.isdigit() or int(raw) not in STAGES:
        raise argparse.ArgumentTypeError(f"expected stage-1 … stage-8, got '{text}'")
    return int(raw)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder (local path or s3://, hdfs:// URI)")
    parser.add_argument("--config", help="YAML config file with sections crawl:, extract:, …")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key; VALUE is YAML (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    stage_list = "\n".join(f"  stage-{n}  {name}" for n, (name, _) in STAGES.items())
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Crawl-to-tokens data curation pipeline.\n\nstages:\n" + stage_list,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run (or resume) one stage for a run folder",
                         description="Run or resume a stage.\n\nstages:\n" + stage_list,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("stage", type=_stage_number, help="stage-N (1..8)")
    _add_run_options(run)
    run.add_argument("--force", action="store_true", help="discard this stage's output and recompute")
    run.add_argument("--rethreshold", action="store_true",
                     help="stage-3: re-decide tiers from stored scores without recomputing them")

    submit = sub.add_parser("submit", help="spark-submit a stage to a Spark cluster")
    submit.add_argument("stage", type=_stage_number)
    _add_run_options(submit)
    submit.add_argument("--master", required=True, help="spark://HOST:PORT")

    demo = sub.add_parser("demo", help="run every built stage on the embedded default input")
    demo.add_argument("--run", default="runs/demo")

    report = sub.add_parser("report", help="(re)build DIR/report/index.html and report.json")
    report.add_argument("--run", required=True)

    train = sub.add_parser("train", help="train a model offline (fasttext_quality, edu, perplexity, static_embed, "
                                                 "calibration, all)")
    train.add_argument("what", choices=sorted(TRAINERS))
    train.add_argument("args", nargs=argparse.REMAINDER)

    sub.add_parser("stages", help="list the stages and whether each is built")
    sub.add_parser("config", help="print every config key with its default and help (YAML)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return _dispatch(args)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a write outside pipeline.io (a library's own file) on a full or read-only disk
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise
        print(f"error: cannot write {exc.filename or 'the output'}: {exc.strerror}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from pipeline.runner import run_stage

        overrides = list(args.set) + (["quality.rethreshold=true"] if args.rethreshold else [])
        config = load_config(args.config, overrides)
        # Re-thresholding rewrites stage 3's kept rows from the stored scores (kept outside stage-3/).
        manifest = run_stage(args.stage, args.run, config, force=args.force or args.rethreshold)
        print(f"stage-{args.stage} done: {manifest['rows_in']} rows in, {manifest['rows_out']} out "
              f"→ {args.run}/stage-{args.stage}")
        return 0
    if args.command == "submit":
        return submit(args)
    if args.command == "demo":
        from pipeline.demo import run_demo

        return run_demo(args.run)
    if args.command == "report":
        from pipeline.report import build_report

        path = build_report(args.run)
        print(f"report: {path}")
        return 0
    if args.command == "train":
        module = importlib.import_module(TRAINERS[args.what])
        return int(module.main([args.what, *args.args]) or 0)
    if args.command == "config":
        from pipeline.config import describe_defaults

        print(describe_defaults(), end="")
        return 0
    if args.command == "stages":
        from pipeline.registry import is_built

        for number, (name, _) in STAGES.items():
            print(f"stage-{number}  {name:<10} {'built' if is_built(number) else 'not built yet'}")
        return 0
    raise ConfigError(f"unknown command {args.command}")


def job_script(number: int) -> Path:
    name = STAGES[number][0]
    return PROJECT_ROOT / "jobs" / f"stage_{number}_{name}.py"


def submit(args: argparse.Namespace) -> int:
    """spark-submit jobs/stage_N_<name>.py to the master, shipping the project's code."""
    load_config(args.config, args.set)  # fail fast on a bad key, before the cluster is involved
    spark_submit = Path(sys.executable).parent / "spark-submit"
    code_zip = _package_code()
    cmd = [
        str(spark_submit), "--master", args.master,
        "--conf", f"spark.pyspark.python={sys.executable}",
        "--conf", f"spark.pyspark.driver.python={sys.executable}",
        "--conf", "spark.ui.enabled=false",
        "--py-files", str(code_zip),
        str(job_script(args.stage)), "--run", args.run,
        "--set", "engine=spark", "--set", f"spark.master={args.master}",
    ]
    if args.config:
        cmd += ["--config", args.config]
    for item in args.set:
        cmd += ["--set", item]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    return subprocess.call(cmd, env=env)


def _package_code() -> Path:
    """Zip the project's packages so cluster executors can import them (--py-files)."""
    import zipfile

    out = PROJECT_ROOT / "runs" / ".spark-code.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in ("pipeline", "crawl", "filters", "schemas"):
            for path in sorted((PROJECT_ROOT / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, path.relative_to(PROJECT_ROOT))
    return out


def job_main(number: int) -> int:
    """Entry of jobs/stage_N_*.py: the same options as `run stage-N`."""
    return main(["run", f"stage-{number}", *sys.argv[1:]])
