"""Per-language rule settings: Gopher/C4/FineWeb rules written for English do not transfer to Chinese.

Chinese (`zh*` language codes) uses FineWeb-2's published thresholds (config.py: `quality.rules_zh`,
the Zh*Config classes) for cmn_Hani
(github.com/huggingface/fineweb-2, configs/cmn_Hani.yml: statistics-derived per language), with
words cut by jieba (filters/segment.py `spaced`), as FineWeb-2's word tokenizer for Chinese does:

| rule set | setting | en (datatrove) | zh (FineWeb-2 cmn_Hani) |
|---|---|---|---|
| gopher_quality | avg word length | 3..10 | 1..5 |
| gopher_quality | min share of words with a letter | 0.8 | 0.735 |
| gopher_quality | stop words (>= 2 distinct) | the, be, to, of, and, that, have, with | 的 年 在 月 是 和 日 了 於 · 為 有 被 人 中 为 他 與 後 也 而 由 |
| gopher_repetition | dup line fraction | 0.3 | 0.287 |
| gopher_repetition | top 2/3/4-gram char share | 0.20 / 0.18 / 0.16 | 0.256 / 0.201 / 0.171 |
| gopher_repetition | dup 5..10-gram char share | 0.15 .. 0.10 | 0.198 / 0.182 / 0.167 / 0.154 / 0.140 / 0.127 |
| fineweb | lines ending in terminal punctuation | 0.12 | 0.106 |
| fineweb | new lines per word | 0.3 | 0.178 |
| c4 | terminal punctuation per line, >= 5 sentences | on | off (C4's "." "?" "!" rules are English; FineWeb-2 runs no C4 filter) |

CCNet's perplexity cut-offs are percentiles of each language's own perplexity distribution
(head/middle/tail at 30/60%): here the per-language reference calibration (calibration.py) plays
that role for our own LM, whose values are not CCNet's. Any language other than zh uses the English
settings (as before).
"""

from __future__ import annotations

ZH_STOP_WORDS = ("的", "年", "在", "月", "是", "和", "日", "了", "於", "·", "為", "有", "被", "人",
                 "中", "为", "他", "與", "後", "也", "而", "由")

def model_language(code: str | None) -> str:
    """The language whose models and settings a document uses: "zh" for any zh* code, else "en"."""
    return "zh" if (code or "").lower().startswith("zh") else "en"
