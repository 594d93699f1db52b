"""Low-utility / SEO page detector: thin content, keyword stuffing, link farms, and the
WebOrganizer format label (Spam / Ads, Product Page...).

Signals are cheap counts over the visible text and links the crawler already has, plus the page
classifier's format; thresholds come from `crawl.low_utility`. A flagged page keeps its reasons in
its stage-1 row and its WARC response record (`StepCrawl-Low-Utility`); stage 2 drops it
(`extract:low_utility`, `extract.drop_low_utility`), and during the crawl its out-links lose
priority and its site's budget shrinks.

How the format takes part: a page the classifier puts in one of `formats` is judged with every
threshold `format_factor` times stricter (fewer words is thin, a smaller top-word share is
stuffing, a lower link density is a farm), and with at least `format_min_confidence` the format
alone flags it (reason "format"). The distilled format head is modest (0.39 agreement with its
teacher), so by default it only tightens the thresholds: its confidence on real pages stays far
below 0.6.

Thresholds were set from real good pages (tests/crawl/test_low_utility.py measures them): the
219 trafilatura evaluation pages and python3-doc's pages other than its tables of contents and
indexes. A chapter's table of contents or the general index is a list of links, and is flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from crawl.config import LowUtilityConfig
from crawl.parse import PageInfo
from filters.segment import UNSPACED_RANGES

_WORD = re.compile(r"[^\W\d_]{3,}")
_UNSPACED_RUN = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi - 1)}" for lo, hi in UNSPACED_RANGES) + "]+")
# Frequent function words are not "keywords": stuffing is about content words.
_STOP = frozenset(
    "the and for are but not you all any can her was one our out day get has him his how man new now "
    "old see two way who boy did its let put say she too use that with have this will your from they "
    "know want been good much some time very when come here just like long make many more only over "
    "such take than them well were what which their there about would these other into could also "
    "then each may der die und das les des est une".split()
    # Chinese function-word bigrams
    + "我们 他们 你们 一个 没有 这个 那个 什么 可以 就是 因为 所以 但是 如果 已经 自己 这些 那些 时候 "
    "还是 以及 进行 通过 其中 之后 以上 一些 不是 这样 的是 了一 是一 也是 都是 还有 不会 可能".split()
)
REASONS = ("thin", "keyword_stuffing", "link_farm", "format")


@dataclass(frozen=True)
class LowUtility:
    flag: bool
    reasons: str        # comma-separated, from REASONS
    quality: float      # 0..1, feeds the priority of the page's out-links


def assess(info: PageInfo, settings: LowUtilityConfig, page_format: str | None = None,
           format_confidence: float | None = None) -> LowUtility:
    suspect = bool(page_format) and page_format in settings.formats
    strict = settings.format_factor if suspect else 1.0  # < 1: stricter thresholds
    reasons = []
    words = info.words
    if words < settings.min_words / strict:
        reasons.append("thin")
    # a 6,000-character sample is plenty to see stuffing and keeps long pages cheap
    content = [w for w in _content_words(info.text[:6000].lower()) if w not in _STOP]
    if len(content) >= 50:
        top_share = Counter(content).most_common(1)[0][1] / len(content)
        if top_share > settings.max_top_word_share * strict:
            reasons.append("keyword_stuffing")
    link_density = info.link_text_chars / max(1, len(info.text))
    links_per_100 = 100.0 * info.n_links / max(1, words)
    if (link_density > settings.max_link_density * strict
            and links_per_100 > settings.max_links_per_100_words * strict
            and info.n_links >= settings.min_links * strict):
        reasons.append("link_farm")
    if suspect and (format_confidence or 0.0) >= settings.format_min_confidence:
        reasons.append("format")
    length_score = min(1.0, words / (4.0 * settings.min_words))
    quality = length_score * (1.0 - min(1.0, link_density)) * (0.3 if reasons else 1.0)
    return LowUtility(bool(reasons), ",".join(reasons), round(quality, 4))


def _content_words(text: str) -> list[str]:
    """Words of 3+ letters of spaced scripts, and the character bigrams of unspaced-script runs."""
    runs = _UNSPACED_RUN.findall(text)
    bigrams = [run[i:i + 2] for run in runs for i in range(len(run) - 1)]
    return _WORD.findall(_UNSPACED_RUN.sub(" ", text)) + bigrams
