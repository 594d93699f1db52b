"""Text normalisation before hashing, on whole batches in numpy (no regex, no per-character Python).

The same steps as datatrove's TextNormConfig (what FineWeb shingles): lowercase, diacritics
stripped, punctuation/symbols/separators → space, every run of digits → "0". CJK and Thai
characters are words on their own, so unspaced scripts still give many shingles. The UTF-8 bytes
of an Arrow string array are decoded to code points with numpy and mapped through one table
built once per process from `unicodedata`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SPACE = 0x20
DROP = 0xFFFFFFFF  # combining marks: removed
_UNSPACED_RANGES = [(0x0E00, 0x0E80), (0x3040, 0x3100), (0x3400, 0x4DC0), (0x4E00, 0xA000),
                    (0xF900, 0xFB00), (0x20000, 0x40000)]
_SYMBOL_PLANE_RANGE = (0x1F000, 0x1FB00)  # emoji and pictographs


def _map_char(char: str) -> int:
    category = unicodedata.category(char)
    if category == "Mn":
        return DROP
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


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(code point → normalised code point, code point → is an unspaced-script character) for the
    Basic Multilingual Plane; higher planes are handled by ranges."""
    mapping = np.array([_map_char(chr(c)) for c in range(0x10000)], dtype=np.uint32)
    unspaced = np.zeros(0x10000, dtype=bool)
    for lo, hi in _UNSPACED_RANGES:
        unspaced[lo : min(hi, 0x10000)] = True
    return mapping, unspaced


def utf8_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Views of a string array's offsets (int64, from 0) and data bytes."""
    strings = strings.cast(pa.large_string())
    _, offset_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offset_buf, dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def _decode_utf8(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code points, offsets in code points) of valid UTF-8 bytes (Arrow guarantees validity)."""
    if len(data) == 0 or data.max() < 0x80:
        return data.astype(np.uint32), offsets
    starts = np.flatnonzero((data & 0xC0) != 0x80)  # first byte of every character
    code = data[starts].astype(np.uint32)
    multi = np.flatnonzero(code >= 0x80)
    first = code[multi]
    length = 2 + (first >= 0xE0).astype(np.int64) + (first >= 0xF0)
    value = first & np.where(length == 2, 0x1F, np.where(length == 3, 0x0F, 0x07)).astype(np.uint32)
    last = len(data) - 1
    for k in (1, 2, 3):
        follow = data[np.minimum(starts[multi] + k, last)].astype(np.uint32) & 0x3F
        value = np.where(length > k, (value << 6) | follow, value)
    code[multi] = value
    return code, np.searchsorted(starts, offsets).astype(np.int64)


def normalized_codepoints(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets per text, normalised code points, is-unspaced-script flag per code point).
    Words are the runs of non-space code points; an unspaced-script character is a word alone."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.string()), "")
    offsets, data = utf8_buffers(texts)
    code, offsets = _decode_utf8(data, offsets)
    mapping, unspaced_bmp = tables()
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
