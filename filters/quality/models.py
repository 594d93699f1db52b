"""The three model scorers: a DCLM-style fastText classifier, a FineWeb-Edu-style edu regressor on
static embeddings (edu.py), and a CCNet-style n-gram language model per language (ngram_lm.py).

Models load lazily once per worker process (module-level caches), so stage objects stay light
when pickled to Spark/Ray workers. Nothing downloads: paths are local files or the shipped models
(models/, built by `python -m pipeline train <what>`; see models/PROVENANCE.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from filters.quality import edu, ngram_lm
from filters.quality.textbatch import TextBatch
from pipeline.resources import resource

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_FASTTEXT = MODELS_DIR / "fasttext_quality.ftz"
DEFAULT_EDU = MODELS_DIR / "edu_head.npz"
DEFAULT_LM = {"en": MODELS_DIR / "lm_en.npz", "zh": MODELS_DIR / "lm_zh.npz"}
LANGUAGES = ("en", "zh")   # languages with their own models and settings; any other reads as en
CJK_RE = re.compile(r"([\u3400-\u9fff\uf900-\ufaff])")


def default_paths() -> dict[str, str]:
    """The shipped model files a reference calibration depends on."""
    from filters.quality.static_embed import DEFAULT_TABLE

    return {"fasttext_quality": str(DEFAULT_FASTTEXT), "edu": str(DEFAULT_EDU), "static_embed": str(DEFAULT_TABLE),
            "perplexity_en": str(DEFAULT_LM["en"]), "perplexity_zh": str(DEFAULT_LM["zh"])}


def resolve(path: str | None, default: Path) -> str:
    """The user's model path, else the packaged default (a real path even under --py-files)."""
    return str(resource(default)) if not path else str(path)


def language_groups(langs: list[str | None] | None, n: int) -> dict[str, np.ndarray]:
    """Row indices per model language ("zh" or "en"; every other language reads as "en")."""
    codes = np.array(["zh" if (lang or "").lower().startswith("zh") else "en" for lang in (langs or [None] * n)])
    return {lang: np.flatnonzero(codes == lang) for lang in LANGUAGES if (codes == lang).any()}


# --------------------------------------------------------------------------- fastText

def fasttext_text(text: str, max_chars: int = 20_000) -> str:
    """fastText reads one line: lowercase, newlines -> spaces (as DCLM preprocesses); Chinese
    characters are spaced apart so fastText's word bigrams are character bigrams."""
    text = text[:max_chars].lower()
    if not text.isascii():
        text = CJK_RE.sub(r" \1 ", text)
    return " ".join(text.split())


@lru_cache(maxsize=4)
def load_fasttext(path: str):
    import fasttext

    if not os.path.exists(path):
        from pipeline.errors import ConfigError

        raise ConfigError(f"quality.fasttext.model: no fastText model at {path}")
    with contextlib.redirect_stderr(io.StringIO()):  # fastText prints a load-time warning there
        return fasttext.load_model(path)


def fasttext_scores(texts: list[str], path: str, label: str = "__label__hq") -> np.ndarray:
    """P(label) per text; works with our model and with DCLM's published .bin."""
    model = load_fasttext(path)
    lines = [fasttext_text(t) for t in texts]
    labels, probs = model.predict(lines, k=-1)
    return np.array([p[names.index(label)] if label in names else 0.0
                     for names, p in zip(labels, probs, strict=True)], dtype=np.float64)


# --------------------------------------------------------------------------- edu

def edu_scores(batch: TextBatch | list[str], head_path: str | None = None) -> np.ndarray:
    """Educational value 0..5 (edu.py): static embedding + WordPiece TF-IDF, linear head."""
    from filters.quality.static_embed import StaticEmbedder

    batch = batch if isinstance(batch, TextBatch) else TextBatch(batch)
    if batch.n == 0:
        return np.zeros(0)
    return edu.load(resolve(head_path, DEFAULT_EDU)).predict_ids(batch.wordpiece_ids, StaticEmbedder.default())


# --------------------------------------------------------------------------- n-gram LM

def perplexity_scores(batch: TextBatch | list[str], langs: list[str | None] | None = None,
                      paths: dict[str, str | None] | None = None) -> np.ndarray:
    """-log10(perplexity) per text under its language's reference LM: higher is better."""
    batch = batch if isinstance(batch, TextBatch) else TextBatch(batch)
    out = np.full(batch.n, -10.0)
    for lang, rows in language_groups(langs, batch.n).items():
        lm = ngram_lm.load(resolve((paths or {}).get(lang), DEFAULT_LM[lang]))
        for i in rows:
            tokens = batch.wordpiece_ids[i] if lang == "en" else ngram_lm.char_ids(batch.texts[i])
            out[i] = lm.score(tokens)
    return out
