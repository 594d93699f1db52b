"""One file as OpenCoder's signals see it: lines, words, code and comments, computed once, on demand.

- lines: split after every \\n (a last line without one counts), lengths include the \\n;
- normalised words: control characters dropped, full-width and CJK punctuation folded to ASCII,
  ASCII punctuation → space, lower-cased, NFKC; then word/punctuation runs (\\w+ | [^\\w\\s]+), the
  tokens of nltk's wordpunct tokenizer that OpenCoder uses;
- code / comments: comments.split (pygments' view of comments);
- code lines: the non-blank lines of the code.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata

import numpy as np

from filters.code import comments

LINE = re.compile(r"[^\n]*\n|[^\n]+$")
WORDPUNCT = re.compile(r"\w+|[^\w\s]+")
WHITESPACE = re.compile(r"\s")


def _normalize_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # C0 controls except \t \n \v \f \r and ESC are dropped; thin and zero-width spaces become spaces
    for code in [*range(0x00, 0x08), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x202C]:
        table[code] = None
    table[0x2009] = table[0x200B] = " "
    for char in string.punctuation:  # ASCII punctuation and its full-width form → space
        table[ord(char)] = " "
        table[ord(char) + 0xFEE0] = " "
    for char in "。、《》【】「」“”‘’":  # CJK punctuation that folds to ASCII punctuation → space
        table[ord(char)] = " "
    table[0xFFE5] = "¥"
    return table


NORMALIZE = _normalize_table()


def normalized_words(text: str) -> list[str]:
    folded = text.translate(NORMALIZE).lower()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKC", folded)
    return WORDPUNCT.findall(folded)


@functools.lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """Per code point (BMP): bit 1 alphabetic, bit 2 digit (str.isdigit), bit 4 whitespace (\\s)."""
    classes = np.zeros(0x10000, dtype=np.uint8)
    for code in range(0x10000):
        char = chr(code)
        classes[code] = (1 if char.isalpha() else 0) | (2 if char.isdigit() else 0) | (4 if char.isspace() else 0)
    return classes


def _char_counts(text: str) -> tuple[int, int, int]:
    """(alphabetic, digits, whitespace) characters of a text."""
    if text.isascii():
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        classes = char_classes()[data]
    else:
        data = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        bmp = data < 0x10000
        classes = char_classes()[np.where(bmp, data, 0)]
        if not bmp.all():
            high = [chr(c) for c in data[~bmp].tolist()]
            classes[~bmp] = [(1 if c.isalpha() else 0) | (2 if c.isdigit() else 0) for c in high]
    counts = np.bincount(classes, minlength=8)
    alpha = int(counts[1] + counts[3] + counts[5] + counts[7])
    digit = int(counts[2] + counts[3] + counts[6] + counts[7])
    space = int(counts[4] + counts[5] + counts[6] + counts[7])
    return alpha, digit, space


class CodeDoc:
    """A file plus what OpenCoder knows about it (name, extension, size, language, type)."""

    def __init__(self, text: str, filename: str, extension: str, size: int, language: str, doc_type: str,
                 lang: str = "en"):
        self.text = text
        self.filename = filename  # the base name, with its extension
        self.extension = extension  # without the dot
        self.size = size  # bytes on disk
        self.language = language  # OpenCoder's language key ("python", "cpp", …)
        self.doc_type = doc_type  # code | data | text
        self.lang = lang  # natural language of the text (en, zh)

    def __len__(self) -> int:
        return len(self.text)

    @functools.cached_property
    def lines(self) -> list[str]:
        text = self.text
        if not text:
            return []
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
            return [line + "\n" for line in lines]
        return [line + "\n" for line in lines[:-1]] + [lines[-1]]

    @functools.cached_property
    def words(self) -> list[str]:
        return normalized_words(self.text)

    @functools.cached_property
    def raw_words(self) -> list[str]:
        return WORDPUNCT.findall(self.text)

    @functools.cached_property
    def word_chars(self) -> int:
        return sum(map(len, self.words))

    @functools.cached_property
    def repetition(self) -> np.ndarray:
        from filters.code.ngrams import repetition_signals, word_ids

        return repetition_signals(*word_ids(self.words))

    @functools.cached_property
    def char_counts(self) -> tuple[int, int, int]:
        return _char_counts(self.text)

    @property
    def visible_chars(self) -> int:
        return len(self.text) - self.char_counts[2]

    @functools.cached_property
    def _split(self) -> tuple[str, str]:
        return comments.split(self.text, self.language)

    @property
    def code(self) -> str:
        return self._split[0]

    @property
    def comments(self) -> str:
        return self._split[1]

    @functools.cached_property
    def code_lines(self) -> list[str]:
        return [line for line in LINE.findall(self.code) if line.strip()]

    @functools.cached_property
    def comment_lines(self) -> list[str]:
        return [line for line in LINE.findall(self.comments) if line.strip()]

    @functools.cached_property
    def code_lines_lower(self) -> list[str]:
        return [line.lower() for line in self.code_lines]
