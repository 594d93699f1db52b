"""A fork server for the kill tests: imports the pipeline and the stages once, then forks one
fresh run per request, so a test can kill and resume a stage dozens of times without paying the
interpreter's start and imports each time.

Each forked run is a session leader (the tree a test or the fault hook SIGKILLs), has stdin on
/dev/null and its output in a log file, and runs `run_stage` exactly as the CLI does. Protocol: one
JSON object per line on stdin, one reply per line on stdout:

    {"op": "run", "stage": 4, "run_dir": ..., "sets": ["k=v", ...], "faults": DIR|null,
     "engine": "real"|"inline", "log": PATH}            -> {"pid": N}
    {"op": "wait", "pid": N, "timeout": SECONDS}         -> {"status": CODE|-SIGNAL|null,
                                                             "cpu": the run's CPU seconds}

`engine: inline` runs the partition map in the forked process itself (the same runner, stage code
and writes; no JVM start per run); `real` uses the configured engine (Spark local by default).
Steps that need a SparkSession (dedup's candidate pairs) start one in either case.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback


class InlineEngine:
    """Partitions run one after the other in this process; a SparkSession only when asked for."""

    name = "local"

    def __init__(self, config: dict):
        self.config, self._session = config, None

    def map(self, fn, items):
        return [fn(item) for item in items]

    def spark(self):
        if self._session is None:
            from pipeline.engines.spark_engine import spark_session

            self._session = spark_session(self.config, "local[*]")
        return self._session

    def close(self) -> None:
        pass


def _child(request: dict) -> int:
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the child never returns
    os.environ["PIPELINE_FAULT_ROOT"] = str(os.getpid())
    if request.get("faults"):
        os.environ["PIPELINE_FAULTS"] = request["faults"]
    from pipeline import runner
    from pipeline.errors import PipelineError

    if request.get("engine", "real") == "inline":
        runner.make_engine = InlineEngine
    try:
        from pipeline.config import load_config

        config = load_config(None, request["sets"])  # as the CLI's --set does (YAML values)
        runner.run_stage(int(request["stage"]), request["run_dir"], config)
        return 0
    except PipelineError as exc:
        print(f"error: {exc}", flush=True)
        return 2
    except BaseException:  # noqa: BLE001 - a crash is the test's finding: keep its traceback
        traceback.print_exc()
        return 1


def warm_models() -> None:
    """Load the packaged models every forked run would otherwise load again (copy-on-write after
    the fork): stage 3's fastText, static embedder, edu head and n-gram LMs, the language-id
    model, the BPE ranks. Loading runs no inference, so no thread pool exists yet when the server
    forks. A loader renamed upstream only costs speed: it is named on stderr and skipped."""
    from filters import langid
    from filters.quality import edu, models, ngram_lm
    from filters.quality.static_embed import StaticEmbedder
    from filters.tokenize import tokenizer

    loaders = [lambda: models.load_fasttext(models.resolve(None, models.DEFAULT_FASTTEXT)),
               lambda: edu.load(models.resolve(None, models.DEFAULT_EDU)),
               lambda: [ngram_lm.load(models.resolve(None, path)) for path in models.DEFAULT_LM.values()],
               StaticEmbedder.default, langid._model, lambda: tokenizer.load_tokenizer("default")]
    for load in loaders:
        try:
            load()
        except (AttributeError, ImportError, TypeError) as exc:
            print(f"zygote: a model was not preloaded ({exc})", file=sys.stderr)


def main() -> None:
    for module in sys.argv[1:]:
        if module == "--warm":
            warm_models()
        else:
            importlib.import_module(module)
    reply = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "run":
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = _child(request)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            answer = {"pid": pid}
        elif request["op"] == "wait":
            deadline = time.monotonic() + float(request.get("timeout", 0))
            status, cpu = None, None
            while True:
                done, code, usage = os.wait4(request["pid"], os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(code)
                    cpu = usage.ru_utime + usage.ru_stime
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.01)
            answer = {"status": status, "cpu": cpu}
        else:
            break
        reply.write(json.dumps(answer) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()
