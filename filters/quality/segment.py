"""Chinese word segmentation for the word-based quality rules.

FineWeb-2 (datatrove) counts Chinese words with spaCy's Chinese tokenizer in its jieba mode, and
its per-language thresholds (languages.py) assume those words; jieba's default (HMM on) cut is the
same segmentation. Measured ~280k characters/s per core (real iNews pages): ~5 ms per 1,500-char
page. A shared word/segment splitter for every stage is issue 20's; until it lands this is stage
3's own.
"""

from __future__ import annotations

import logging
from functools import lru_cache


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def jieba_spaced(text: str) -> str:
    """The text with its jieba words separated by spaces, line by line (line breaks kept)."""
    cut = _jieba().cut
    return "\n".join(" ".join(w for w in cut(line) if w.strip()) for line in text.split("\n"))
