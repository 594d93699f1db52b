"""Runs inside bench/.venvs/opencoder: OpenCoder's opc_data_filtering on the files of a manifest.

Usage: python code_opencoder_worker.py MANIFEST.jsonl OUT.jsonl

Each manifest line names a file and what our typing said about it (program_lang, doc_type, lang,
filename with extension, size), so both sides apply their rules to the same typed file. Per file
the worker runs OpenCoder's ComputeCodeQualitySignal.evaluate (signals) then CodeFilter.evaluate
(hit map), as its example pipeline does, and writes {"id", "signals", "fired"}.

Two settings differ from OpenCoder's defaults, both through its own objects' attributes: the
per-signal time limit (10 s by SIGALRM) is lifted, so a loaded machine does not change which
signals exist; and the stochastic rules (`... and random.random() > 0.2`) are evaluated on their
deterministic part (the draw taken as 1.0), because the draw cannot match a seeded one.
"""

import json
import sys
from pathlib import Path

SRC = Path(sys.prefix) / "src"  # bench/peers.py unpacks the pinned commit there
sys.path.insert(0, str(SRC))

try:  # under the bench harness: time only the rules, not imports
    from bench.harness import timed
except ImportError:  # run by hand
    timed = None

from pipeline.code_filter_config import code_filter_config, text_filter_config  # noqa: E402
from pipeline.compute_filtering import CodeFilter, support_program_langs  # noqa: E402
from pipeline.compute_quality_signals import ComputeCodeQualitySignal  # noqa: E402


class _NoDraw:
    """Stands for `random` inside a stochastic rule's lambda: the draw always passes."""

    @staticmethod
    def random() -> float:
        return 1.0


def _filters(doc_type: str, lang: str, program_lang: str) -> dict:
    if doc_type == "text":
        return text_filter_config["zh" if lang == "zh" else "en"]
    if program_lang in support_program_langs:
        return code_filter_config[program_lang]
    return code_filter_config["data" if doc_type == "data" else "others"]


def fired(entry: dict, signals: dict) -> list[str]:
    """OpenCoder's CodeFilter.do_filter, the stochastic draws taken as passing."""
    out = []
    for name, func in _filters(entry["doc_type"], entry["lang"], entry["program_lang"]).items():
        if func is None or name not in signals or signals[name] is None:
            continue
        if eval(func, {"random": _NoDraw})(signals[name]):  # noqa: S307 - OpenCoder's own config strings
            out.append(name)
    return sorted(out)


def main(argv: list[str]) -> None:
    entries = [json.loads(line) for line in Path(argv[1]).read_text().splitlines() if line.strip()]
    texts = [Path(e["path"]).read_bytes().decode("utf-8") for e in entries]
    computer = ComputeCodeQualitySignal()
    computer.default_time_out = 1_000_000  # no per-signal time limit (see the docstring)
    code_filter = CodeFilter()
    rows = []
    section = timed(items=sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)) if timed else None
    if section:
        section.__enter__()
    for entry, text in zip(entries, texts, strict=True):
        result = json.loads(computer.evaluate(text, entry["filename"], entry["lang"], entry["ext"],
                                              entry["size"], entry["program_lang"], entry["doc_type"]))
        signals = json.loads(result.get("quality_signal", "{}"))
        verdict = json.loads(code_filter.evaluate(entry["doc_type"], entry["lang"], entry["program_lang"],
                                                  result.get("quality_signal", "")))
        rows.append({"id": entry["id"], "signals": signals, "fired": fired(entry, signals),
                     "hit_map": json.loads(verdict["hit_map"]), "errors": sorted(json.loads(result.get("err_msg", "{}")))})
    if section:
        section.__exit__(None, None, None)
    with open(argv[2], "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(sys.argv)
