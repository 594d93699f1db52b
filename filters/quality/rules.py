"""Gopher quality, Gopher repetition, C4 and FineWeb rules, vectorised over a batch of documents.

Each rule set returns, per document, its measures, the reason datatrove would give for dropping it
(None = passes; same names as datatrove) and a continuous score in [-1, 1]: the mean over the rules
of the signed relative margin to the threshold (positive = passes, clipped to ±1). The score keeps
ordering documents inside the passing region, so it can be binned into percentile buckets.

Defaults are datatrove's (see ../shared/reference/algorithms.md §3.2-3.5); every one is config.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from filters.quality.config import (
    C4Config,
    FineWebConfig,
    GopherQualityConfig,
    GopherRepetitionConfig,
)
from filters.quality.textbatch import (
    PUNCTUATION_CHARS,
    TERMINAL_CHARS,
    Segments,
    TextBatch,
    char_class,
    repeats,
)

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies",
                     "use of cookies", "use cookies")
CITATION_RE2 = r"\[\d*\]|\[edit\]|\[citation needed\]"
# Python's str.split() separators, as an RE2 class: a C4 "word" is a run of anything else.
PY_SPACE_CLASS = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
NON_SPACE_RUN = PY_SPACE_CLASS.replace("[", "[^", 1) + "+"


@dataclass
class RuleResult:
    reasons: list[str | None]
    score: np.ndarray
    stats: dict[str, np.ndarray]

    @property
    def passed(self) -> np.ndarray:
        return np.array([r is None for r in self.reasons])


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num), dtype=np.float64), where=den > 0)


def _margin_max(value: np.ndarray, limit: float) -> np.ndarray:
    """Signed relative margin of a drop-if-above rule."""
    return np.clip((limit - value) / max(abs(limit), 1e-9), -1, 1)


def _margin_min(value: np.ndarray, limit: float) -> np.ndarray:
    return np.clip((value - limit) / max(abs(limit), 1e-9), -1, 1)


def _first_failure(checks: list[tuple[str, np.ndarray]], n: int) -> list[str | None]:
    """The first failing check's name per document, in datatrove's order."""
    reasons: list[str | None] = [None] * n
    for name, failed in reversed(checks):
        for i in np.flatnonzero(failed):
            reasons[i] = name
    return reasons


def _mask(array) -> np.ndarray:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


# --------------------------------------------------------------------------- Gopher quality

def gopher_quality(batch: TextBatch, cfg: GopherQualityConfig | None = None) -> RuleResult:
    cfg = cfg or GopherQualityConfig()
    words = batch.words
    symbol_only = words.gather(pc.equal(pc.utf8_length(pc.utf8_trim(words.distinct, PUNCTUATION_CHARS)), 0))
    has_alpha = words.gather(pc.match_substring_regex(words.distinct, r"\pL"))
    n_words = words.per_doc()
    n_content = words.per_doc((~symbol_only).astype(np.float64))
    mean_len = _ratio(words.per_doc(np.where(symbol_only, 0, words.lengths).astype(np.float64)), n_content)
    hash_ratio = _ratio(batch.count("#").astype(np.float64), n_words)
    ellipsis_ratio = _ratio((batch.count("...") + batch.count("…")).astype(np.float64), n_words)
    lines = batch.splitlines
    left = pc.utf8_ltrim_whitespace(lines.values)
    bullet = _mask(pc.or_(pc.starts_with(left, "•"), pc.starts_with(left, "-")))
    right = pc.utf8_rtrim_whitespace(lines.values)
    ellipsis_end = _mask(pc.or_(pc.ends_with(right, "..."), pc.ends_with(right, "…")))
    n_lines = lines.per_doc()
    bullet_ratio = _ratio(lines.per_doc(bullet.astype(np.float64)), n_lines)
    ellipsis_lines_ratio = _ratio(lines.per_doc(ellipsis_end.astype(np.float64)), n_lines)
    alpha_ratio = _ratio(words.per_doc(has_alpha.astype(np.float64)), n_words)
    stop_words = _distinct_stop_words(words, tuple(cfg.stop_words))

    checks = [
        ("gopher_short_doc", n_content < cfg.min_doc_words),
        ("gopher_long_doc", n_content > cfg.max_doc_words),
        ("gopher_below_avg_threshold", mean_len < cfg.min_avg_word_length),
        ("gopher_above_avg_threshold", mean_len > cfg.max_avg_word_length),
        ("gopher_too_many_hashes", hash_ratio > cfg.max_symbol_word_ratio),
        ("gopher_too_many_ellipsis", ellipsis_ratio > cfg.max_symbol_word_ratio),
        ("gopher_too_many_bullets", bullet_ratio > cfg.max_bullet_lines_ratio),
        ("gopher_too_many_end_ellipsis", ellipsis_lines_ratio > cfg.max_ellipsis_lines_ratio),
        ("gopher_below_alpha_threshold", alpha_ratio < cfg.min_alpha_words_ratio),
        ("gopher_enough_stop_words", stop_words < cfg.min_stop_words),
    ]
    margins = [
        np.minimum(_margin_min(n_content, cfg.min_doc_words), _margin_max(n_content, cfg.max_doc_words)),
        np.minimum(_margin_min(mean_len, cfg.min_avg_word_length),
                   _margin_max(mean_len, cfg.max_avg_word_length)),
        _margin_max(hash_ratio, cfg.max_symbol_word_ratio),
        _margin_max(ellipsis_ratio, cfg.max_symbol_word_ratio),
        _margin_max(bullet_ratio, cfg.max_bullet_lines_ratio),
        _margin_max(ellipsis_lines_ratio, cfg.max_ellipsis_lines_ratio),
        _margin_min(alpha_ratio, cfg.min_alpha_words_ratio),
        _margin_min(stop_words, cfg.min_stop_words),
    ]
    stats = {"words": n_content, "mean_word_length": mean_len, "alpha_ratio": alpha_ratio,
             "stop_words": stop_words}
    return RuleResult(_first_failure(checks, batch.n), np.mean(margins, axis=0), stats)


def _distinct_stop_words(words: Segments, stop_words: tuple[str, ...] = STOP_WORDS) -> np.ndarray:
    """How many distinct stop words (exact, case-sensitive like datatrove) each document has."""
    idx = words.gather(pc.fill_null(pc.index_in(words.distinct, value_set=pa.array(stop_words, pa.string())), -1))
    present = idx >= 0
    doc, key = words.doc[present], idx[present].astype(np.int64)
    first = ~repeats(doc, key)
    return np.bincount(doc[first], minlength=words.n_docs).astype(np.float64)


# --------------------------------------------------------------------------- Gopher repetition

def gopher_repetition(batch: TextBatch, cfg: GopherRepetitionConfig | None = None) -> RuleResult:
    cfg = cfg or GopherRepetitionConfig()
    chars = batch.char_len.astype(np.float64)
    paras, lines = batch.paragraphs, batch.runs_of_lines
    para_frac = _ratio(paras.per_doc(paras.is_repeat.astype(np.float64)), paras.per_doc())
    para_char = _ratio(paras.per_doc(np.where(paras.is_repeat, paras.lengths, 0).astype(np.float64)), chars)
    line_frac = _ratio(lines.per_doc(lines.is_repeat.astype(np.float64)), lines.per_doc())
    line_char = _ratio(lines.per_doc(np.where(lines.is_repeat, lines.lengths, 0).astype(np.float64)), chars)

    checks = [
        ("empty", chars == 0),
        ("dup_para_frac", para_frac > cfg.dup_para_frac),
        ("dup_para_char_frac", para_char > cfg.dup_para_char_frac),
        ("dup_line_frac", line_frac > cfg.dup_line_frac),
        ("dup_line_char_frac", line_char > cfg.dup_line_char_frac),
    ]
    margins = [
        _margin_max(para_frac, cfg.dup_para_frac), _margin_max(para_char, cfg.dup_para_char_frac),
        _margin_max(line_frac, cfg.dup_line_frac), _margin_max(line_char, cfg.dup_line_char_frac),
    ]
    stats = {"dup_line_frac": line_frac, "dup_para_frac": para_frac}
    ngrams = _NGrams(batch.words)
    for n in range(2, 1 + max([*cfg.top_n_grams, *cfg.dup_n_grams], default=1)):
        ngrams.groups(n)  # orders are built bottom-up
    for n, limit in sorted(cfg.top_n_grams.items()):
        frac = _ratio(ngrams.top_ngram_chars(n), chars)
        checks.append((f"top_{n}_gram", frac > limit))
        margins.append(_margin_max(frac, limit))
        stats[f"top_{n}_gram"] = frac
    for n, limit in sorted(cfg.dup_n_grams.items()):
        frac = _ratio(ngrams.duplicate_ngram_chars(n), chars)
        checks.append((f"duplicated_{n}_n_grams", frac > limit))
        margins.append(_margin_max(frac, limit))
        stats[f"dup_{n}_gram"] = frac
    score = np.where(chars == 0, -1.0, np.mean(margins, axis=0))
    return RuleResult(_first_failure(checks, batch.n), score, stats)


class _NGrams:
    """Word n-grams of every document, grouped by 64-bit hashes over the batch's flat word-id array.

    A repeated n-gram starts with a repeated (n-1)-gram and is followed by one (its last n-1 words),
    so each order only groups the positions p where the order below repeats at p and at p + 1
    (order 1: words seen twice in the document): on ordinary text that set shrinks fast. Groups
    of n-grams seen once may be missing; every repeated one is there with its exact count.
    """

    def __init__(self, words: Segments):
        self.n_docs = words.n_docs
        self.doc = words.doc
        self.cum = np.concatenate([[0], np.cumsum(words.lengths)])
        self.unigram = words.ids.astype(np.uint64) + np.uint64(1)
        self.doc_start = np.searchsorted(self.doc, np.arange(self.n_docs))
        self.doc_words = np.bincount(self.doc, minlength=self.n_docs)
        repeated = _repeated_words(words.ids, self.doc, len(words.distinct))
        self._members = {1: (np.flatnonzero(repeated), repeated)}
        self._groups_cache: dict[int, tuple] = {}

    def groups(self, n: int):
        """(positions, group ids in first-occurrence order, is_first, counts) of possibly repeated n-grams."""
        if n in self._groups_cache:
            return self._groups_cache[n]
        if n - 1 not in self._members:
            self.groups(n - 1)
        pos, group, is_first, counts = _group_ngrams(self.unigram, self.doc, *self._members[n - 1], n)
        members = pos[counts[group] > 1]
        mask = np.zeros(len(self.doc), dtype=bool)
        mask[members] = True
        self._members[n] = (members, mask)
        self._groups_cache[n] = (pos, group, is_first, counts)
        return self._groups_cache[n]

    def top_ngram_chars(self, n: int) -> np.ndarray:
        """len(" ".join(most common n-gram)) × its count; ties go to the earliest n-gram."""
        out = np.zeros(self.n_docs)
        has = self.doc_words >= n
        start = self.doc_start[has]
        out[has] = self.cum[start + n] - self.cum[start] + (n - 1)  # every n-gram seen once
        pos, group, is_first, counts = self.groups(n)
        first = pos[is_first]
        chosen, count = _most_common(first, counts, self.doc, self.n_docs)
        docs = np.flatnonzero(count > 1)
        f = chosen[docs]
        out[docs] = (self.cum[f + n] - self.cum[f] + (n - 1)) * count[docs]
        return out

    def duplicate_ngram_chars(self, n: int) -> np.ndarray:
        """Chars of repeated n-grams, skipping n words after each repeat (datatrove's scan).

        Only positions whose n-gram occurred earlier in the document can count, so the sequential
        scan (compiled: it is inherently sequential) runs over those positions, not over every word.
        """
        pos, group, is_first, counts = self.groups(n)
        candidates = np.flatnonzero(~is_first)
        if len(candidates) == 0:
            return np.zeros(self.n_docs)
        return _scan_duplicates(pos[candidates], group[candidates], self.doc[pos[candidates]],
                                pos[is_first], self.cum, n, self.n_docs, len(counts))


_MULT = np.uint64(0x100000001B3)
_SLOT_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _group_ngrams(unigram, doc, below, below_mask, n):
    """The n-grams starting at `below` (positions where the order below repeats; below_mask: the
    same as a mask) where it repeats at p + 1 too, grouped by their polynomial hash.

    Group ids are numbered in order of first occurrence (like pd.factorize); one open-addressing
    table per document, sized to it, since an n-gram never repeats across documents.
    """
    pos = np.empty(len(below), np.int64)
    m = 0
    for p in below:
        if p + n - 1 < len(doc) and doc[p] == doc[p + n - 1] and below_mask[p + 1]:
            pos[m] = p
            m += 1
    pos = pos[:m]
    group = np.empty(m, np.int64)
    is_first = np.zeros(m, np.bool_)
    counts = np.zeros(m, np.int64)
    largest, run, start = 0, 0, 0
    for i in range(m):                          # the largest number of positions in one document
        if i > 0 and doc[pos[i]] != doc[pos[i - 1]]:
            run = 0
        run += 1
        largest = max(largest, run)
    bits = 1
    while (1 << bits) < 2 * largest:
        bits += 1
    table = np.zeros((1 << bits, 2), np.uint64)  # (hash, group + 1) side by side: one cache line
    used = np.empty(largest, np.int64)
    n_groups = 0
    while start < m:
        end = start
        while end < m and doc[pos[end]] == doc[pos[start]]:
            end += 1
        size_bits = 1
        while (1 << size_bits) < 2 * (end - start):
            size_bits += 1
        mask, shift, n_used = (1 << size_bits) - 1, np.uint64(64 - size_bits), 0
        for i in range(start, end):
            p = pos[i]
            h = unigram[p]
            for k in range(1, n):
                h = h * _MULT + unigram[p + k]
            j = np.int64((h * _SLOT_MIX) >> shift) & mask
            while table[j, 1] != 0 and table[j, 0] != h:
                j = (j + 1) & mask
            if table[j, 1] == 0:
                n_groups += 1
                table[j, 0], table[j, 1] = h, n_groups
                used[n_used] = j
                n_used += 1
                is_first[i] = True
            g = np.int64(table[j, 1]) - 1
            group[i] = g
            counts[g] += 1
        for u in range(n_used):                 # clear only what this document used
            table[used[u], 1] = 0
        start = end
    return pos, group, is_first, counts[:n_groups]


@njit(cache=True)
def _repeated_words(ids, doc, n_distinct):
    """True where the word occurs at least twice in its document (a count per distinct word id)."""
    out = np.zeros(len(ids), np.bool_)
    seen = np.zeros(n_distinct, np.int64)
    start = 0
    while start < len(ids):
        end = start
        while end < len(ids) and doc[end] == doc[start]:
            seen[ids[end]] += 1
            end += 1
        for i in range(start, end):
            out[i] = seen[ids[i]] > 1
        for i in range(start, end):
            seen[ids[i]] = 0
        start = end
    return out


@njit(cache=True)
def _most_common(first, counts, doc, n_docs):
    """Per document, the first position and count of its most frequent n-gram group (ties: the
    earliest, as groups are numbered in order of first occurrence); count 0 where none."""
    chosen = np.zeros(n_docs, np.int64)
    best = np.zeros(n_docs, np.int64)
    for g in range(len(first)):
        d = doc[first[g]]
        if counts[g] > best[d]:
            best[d], chosen[d] = counts[g], first[g]
    return chosen, best


@njit(cache=True)
def _scan_duplicates(pos, group, doc, first_pos, cum, n, n_docs, n_groups):
    """datatrove's find_all_duplicate, replayed over the positions of non-first n-gram occurrences.

    At a candidate p (not inside a skipped span): if its group's first occurrence f was visited
    (not inside a skipped span) or the group was already met at a visited position, the n-gram is
    a repeat: count its chars and skip n words. Otherwise this is the first visited occurrence.
    """
    out = np.zeros(n_docs)
    seen_in = np.zeros(n_groups, np.int64)  # doc + 1 where the group was met at a visited position
    skips = np.empty(len(pos), np.int64)    # starts of skipped spans, increasing within a document
    n_skips, doc_begin, current, next_allowed = 0, 0, -1, 0
    for i in range(len(pos)):
        p, g, d = pos[i], group[i], doc[i]
        if d != current:
            current, next_allowed, doc_begin = d, 0, n_skips
        if p < next_allowed:
            continue
        f = first_pos[g]
        k = doc_begin + np.searchsorted(skips[doc_begin:n_skips], f) - 1
        first_visited = k < doc_begin or f > skips[k] + n - 1
        if first_visited or seen_in[g] == d + 1:
            out[d] += cum[p + n] - cum[p]
            next_allowed = p + n
            skips[n_skips] = p
            n_skips += 1
        else:
            seen_in[g] = d + 1
    return out


# --------------------------------------------------------------------------- C4 + FineWeb lines

def c4(batch: TextBatch, cfg: C4Config | None = None) -> RuleResult:
    cfg = cfg or C4Config()
    lines = batch.splitlines
    stripped = pc.utf8_trim_whitespace(lines.values)
    ok = np.ones(len(lines.doc), dtype=bool)
    if cfg.max_word_length != -1:
        ok &= ~_has_long_word(stripped, cfg.max_word_length)
    cleaned = pc.replace_substring_regex(stripped, CITATION_RE2, "")
    if cfg.filter_no_terminal_punct:
        ok &= _mask(pc.match_substring_regex(cleaned, r"[.?!\"']$"))
        ok &= ~_mask(pc.ends_with(cleaned, "..."))
    if cfg.min_words_per_line > 1:  # "has at least k words" stops at the k-th word
        k = cfg.min_words_per_line
        ok &= _mask(pc.match_substring_regex(stripped, f"{NON_SPACE_RUN}(?:{PY_SPACE_CLASS}+{NON_SPACE_RUN}){{{k - 1}}}"))
    lorem = ok & _mask(pc.match_substring(cleaned, "lorem ipsum", ignore_case=True)) \
        if cfg.filter_lorem_ipsum else ok & False
    if cfg.filter_javascript:
        ok &= ~_mask(pc.match_substring(cleaned, "javascript", ignore_case=True))
    curly = ok & _mask(pc.match_substring(cleaned, "{")) if cfg.filter_curly_bracket else ok & False
    if cfg.filter_policy:
        ok &= ~_mask(pc.match_substring_regex(cleaned, "|".join(POLICY_SUBSTRINGS), ignore_case=True))
    sentences = _sentence_counts(cleaned) * ok
    n_sentences = lines.per_doc(sentences.astype(np.float64))
    kept_chars = lines.per_doc(np.where(ok, lines.lengths, 0).astype(np.float64))

    first_doc_failure = _first_line_failure(lines, lorem, curly)
    reasons: list[str | None] = [None] * batch.n
    for i in range(batch.n):
        if first_doc_failure[i] is not None:
            reasons[i] = first_doc_failure[i]
        elif cfg.min_num_sentences != -1 and n_sentences[i] < cfg.min_num_sentences:
            reasons[i] = "too_few_sentences"
    kept_fraction = _ratio(kept_chars, np.maximum(lines.per_doc(lines.lengths.astype(np.float64)), 1))
    margins = [
        2 * kept_fraction - 1,
        _margin_min(n_sentences, max(cfg.min_num_sentences, 1)),
        np.where(lines.per_doc((lorem | curly).astype(np.float64)) > 0, -1.0, 1.0),
    ]
    stats = {"c4_kept_char_fraction": kept_fraction, "c4_sentences": n_sentences}
    return RuleResult(reasons, np.mean(margins, axis=0), stats)


def _has_long_word(lines: pa.Array, limit: int) -> np.ndarray:
    """Lines with a str.split() word longer than `limit` (Arrow's whitespace split is str.split()'s).

    Only lines longer than the limit can have one, so only those are split.
    """
    out = np.zeros(len(lines), dtype=bool)
    candidates = np.flatnonzero(pc.utf8_length(lines).to_numpy(zero_copy_only=False) > limit)
    if len(candidates):
        words = pc.utf8_split_whitespace(lines.take(pa.array(candidates)))
        line_of = np.repeat(np.arange(len(candidates)), pc.list_value_length(words).to_numpy(zero_copy_only=False))
        long_word = pc.utf8_length(pc.list_flatten(words)).to_numpy(zero_copy_only=False) > limit
        out[candidates[np.unique(line_of[long_word])]] = True
    return out


def _sentence_counts(lines) -> np.ndarray:
    """Sentences per line like spaCy's sentencizer: a new one after . ! ? and a following word."""
    dotted = pc.replace_substring_regex(lines, r"\.{2,}", "…")
    empty = _mask(pc.equal(pc.utf8_length(lines), 0))
    inner = pc.count_substring_regex(dotted, r"[.!?][\"'”’)\]]*\s+[^\s.!?\"'”’)\]]")
    return np.where(empty, 0, inner.to_numpy(zero_copy_only=False) + 1)


def _first_line_failure(lines: Segments, lorem: np.ndarray, curly: np.ndarray) -> list[str | None]:
    out: list[str | None] = [None] * lines.n_docs
    for i in np.flatnonzero(lorem | curly)[::-1]:
        out[lines.doc[i]] = "lorem_ipsum" if lorem[i] else "curly_bracket"
    return out


def fineweb(batch: TextBatch, cfg: FineWebConfig | None = None) -> RuleResult:
    cfg = cfg or FineWebConfig()
    lines = batch.newline_lines
    n_lines = lines.per_doc()
    terminal = _mask(pc.match_substring_regex(lines.values, char_class(TERMINAL_CHARS) + "$"))
    punct_ratio = _ratio(lines.per_doc(terminal.astype(np.float64)), n_lines)
    short_ratio = _ratio(lines.per_doc((lines.lengths <= cfg.short_line_length).astype(np.float64)), n_lines)
    newlines = batch.count("\n").astype(np.float64)
    dup_chars = lines.per_doc(np.where(lines.is_repeat, lines.lengths, 0).astype(np.float64))
    dup_ratio = _ratio(dup_chars, batch.char_len - newlines)
    n_words = batch.words.per_doc()
    list_ratio = np.divide(newlines, n_words, out=np.full(batch.n, np.inf), where=n_words > 0)
    checks = [
        ("empty", n_lines == 0),
        ("line_punct_ratio", punct_ratio < cfg.line_punct_thr),
        ("short_line_ratio", short_ratio > cfg.short_line_thr),
        ("char_dup_ratio", dup_ratio > cfg.char_duplicates_ratio),
        ("list_ratio", list_ratio > cfg.new_line_ratio),
    ]
    margins = [
        _margin_min(punct_ratio, cfg.line_punct_thr),
        _margin_max(short_ratio, cfg.short_line_thr),
        _margin_max(dup_ratio, max(cfg.char_duplicates_ratio, 0.05)),
        _margin_max(np.minimum(list_ratio, 10.0), cfg.new_line_ratio),
    ]
    stats = {"line_punct_ratio": punct_ratio, "short_line_ratio": short_ratio,
             "char_dup_ratio": dup_ratio, "list_ratio": list_ratio}
    score = np.where(n_lines == 0, -1.0, np.mean(margins, axis=0))
    return RuleResult(_first_failure(checks, batch.n), score, stats)


def lines_score(c4_result: RuleResult, fineweb_result: RuleResult) -> np.ndarray:
    """The `lines` scorer: C4 and FineWeb line-level rules together."""
    return (c4_result.score + fineweb_result.score) / 2
