"""Runs inside bench/.venvs/datatrove: datatrove's rule filters on a JSONL of docs.

Usage: python quality_datatrove_worker.py DOCS.jsonl OUT.jsonl [--time]
Writes one line per doc: {"gopher_quality": reason|null, "gopher_repetition": ..., "c4": ..., "fineweb": ...}
(null = kept). With --time, also prints per-filter docs/s on stderr.
"""

import contextlib
import json
import sys
import time

try:  # under the bench harness: time only the filtering, not imports or spaCy's load
    from bench.harness import timed
except ImportError:  # run by hand
    timed = None

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)


def verdict(result):
    if result is True:
        return None
    if isinstance(result, tuple):
        return result[1]
    return "dropped"


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        docs = [json.loads(line)["text"] for line in handle]
    filters = {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "fineweb": FineWebQualityFilter(),
    }
    GopherQualityFilter().filter(Document(text="warm up the spaCy tokenizer " * 20, id="0"))
    out = [{} for _ in docs]
    timing = {}
    section = timed(items=len(docs)) if timed else contextlib.nullcontext()
    with section:
        run_filters(filters, docs, out, timing)
    with open(argv[2], "w", encoding="utf-8") as handle:
        for row in out:
            handle.write(json.dumps(row) + "\n")
    if "--time" in argv:
        print(json.dumps(timing), file=sys.stderr)


def run_filters(filters, docs, out, timing):
    """Doc-major, as in a datatrove pipeline: the word split is cached across the filters."""
    spent = dict.fromkeys(filters, 0.0)
    for i, text in enumerate(docs):
        for name, flt in filters.items():
            start = time.perf_counter()
            try:
                out[i][name] = verdict(flt.filter(Document(text=text, id=str(i))))
            except ZeroDivisionError:
                out[i][name] = "error"
            spent[name] += time.perf_counter() - start
    timing.update({name: len(docs) / max(seconds, 1e-9) for name, seconds in spent.items()})


if __name__ == "__main__":
    main(sys.argv)
