"""Runs inside bench/.venvs/datatrove: datatrove's n-gram decontamination on a JSONL of documents.

Usage: python github_datatrove_worker.py DOCS.jsonl BENCHMARK_FILE...
The index is built with datatrove's own text normalisation, word tokenizer, n-grams and hash
function (what its NGramsDecontIndexer does; that class itself needs lighteval installed, which
fetches tasks from a hub) from the same benchmark texts our side reads: HumanEval (query = prompt, label =
canonical solution), MBPP (query = problem text, label = code), SWE-bench records (query = problem
statement, label = gold patch); query n-grams are included (find_query_ngrams), as our index holds
prompts and problem statements too. Only the filtering is timed.
"""

import contextlib
import gzip
import json
import sys
import tempfile

import numpy as np

try:
    from bench.harness import timed
except ImportError:  # run by hand
    timed = None

from datatrove.data import Document
from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter
from datatrove.utils.hashing import create_hash_func
from datatrove.utils.text import ngrams, simplify_text
from datatrove.utils.word_tokenizers import load_word_tokenizer


def tasks(files):
    for path in files:
        if not path.endswith((".jsonl", ".jsonl.gz")):
            continue  # id lists: datatrove has no identity matching
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if "canonical_solution" in r:
                    yield "humaneval", r["prompt"], r["canonical_solution"]
                elif "code" in r:
                    yield "mbpp", r["text"], r["code"]
                elif "patch" in r:
                    yield "swebench", r["problem_statement"], r["patch"]


def main(argv):
    docs = [json.loads(line) for line in open(argv[1], encoding="utf-8")]
    config = NGramsDecontConfig(find_query_ngrams=True)
    folder = tempfile.mkdtemp()
    tokenizer = load_word_tokenizer("eng")
    hash_func = create_hash_func(config.hash_config)
    n = config.n_grams

    def grams(text):
        return list(ngrams(tokenizer.word_tokenize(simplify_text(text, config.norm_config)), n))

    hashes = {}
    for task, query, label in tasks(argv[2:]):
        q, lab = grams(query), grams(label)
        q_tokens = tokenizer.word_tokenize(simplify_text(query, config.norm_config))
        l_tokens = tokenizer.word_tokenize(simplify_text(label, config.norm_config))
        overlap = [q_tokens[-n + 1 + i:] + l_tokens[:i + 1] for i in range(n - 1)
                   if len(q_tokens) >= n - 1 - i and len(l_tokens) >= i + 1]  # query + label windows
        hashes.setdefault(task, set()).update(hash_func(" ".join(g)) for g in lab + q + overlap)
    for task, values in hashes.items():
        np.array(sorted(values), dtype=config.hash_config.np_descr).tofile(f"{folder}/{task}.index.hashes")
    flt = NGramsDecontFilter(folder, config=config)
    flt.filter(Document(text="warm up the index and the tokenizer " * 5, id="w"))
    section = timed(items=len(docs)) if timed else contextlib.nullcontext(Probe())
    with section as probe:
        flagged = [flt.filter(Document(text=doc["text"], id=str(i))) is not True for i, doc in enumerate(docs)]
        planted = [d["planted"] is not None for d in docs]
        probe.metrics.update({
            "recall": round(sum(p and f for p, f in zip(planted, flagged, strict=True)) / max(1, sum(planted)), 4),
            "planted": sum(planted), "false_flags": sum(f and not p for p, f in zip(planted, flagged, strict=True))})
    print(json.dumps(probe.metrics), file=sys.stderr)


class Probe:
    def __init__(self):
        self.metrics = {}


if __name__ == "__main__":
    main(sys.argv)
