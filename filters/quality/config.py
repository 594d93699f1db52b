"""Stage 3 config: the `quality:` section, with the rule sets' thresholds (datatrove's defaults)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from filters.quality.languages import ZH_STOP_WORDS
from pipeline.config import InputList, Section


class GopherQualityConfig(Section):
    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: float = 3
    max_avg_word_length: float = 10
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    stop_words: list[str] = Field(["the", "be", "to", "of", "and", "that", "have", "with"],
                                  description="distinct stop words counted (exact match; Gopher's English list)")


class GopherRepetitionConfig(Section):
    dup_line_frac: float = 0.3
    dup_para_frac: float = 0.3
    dup_line_char_frac: float = 0.2
    dup_para_char_frac: float = 0.2
    top_n_grams: dict[int, float] = {2: 0.2, 3: 0.18, 4: 0.16}
    dup_n_grams: dict[int, float] = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.1}


class C4Config(Section):
    filter_no_terminal_punct: bool = Field(True, description="FineWeb's pipeline sets false")
    min_num_sentences: int = 5
    min_words_per_line: int = 3
    max_word_length: int = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


class FineWebConfig(Section):
    line_punct_thr: float = 0.12
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = Field(0.01, description="datatrove code default (the FineWeb blog says 0.1)")
    new_line_ratio: float = 0.3


class RulesConfig(Section):
    """Thresholds of the rule sets (datatrove defaults; ../shared/reference/algorithms.md §3)."""

    gopher_quality: GopherQualityConfig = GopherQualityConfig()
    gopher_repetition: GopherRepetitionConfig = GopherRepetitionConfig()
    c4: C4Config = C4Config()
    fineweb: FineWebConfig = FineWebConfig()


class ZhGopherQualityConfig(GopherQualityConfig):
    """FineWeb-2 cmn_Hani (languages.py): words are jieba's."""

    min_avg_word_length: float = 1
    max_avg_word_length: float = 5
    min_alpha_words_ratio: float = 0.735
    stop_words: list[str] = Field(list(ZH_STOP_WORDS), description="FineWeb-2's cmn_Hani stop words")


class ZhGopherRepetitionConfig(GopherRepetitionConfig):
    dup_line_frac: float = 0.287
    top_n_grams: dict[int, float] = {2: 0.256, 3: 0.201, 4: 0.171}
    dup_n_grams: dict[int, float] = {5: 0.198, 6: 0.182, 7: 0.167, 8: 0.154, 9: 0.14, 10: 0.127}


class ZhC4Config(C4Config):
    filter_no_terminal_punct: bool = Field(False, description="C4's . ? ! line ends are English; FineWeb-2 runs no C4 filter")
    min_num_sentences: int = 0


class ZhFineWebConfig(FineWebConfig):
    line_punct_thr: float = 0.106
    new_line_ratio: float = 0.178


class ZhRulesConfig(RulesConfig):
    """Thresholds for Chinese documents (language zh*): FineWeb-2's cmn_Hani settings (languages.py)."""

    gopher_quality: ZhGopherQualityConfig = ZhGopherQualityConfig()
    gopher_repetition: ZhGopherRepetitionConfig = ZhGopherRepetitionConfig()
    c4: ZhC4Config = ZhC4Config()
    fineweb: ZhFineWebConfig = ZhFineWebConfig()


class CalibrationConfig(Section):
    mode: Literal["reference", "run"] = Field(
        "reference", description="reference: cut points from the fixed real web sample shipped with the models "
                                 "(models/calibration.json, per language), so tiers mean the same on every corpus; "
                                 "run: percentiles of this run's own sample")
    reference: str | None = Field(None, description="a calibration.json from `train calibration --out`; null: the shipped one")
    sample_rows: int = Field(20000, ge=1, description="mode run: rows scored to calibrate (all rows when fewer)")
    recalibrate: bool = Field(False, description="true: rebuild the run's saved calibration instead of re-using it")


class FastTextConfig(Section):
    model: str | None = Field(None, description="path to a fastText .bin/.ftz (DCLM's works); null: the packaged default")
    label: str = Field("__label__hq", description="label whose probability is the score")


class EduConfig(Section):
    head: str | None = Field(None, description="the .npz head from `train edu --out` (static MiniLM embedding + "
                                               "WordPiece TF-IDF); null: the shipped one (English; zh docs get none)")


class PerplexityConfig(Section):
    model: str | None = Field(None, description="English .npz n-gram LM from `train perplexity --out`; null: shipped")
    model_zh: str | None = Field(None, description="Chinese .npz LM from `train perplexity --lang zh --out`; null: shipped")


class QualityConfig(Section):
    """Stage 3: six scorers → 20 buckets → 5 tiers; keep by content type (filters/quality/)."""

    renamed = {"input": "inputs"}

    inputs: InputList = Field(None, description="parquet globs/tables (need id, text) read instead of the stage-2 parts")
    scorers: list[str] = Field(["gopher_quality", "gopher_repetition", "lines", "fasttext_quality", "edu", "perplexity"],
                               description="names in the scorer registry (filters/quality/scorers.py)")
    scorer_modules: list[str] = Field([], description="extra modules to import; they register more scorers (filters/registry.py)")
    ensemble: Literal["mean", "vote", "max"] = Field(
        "mean", description="mean | vote (median bucket) | max (Nemotron-CC) of the per-scorer buckets; mean/vote are "
                            "re-binned to token percentiles. max with rule scorers in the mix lets one lenient scorer "
                            "promote boilerplate (see filters/quality/README.md)")
    weights: dict[str, float] = Field(
        {"gopher_quality": 0.25, "gopher_repetition": 0.25, "lines": 0.25},
        description="weight of a scorer's bucket in the mean ensemble (unlisted: 1); the rule scores are pass/fail "
                    "margins that rank poorly (filters/quality/README.md), so they count a quarter")
    tiers: dict[str, list[int]] = Field(
        {"high": [17, 19], "medium_high": [14, 16], "medium": [10, 13], "medium_low": [6, 9], "low": [0, 5]},
        description="ensemble bucket ranges (inclusive) per tier")
    profile: Literal["pretrain", "annealing"] = Field("pretrain", description="which keep rule applies")
    keep_tiers: list[str] = Field(["high", "medium_high", "medium"], description="kept tiers for every content_type without an override")
    keep_overrides: list[dict[str, str | list[str]]] = Field(
        [{"profile": "annealing", "content_type": "Book", "tiers": ["high", "medium_high"]},
         {"profile": "annealing", "content_type": "Paper", "tiers": ["high", "medium_high"]}],
        description='first matching (profile, content_type) wins; "*" matches any')
    hard_rules: list[Literal["gopher_quality", "gopher_repetition", "c4", "fineweb"]] = Field(
        [], description="rule sets whose failure drops a doc outright")
    calibration: CalibrationConfig = CalibrationConfig()
    rethreshold: bool = Field(False, description="true: re-decide from stored scores (DIR/quality-scores/), no scorer runs")
    domain_cap: float = Field(0.0, ge=0, le=1, description="max share of kept bytes from one domain (0 = off); excess sampled away by hash")
    stem_weight: float = Field(1.0, ge=0, description="sample_weight for STEM/knowledge-dense docs (>1 up-weights; exempt from the cap)")
    stem_threshold: float = Field(0.02, ge=0, description="share of words that are STEM vocabulary/math marks to count as STEM")
    fasttext: FastTextConfig = FastTextConfig()
    edu: EduConfig = EduConfig()
    perplexity: PerplexityConfig = PerplexityConfig()
    rules: RulesConfig = RulesConfig()
    rules_zh: ZhRulesConfig = ZhRulesConfig()
