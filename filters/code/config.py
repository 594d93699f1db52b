"""Stage 6 config: the `code:` section (OpenCoder rule hits per file, dedup, secrets).

Thresholds are OpenCoder's (opc_data_filtering, pipeline/code_filter_config.py), written as typed
cuts instead of lambda strings: a rule fires when its signal is below `below`, above `above`, or
equal to `equals`; `drop_probability` < 1 makes it stochastic (OpenCoder's `random.random() > 0.2`
is 0.8), drawn from a hash of (seed, rule, file id) so a run is deterministic. A null cut means the
signal is not computed (OpenCoder computes some of those and never uses them).

Profiles: `text_en`/`text_zh` for text files, one per language with its own rules (python, c, cpp,
csharp, go, html, java, javascript, shell, sql), `data` for other data files, `others` for other
code. `code.rules` given by a user is merged over these defaults rule by rule.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.config import InputList, Section


class Cut(Section):
    """When a rule fires, from its signal value x (a None value never fires)."""

    below: float | None = Field(None, description="fires when x < below")
    above: float | None = Field(None, description="fires when x > above")
    equals: float | None = Field(None, description="fires when x == equals (1 = true, 0 = false for cate_* signals)")
    drop_probability: float = Field(1.0, ge=0, le=1, description="a firing counts with this probability (seeded)")


def _cut(below: float | None = None, above: float | None = None, equals: float | None = None,
         p: float = 1.0) -> dict:
    return {k: v for k, v in {"below": below, "above": above, "equals": equals, "drop_probability": p}.items()
            if v is not None and not (k == "drop_probability" and v == 1.0)}


STOCHASTIC = 0.8  # OpenCoder: `… and random.random() > 0.2`
TRUE, FALSE = 1.0, 0.0

_GENERAL = {
    # from text
    "qsc_code_frac_chars_replacement_symbols": _cut(above=0.01),
    "qsc_code_num_words": _cut(below=30),
    "qsc_code_num_chars": _cut(below=50),
    "qsc_code_mean_word_length": _cut(below=2, above=10),
    "qsc_code_frac_words_unique": None,
    "qsc_code_frac_chars_top_2grams": _cut(above=0.20),
    "qsc_code_frac_chars_top_3grams": _cut(above=0.18),
    "qsc_code_frac_chars_top_4grams": _cut(above=0.16),
    "qsc_code_frac_chars_dupe_5grams": _cut(above=0.80),
    **{f"qsc_code_frac_chars_dupe_{n}grams": _cut(above=0.70) for n in (6, 7, 8, 9)},
    "qsc_code_frac_chars_dupe_10grams": _cut(above=0.60),
    "qsc_code_frac_lines_dupe_lines": _cut(above=0.7),
    # from code
    "qsc_code_size_file_byte": _cut(above=3e6),
    "qsc_code_num_lines": _cut(below=10, above=100000),
    "qsc_code_num_chars_line_max": _cut(above=1000),
    "qsc_code_num_chars_line_mean": _cut(below=5, above=100),
    "qsc_code_frac_chars_alphabet": _cut(below=0.5),
    "qsc_code_frac_chars_digital": _cut(above=0.2),
    "qsc_code_frac_chars_whitespace": _cut(above=0.5),
    "qsc_code_frac_chars_comments": _cut(above=0.8),
    "qsc_code_cate_xml_start": _cut(equals=TRUE),
    "qsc_code_cate_autogen": _cut(equals=TRUE),
    "qsc_code_frac_lines_long_string": _cut(above=0.2),
    "qsc_code_frac_chars_string_length": _cut(above=0.6),
    "qsc_code_frac_chars_long_word_length": _cut(above=0.4),
    "qsc_code_frac_lines_string_concat": None,
    "qsc_code_cate_encoded_data": _cut(equals=TRUE),
    "qsc_code_frac_chars_hex_words": _cut(above=0.4),
    "qsc_code_frac_lines_prompt_comments": _cut(above=0.01),
    "qsc_code_frac_lines_assert": _cut(above=0.4),
}


def _with(base: dict, **changes: Any) -> dict:
    merged = copy.deepcopy(base)
    merged.update({k if k.startswith("qsc_") else f"qsc_code_{k}": v for k, v in changes.items()})
    return merged


def _c_family(prefix: str) -> dict:
    return {f"{prefix}_frac_lines_func_ratio": _cut(above=0.2), f"{prefix}_cate_bitsstdc": None,
            f"{prefix}_nums_lines_main": _cut(above=1), f"{prefix}_frac_lines_goto": None,
            f"{prefix}_cate_var_zero": None, f"{prefix}_score_lines_no_logic": _cut(above=0.5, p=STOCHASTIC),
            f"{prefix}_frac_lines_preprocessor_directives": _cut(above=0.8),
            f"{prefix}_frac_lines_print": _cut(above=0.4)}


def _declarations(prefix: str, var_zero: bool = True) -> dict:
    """var_zero=False: OpenCoder's C# and Go signals compare a list to 0, so the rule never fires
    there; the default keeps that (no cut), `{equals: 1}` turns the rule on as it is documented."""
    return {f"{prefix}_frac_lines_func_ratio": _cut(above=0.2),
            f"{prefix}_cate_var_zero": _cut(equals=TRUE) if var_zero else None,
            f"{prefix}_score_lines_no_logic": _cut(above=0.5, p=STOCHASTIC),
            f"{prefix}_frac_lines_print": _cut(above=0.4)}


def _text(lang: str) -> dict:
    zh = lang == "zh"
    return {
        "qsc_doc_cate_code_related_file_name": None,
        "qsc_doc_frac_chars_replacement_symbols": _cut(above=0.01),
        "qsc_doc_entropy_unigram": _cut(below=3),
        "qsc_doc_frac_chars_curly_bracket": None,
        "qsc_doc_frac_chars_top_2grams": _cut(above=0.20),
        "qsc_doc_frac_chars_top_3grams": _cut(above=0.18),
        "qsc_doc_frac_chars_top_4grams": _cut(above=0.16),
        **{f"qsc_doc_frac_chars_dupe_{n}grams": _cut(above=0.60) for n in range(5, 11)},
        "qsc_doc_frac_chars_dupe_lines": _cut(above=0.50),
        "qsc_doc_frac_lines_dupe_lines": _cut(above=0.60),
        "qsc_doc_frac_lines_end_with_readmore": _cut(above=0.3 if zh else 0.1),
        "qsc_doc_frac_lines_start_with_bullet": _cut(above=0.9),
        "qsc_doc_frac_words_all_caps": None if zh else _cut(above=0.5),
        "qsc_doc_frac_words_full_bracket": _cut(above=0.1) if zh else None,
        "qsc_doc_frac_words_unique": None,
        "qsc_doc_mean_word_length": _cut(below=1.3, above=10) if zh else _cut(below=3, above=10),
        "qsc_doc_num_chars": _cut(below=50),
        "qsc_doc_num_lines": _cut(below=10),
        "qsc_doc_num_sentences": _cut(equals=1),
        "qsc_doc_num_words": _cut(below=50),
        "qsc_doc_frac_chars_hex_words": _cut(above=0.4),
        "qsc_doc_frac_chars_hyperlink_html_tag": _cut(above=0.5),
        "qsc_doc_frac_chars_alphabet": _cut(below=0.5),
        "qsc_doc_frac_chars_digital": _cut(above=0.2),
        "qsc_doc_frac_chars_whitespace": _cut(above=0.5),
    }


_NO_STRINGS = {"frac_lines_long_string": None, "frac_chars_string_length": None}
DEFAULT_RULES: dict[str, dict] = {
    "text_en": _text("en"),
    "text_zh": _text("zh"),
    "others": _GENERAL,
    "data": _with(_GENERAL, num_chars=_cut(below=50, above=5000), frac_words_unique=_cut(below=0.4),
                  frac_lines_prompt_comments=None, frac_lines_assert=None, **_NO_STRINGS),
    "shell": _with(_GENERAL, frac_lines_assert=None, **_NO_STRINGS),
    "sql": _with(_GENERAL, frac_chars_digital=_cut(above=0.3)),
    "python": _with(_GENERAL, **{
        "qsc_codepython_cate_ast": _cut(equals=FALSE),
        "qsc_codepython_frac_lines_func_ratio": _cut(above=0.2),
        "qsc_codepython_cate_var_zero": _cut(equals=TRUE),
        "qsc_codepython_frac_lines_pass": _cut(above=0.05),
        "qsc_codepython_frac_lines_import": _cut(above=0.3),
        "qsc_codepython_frac_lines_simplefunc": _cut(above=0.1),
        "qsc_codepython_score_lines_no_logic": _cut(above=0.5, p=STOCHASTIC),
        "qsc_codepython_frac_lines_print": _cut(above=0.4)}),
    "c": _with(_GENERAL, **_c_family("qsc_codec")),
    "cpp": _with(_GENERAL, **_c_family("qsc_codecpp")),
    "csharp": _with(_GENERAL, **_declarations("qsc_codecsharp", var_zero=False)),
    "go": _with(_GENERAL, frac_lines_assert=None, **_declarations("qsc_codego", var_zero=False),
                qsc_codego_cate_testfile=_cut(equals=TRUE, p=STOCHASTIC)),
    "java": _with(_GENERAL, **_declarations("qsc_codejava")),
    "javascript": _with(_GENERAL, qsc_codejavascript_cate_ast=_cut(equals=FALSE),
                        **_declarations("qsc_codejavascript")),
    "html": _with(_GENERAL, **{f"qsc_code_frac_chars_dupe_{n}grams": _cut(above=0.60) for n in range(5, 11)},
                  frac_chars_comments=None, frac_chars_long_word_length=None, frac_lines_prompt_comments=None,
                  frac_lines_assert=None, **_NO_STRINGS,
                  qsc_codehtml_cate_ast=_cut(equals=FALSE), qsc_codehtml_frac_words_text=_cut(below=0.2),
                  qsc_codehtml_num_chars_text=_cut(below=100)),
}

# OpenCoder routes files by linguist type: programming → code, data → data, prose → text, markup →
# code, except these languages (its artifacts/program_to_type.py)
DEFAULT_TYPE_OVERRIDES = {
    "CSS": "data", "SCSS": "data", "PostCSS": "data", "BibTeX": "data",
    "TeX": "text", "MDX": "text", "Rich Text Format": "text", "Roff": "text", "SRecode Template": "text",
    "SQL": "code", "Diff": "code",
}
# languages OpenCoder drops outright (utils/preprocessing.py: excluded_code_langs), lower-case
DEFAULT_EXCLUDED = [
    "adblock filter list", "pic", "postscript", "purebasic", "roff manpage", "unity3d asset", "wavefront object",
    "pickle", "stl", "raw token data", "x pixmap", "2-dimensional array", "ags script", "bicep", "checksums",
    "collada", "csv", "directx 3d file", "e-mail", "g-code", "gerber image", "git revision list", "gnuplot",
    "irc log", "jupyter notebook", "kicad layout", "kicad legacy layout", "kicad schematic", "lasso",
    "linux kernel module", "max", "microsoft developer studio project", "microsoft visual studio solution",
    "pov-ray sdl", "public key", "pure data", "robots.txt", "subrip text", "svg", "tsv", "webvtt"]


class CodeConfig(Section):
    """Stage 6: code files with OpenCoder rule hits, exact + near dedup, secrets redacted (filters/code/)."""

    inputs: InputList = Field(None, description="folders, git checkouts, globs of files, or parquet tables of files "
                                                "(path + content; repo, stars, license, commit date when known)")
    max_hits: int = Field(6, ge=0, description="keep files with at most this many OpenCoder rule hits (hit0..hit6)")
    rules: dict[str, dict[str, Cut | None]] = Field(
        DEFAULT_RULES, validate_default=True, description="profile → rule → cut (OpenCoder's thresholds; merged over the defaults)")
    rule_modules: list[str] = Field([], description="modules that register extra rules (filters/code/rules.RULES)")
    rethreshold: bool = Field(False, description="true: re-decide from stored signals (DIR/code-signals/), no rule runs")
    type_overrides: dict[str, Literal["code", "data", "text"]] = Field(
        DEFAULT_TYPE_OVERRIDES, description="linguist language → doc type, where OpenCoder departs from linguist's type")
    excluded_languages: list[str] = Field(DEFAULT_EXCLUDED, description="languages dropped outright (reason excluded_type)")
    max_file_bytes: int = Field(8_000_000, ge=1, description="larger files are dropped unread (reason too_large)")
    partition_bytes: int = Field(64 << 20, ge=1, description="input bytes per partition (bounds a worker's memory)")
    skip_vendored: bool = Field(True, description="drop files in vendored paths (linguist's vendor list; reason vendored)")
    exact_dedup: bool = Field(True, description="drop files whose content is identical to a better copy (exact_duplicate)")
    near_dedup: bool = Field(True, description="MinHash-LSH near-duplicates with the stage-4 engine (near_duplicate)")
    near_threshold: float = Field(0.85, gt=0, lt=1, description="Jaccard of code-token 5-gram sets to merge at")
    near_ngram: int = Field(5, ge=1, description="tokens per shingle (OpenCoder: 5)")
    near_tokens: Literal["code", "words"] = Field(
        "code", description="shingle tokens: code (identifiers, numbers, and each operator/punctuation "
                            "character) or words (stage 4's: punctuation dropped)")
    redact_secrets: bool = Field(True, description="replace API keys, tokens, private keys, URL passwords, emails")

    @model_validator(mode="before")
    @classmethod
    def _merge_rules(cls, data: Any) -> Any:
        """A user's `rules` changes the defaults rule by rule instead of replacing whole profiles."""
        if isinstance(data, dict) and isinstance(data.get("rules"), dict):
            merged = copy.deepcopy(DEFAULT_RULES)
            for profile, rules in data["rules"].items():
                if isinstance(rules, dict):
                    merged.setdefault(profile, {}).update(rules)
                else:
                    merged[profile] = rules
            data = {**data, "rules": merged}
        return data
