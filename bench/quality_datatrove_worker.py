"""Runs inside bench/.venvs/datatrove: datatrove's rule filters on a JSONL of docs.

Usage: python quality_datatrove_worker.py DOCS.jsonl OUT.jsonl [--time]
Writes one line per doc: {"gopher_quality": reason|null, "gopher_repetition": ..., "c4": ..., "fineweb": ...}
(null = kept). With --time, also prints per-filter docs/s on stderr.
"""

import json
import sys
import time

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
    docs = [json.loads(line)["text"] for line in open(argv[1], encoding="utf-8")]
    filters = {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "fineweb": FineWebQualityFilter(),
    }
    out = [{} for _ in docs]
    timing = {}
    for name, flt in filters.items():
        start = time.perf_counter()
        for i, text in enumerate(docs):
            try:
                out[i][name] = verdict(flt.filter(Document(text=text, id=str(i))))
            except ZeroDivisionError:
                out[i][name] = "error"
        timing[name] = len(docs) / (time.perf_counter() - start)
    with open(argv[2], "w", encoding="utf-8") as handle:
        for row in out:
            handle.write(json.dumps(row) + "\n")
    if "--time" in argv:
        print(json.dumps(timing), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
