"""Text normalisation before hashing, on whole batches in numpy (no regex, no per-character Python).

The same steps as datatrove's TextNormConfig (what FineWeb shingles): lowercase, diacritics
stripped, punctuation/symbols/separators → space, every run of digits → "0". With tokens="code"
(stage 6's near dedup) punctuation and symbols are kept, each one a token alone, so `a = b[i]` and
`a(b, i)` differ; the connector "_" stays inside identifiers. CJK and Thai
characters are words on their own (filters/segment.py's unspaced scripts, the pipeline's one
definition), so unspaced scripts still give many shingles. The UTF-8 bytes
of an Arrow string array are decoded to code points with numpy and mapped through one table
built once per process from `unicodedata`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.segment import decode_utf8, unspaced_table, utf8_buffers

SPACE = 0x20
DROP = 0xFFFFFFFF  # combining marks: removed
_SYMBOL_PLANE_RANGE = (0x1F000, 0x1FB00)  # emoji and pictographs


def _map_char(char: str, code: bool = False) -> int:
    category = unicodedata.category(char)
    if category == "Mn":
        return DROP
    if code and (category[0] in "PS"):
        return ord(char)
    if category[0] in "PSZC":
        return SPACE
    if category == "Nd":
        return 0x30 + unicodedata.digit(char)
    lower = char.lower()
    char = lower if len(lower) == 1 else char
    base = unicodedata.normalize("NFD", char)
    if len(base) > 1 and all(unicodedata.category(c) == "Mn" for c in base[1:]):
        char = base[0].lower()
    return ord(char)


TOKENS = ("words", "code")


@lru_cache(maxsize=4)
def tables(tokens: str = "words") -> tuple[np.ndarray, np.ndarray]:
    """(code point → normalised code point, code point → is a token alone) for the Basic
    Multilingual Plane; higher planes are handled by ranges. Alone: an unspaced-script character,
    and with tokens="code" every punctuation or symbol character but "_"."""
    if tokens not in TOKENS:
        raise ValueError(f"unknown tokens {tokens!r}: one of {', '.join(TOKENS)}")
    code = tokens == "code"
    mapping = np.array([_map_char(chr(c), code) for c in range(0x10000)], dtype=np.uint32)
    alone = unspaced_table()
    if code:
        alone = alone.copy()
        for c in range(0x10000):
            if mapping[c] == c and unicodedata.category(chr(c))[0] in "PS" and c != ord("_"):
                alone[c] = True
        mapping[ord("_")] = ord("_")
        alone[ord("_")] = False
    return mapping, alone


def normalized_codepoints(texts: pa.Array | pa.ChunkedArray,
                          tokens: str = "words") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets per text, normalised code points, is-unspaced-script flag per code point).
    Words are the runs of non-space code points; an unspaced-script character is a word alone."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.string()), "")
    offsets, data = utf8_buffers(texts)
    code, offsets, _ = decode_utf8(data, offsets)
    mapping, unspaced_bmp = tables(tokens)
    bmp = code < 0x10000
    if bmp.all():
        mapped, unspaced = mapping[code], unspaced_bmp[code]
    else:
        low = np.where(bmp, code, 0)
        mapped = np.where(bmp, mapping[low], code)
        symbol = (code >= _SYMBOL_PLANE_RANGE[0]) & (code < _SYMBOL_PLANE_RANGE[1])
        mapped[symbol] = SPACE
        unspaced = np.where(bmp, unspaced_bmp[low], (code >= 0x20000) & (code < 0x40000))
    digit = (mapped >= 0x30) & (mapped <= 0x39)
    mapped[digit] = 0x30  # a number becomes one "0": its first digit → "0", the others dropped
    dropped = (mapped == DROP)
    dropped[1:] |= digit[1:] & digit[:-1]
    text_starts = offsets[:-1][offsets[:-1] < len(mapped)]
    dropped[text_starts] = mapped[text_starts] == DROP  # a number at a text's start is kept
    positions = np.flatnonzero(dropped)
    if len(positions):
        offsets = offsets - np.searchsorted(positions, offsets)
        keep = ~dropped
        mapped, unspaced = mapped[keep], unspaced[keep]
    return offsets, mapped, unspaced


def normalize_texts(texts: pa.Array | pa.ChunkedArray) -> list[str]:
    """The normalised texts as strings, words joined by single spaces (for inspection and tests)."""
    offsets, code, unspaced = normalized_codepoints(texts)
    out = []
    for i in range(len(offsets) - 1):
        chars = [chr(c) if not u else f" {chr(c)} " for c, u in
                 zip(code[offsets[i] : offsets[i + 1]].tolist(), unspaced[offsets[i] : offsets[i + 1]].tolist(), strict=True)]
        out.append(" ".join("".join(chars).split()))
    return out
