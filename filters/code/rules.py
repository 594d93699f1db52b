"""OpenCoder's quality signals, each registered under OpenCoder's own name (`qsc_<type>_<metric>_…`).

A signal is a function of one file (document.CodeDoc) returning a number, or None when it does not
apply (a rule whose signal is None does not fire). Thresholds are not here: they are config
(filters/code/config.py), applied by filters/code/hits.py. A user adds a signal by registering it
in a module listed in `code.rule_modules` and giving it a cut in `code.rules`.

    qsc_code_*   general code rules (code and data files)
    qsc_doc_*    natural-language rules (text files)
    qsc_code<language>_*   language-specific rules: filters/code/specific.py
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import re2

from filters.code.document import LINE, WHITESPACE, WORDPUNCT, CodeDoc
from filters.registry import Registry

Signal = Callable[[CodeDoc], "float | None"]
RULES: Registry[Signal] = Registry("code rule")
PRECISION = 8


def _ratio(count: float, total: float) -> float | None:
    return round(count / total, PRECISION) if total else None


# ---- shared by code and text files ------------------------------------------------------------
def _replacement(doc: CodeDoc) -> float | None:
    return _ratio(doc.text.count("\ufffd"), len(doc.text))


def _num_words(doc: CodeDoc) -> float:
    return float(len(doc.words))


def _num_chars(doc: CodeDoc) -> float:
    return float(len(doc.text))


def _mean_word_length(doc: CodeDoc) -> float | None:
    return _ratio(doc.word_chars, len(doc.words))


def _frac_words_unique(doc: CodeDoc) -> float | None:
    return _ratio(len(set(doc.words)), len(doc.words))


def _repetition(index: int) -> Signal:
    def signal(doc: CodeDoc) -> float:
        return round(float(doc.repetition[index]), PRECISION)
    return signal


def _frac_chars_digital(doc: CodeDoc) -> float:
    visible = doc.visible_chars
    return round(doc.char_counts[1] / visible, PRECISION) if visible else 1.0


def _frac_chars_whitespace(doc: CodeDoc) -> float:
    return round(doc.char_counts[2] / len(doc.text), PRECISION) if doc.text else 1.0


for prefix in ("qsc_code", "qsc_doc"):
    RULES.register(f"{prefix}_frac_chars_replacement_symbols")(_replacement)
    RULES.register(f"{prefix}_num_words")(_num_words)
    RULES.register(f"{prefix}_num_chars")(_num_chars)
    RULES.register(f"{prefix}_mean_word_length")(_mean_word_length)
    RULES.register(f"{prefix}_frac_words_unique")(_frac_words_unique)
    RULES.register(f"{prefix}_frac_chars_digital")(_frac_chars_digital)
    RULES.register(f"{prefix}_frac_chars_whitespace")(_frac_chars_whitespace)
    for i, n in enumerate((2, 3, 4)):
        RULES.register(f"{prefix}_frac_chars_top_{n}grams")(_repetition(i))
    for i, n in enumerate((5, 6, 7, 8, 9, 10)):
        RULES.register(f"{prefix}_frac_chars_dupe_{n}grams")(_repetition(3 + i))


# ---- general code rules ---------------------------------------------------------------------
@RULES.register("qsc_code_size_file_byte")
def size_file_byte(doc: CodeDoc) -> float | None:
    return float(doc.size) if doc.size is not None else None


@RULES.register("qsc_code_num_lines")
def code_num_lines(doc: CodeDoc) -> float:
    return float(len(doc.lines))


@RULES.register("qsc_code_num_chars_line_max")
def num_chars_line_max(doc: CodeDoc) -> float:
    return float(max(map(len, doc.lines), default=0))


@RULES.register("qsc_code_num_chars_line_mean")
def num_chars_line_mean(doc: CodeDoc) -> float:
    return round(len(doc.text) / len(doc.lines), PRECISION) if doc.lines else 0


@RULES.register("qsc_code_frac_chars_alphabet")
def code_frac_chars_alphabet(doc: CodeDoc) -> float:
    visible = doc.visible_chars
    return round(doc.char_counts[0] / visible, PRECISION) if visible else 0.0


@RULES.register("qsc_code_frac_chars_comments")
def frac_chars_comments(doc: CodeDoc) -> float | None:
    if not doc.text:
        return None
    if doc.language == "python":
        from filters.code.specific import python_comment_chars

        return round(python_comment_chars(doc) / len(doc.text), PRECISION)
    return round(len(doc.comments) / len(doc.text), PRECISION)


@RULES.register("qsc_code_cate_xml_start")
def cate_xml_start(doc: CodeDoc) -> float:
    return float("<?xml version=" in doc.text[:100])


@RULES.register("qsc_code_cate_autogen")
def cate_autogen(doc: CodeDoc) -> float:
    """OpenCoder's marker phrases all contain "generate"; "autogen" and "do not edit" are markers too."""
    head = doc.text[:200].lower()
    return float("generate" in head or "autogen" in head or "do not edit" in head)


@RULES.register("qsc_code_frac_lines_dupe_lines")
def code_frac_lines_dupe_lines(doc: CodeDoc) -> float | None:
    """Share of code lines (whitespace removed) that repeat; "}," and 1-character lines never count."""
    if not doc.lines:
        return None
    counts = Counter("".join(line.split()) for line in doc.code_lines)
    total = sum(counts.values())
    dupes = sum(v for k, v in counts.items() if v != 1 and k != "}," and len(k) != 1)
    return _ratio(dupes, total)


_STRINGS_MULTILINE = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'(.*?)'|\"(.*?)\"", re.DOTALL)
_STRINGS = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'([^\n]*?)'|\"([^\n]*?)\"", re.DOTALL)


def _strings(pattern: re.Pattern, doc: CodeDoc) -> list[str]:
    """The contents of the string literals in the code (each pattern's matches computed once)."""
    key = "strings_multiline" if pattern is _STRINGS_MULTILINE else "strings"
    if key not in doc.__dict__:
        doc.__dict__[key] = [group for match in pattern.findall(doc.code) for group in match if group]
    return doc.__dict__[key]


@RULES.register("qsc_code_frac_lines_long_string")
def frac_lines_long_string(doc: CodeDoc) -> float | None:
    """String-literal lines of more than 20 tokens, per code line."""
    total = len(doc.code_lines)
    if not total:
        return None
    count = sum(1 for s in _strings(_STRINGS_MULTILINE, doc) for part in s.split("\n")
                if len(WORDPUNCT.findall(part)) > 20)
    return round(count / total, PRECISION)


@RULES.register("qsc_code_frac_chars_string_length")
def frac_chars_string_length(doc: CodeDoc) -> float | None:
    return _ratio(sum(map(len, _strings(_STRINGS, doc))), len(doc.code))


_URL = re.compile(r"https?://\S")


@RULES.register("qsc_code_frac_chars_long_word_length")
def frac_chars_long_word_length(doc: CodeDoc) -> float | None:
    """Characters of words longer than 20 inside string literals (URLs excepted), per code character."""
    total = len(doc.code)
    if not total:
        return None
    long = sum(len(w) for s in _strings(_STRINGS, doc) for w in s.split()
               if len(w) > 20 and not _URL.search(w))
    return round(long / total, PRECISION)


_CONCAT = re.compile(r"=\s*[\"'].+?[\"']\s*\+\s*[\"'].+?[\"']")


@RULES.register("qsc_code_frac_lines_string_concat")
def frac_lines_string_concat(doc: CodeDoc) -> float | None:
    lines = doc.code_lines
    return _ratio(sum(1 for line in lines if _CONCAT.search(line)), len(lines))


_ENCODED = (re2.compile(r"[a-zA-Z0-9+/\n=]{64,}"),  # RE2: linear time on long runs
            re2.compile(r"(?:\b(?:0x|\\x)?[0-9a-fA-F]{2}(?:,|\b\s*)){8,}"),
            re2.compile(r"(?:\\u[0-9a-fA-F]{4}){8,}"))


@RULES.register("qsc_code_cate_encoded_data")
def cate_encoded_data(doc: CodeDoc) -> float:
    """A base64, hex-byte or \\u-escape run longer than 1024 characters, or such runs over half the file."""
    matched = 0
    for pattern in _ENCODED:
        for match in pattern.finditer(doc.text):
            length = match.end() - match.start()
            if length > 1024:
                return 1.0
            matched += length
    return 1.0 if doc.text and matched / len(doc.text) > 0.5 else 0.0


_HEX = re.compile(r"\b0[xX][0-9a-fA-F]+\b")


def _hex_chars(text: str) -> int:
    return sum(m.end() - m.start() for m in _HEX.finditer(text))


@RULES.register("qsc_code_frac_chars_hex_words")
def code_frac_chars_hex_words(doc: CodeDoc) -> float | None:
    return _ratio(_hex_chars(doc.code), len(doc.code))


@RULES.register("qsc_code_frac_lines_prompt_comments")
def frac_lines_prompt_comments(doc: CodeDoc) -> float | None:
    """Comment lines with "your code here", "fixme" or "todo", per line of the file."""
    total = len(doc.lines)
    if not total:
        return None
    count = 0
    for line in doc.comment_lines:
        lower = line.lower()
        if "your code here" in lower or "fixme" in lower or "todo" in lower:
            count += 1
    return round(count / total, PRECISION)


@RULES.register("qsc_code_frac_lines_assert")
def frac_lines_assert(doc: CodeDoc) -> float | None:
    lines = doc.code_lines_lower
    return _ratio(sum(1 for line in lines if "assert" in line), len(lines))


# ---- natural-language rules (text files) ------------------------------------------------------
@RULES.register("qsc_doc_cate_code_related_file_name")
def code_related_file_name(doc: CodeDoc) -> float:
    stem = doc.filename.split(".")[0].lower()
    return float("requirement" in stem or stem in ("readme", "notes", "todo", "description", "cmakelists")
                 or stem == "read.me")


@RULES.register("qsc_doc_frac_chars_curly_bracket")
def frac_chars_curly_bracket(doc: CodeDoc) -> float:
    return round((doc.text.count("{") + doc.text.count("}")) / len(doc.text), PRECISION) if doc.text else 0.0


@RULES.register("qsc_doc_entropy_unigram")
def entropy_unigram(doc: CodeDoc) -> float | None:
    if not doc.words:
        return None
    counts = np.fromiter(Counter(doc.words).values(), dtype=np.float64)
    p = counts / counts.sum()
    return round(float(-(p * np.log(p)).sum()), PRECISION)


@RULES.register("qsc_doc_frac_lines_dupe_lines")
def doc_frac_lines_dupe_lines(doc: CodeDoc) -> float | None:
    if not doc.lines:
        return None
    counts = Counter(s for s in (line.strip() for line in doc.lines) if s)
    return _ratio(sum(v for v in counts.values() if v != 1), sum(counts.values()))


@RULES.register("qsc_doc_frac_chars_dupe_lines")
def doc_frac_chars_dupe_lines(doc: CodeDoc) -> float | None:
    if not doc.lines:
        return None
    counts = Counter(line.strip() for line in doc.lines)
    return _ratio(sum(len(k) * v for k, v in counts.items() if v != 1), sum(len(k) * v for k, v in counts.items()))


_READMORE = ("...", "…", "全文", "详情", "详细", "更多", "المزيد", "تفاصيل", "اقرأ المزيد", "もっと", "詳細", "もっと読む")


@RULES.register("qsc_doc_frac_lines_end_with_readmore")
def frac_lines_end_with_readmore(doc: CodeDoc) -> float | None:
    if not doc.lines:
        return None
    count = sum(1 for line in doc.lines if line.rstrip().rstrip("]】)>》").endswith(_READMORE))
    return round(count / len(doc.lines), PRECISION)


# bullet glyphs of RedPajama-v2's list (•‣⁃⁌⁍∙, the geometric shapes ■…◯ and ☑☒⬛⬜⬤⬞⬟⦾)
_BULLETS = tuple("\u2022\u2023\u2043\u204c\u204d\u2219" + "".join(chr(c) for c in range(0x25A0, 0x25B0))
                 + "\u25cb\u25cf\u25e6\u25c6\u25c7\u25c8\u25c9\u25ca\u25d0\u25d1\u25d2\u25d3\u25d4\u25d5"
                 "\u25d6\u25d8\u25d9\u25e2\u25e3\u25e4\u25e5\u25ef\u2611\u2612\u2b1b\u2b1c\u2b24\u2b1e\u2b1f\u29be")


@RULES.register("qsc_doc_frac_lines_start_with_bullet")
def frac_lines_start_with_bullet(doc: CodeDoc) -> float | None:
    if not doc.lines:
        return None
    return round(sum(1 for line in doc.lines if line.lstrip().startswith(_BULLETS)) / len(doc.lines), PRECISION)


@RULES.register("qsc_doc_frac_words_all_caps")
def frac_words_all_caps(doc: CodeDoc) -> float | None:
    words = doc.raw_words
    return _ratio(sum(1 for w in words if w.isupper()), len(words))


@RULES.register("qsc_doc_frac_words_full_bracket")
def frac_words_full_bracket(doc: CodeDoc) -> float | None:
    words = doc.raw_words
    return _ratio(sum(1 for w in words if w in ("【", "】")), len(words))


@RULES.register("qsc_doc_num_lines")
def doc_num_lines(doc: CodeDoc) -> float:
    return float(len(doc.lines))


_SENTENCE = re.compile(r"\b[^.!?。！？؟]+[.!?。！？؟]*")


@RULES.register("qsc_doc_num_sentences")
def num_sentences(doc: CodeDoc) -> float:
    return float(len(_SENTENCE.findall(doc.text)))


@RULES.register("qsc_doc_frac_chars_hex_words")
def doc_frac_chars_hex_words(doc: CodeDoc) -> float | None:
    return _ratio(_hex_chars(doc.text), len(doc.text))


_LINK_OR_TAG = re.compile(r"\(https?://\S+\)|<.*?>")


@RULES.register("qsc_doc_frac_chars_hyperlink_html_tag")
def frac_chars_hyperlink_html_tag(doc: CodeDoc) -> float | None:
    links = sum(len(m) for m in re.findall(r"\(https?://\S+\)", doc.text))
    tags = sum(len(m) for m in re.findall(r"<.*?>", doc.text))
    return _ratio(links + tags, len(doc.text))


@RULES.register("qsc_doc_frac_chars_alphabet")
def doc_frac_chars_alphabet(doc: CodeDoc) -> float | None:
    visible = doc.visible_chars
    if not visible:
        return 0.0
    if doc.lang != "en":
        return None
    return round(doc.char_counts[0] / visible, PRECISION)


__all__ = ["LINE", "RULES", "WHITESPACE", "CodeDoc", "Signal"]
