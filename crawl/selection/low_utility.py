"""Low-utility / SEO page detector: thin content, keyword stuffing, link farms, boilerplate-only.

Signals are cheap counts over the visible text and links the crawler already has; thresholds come
from `crawl.low_utility`. Such pages are still recorded; their out-links lose priority and their
site's budget shrinks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from crawl.config import LowUtilityConfig
from crawl.parse import PageInfo

_WORD = re.compile(r"[^\W\d_]{3,}")
# Frequent function words are not "keywords": stuffing is about content words.
_STOP = frozenset(
    "the and for are but not you all any can her was one our out day get has him his how man new now "
    "old see two way who boy did its let put say she too use that with have this will your from they "
    "know want been good much some time very when come here just like long make many more only over "
    "such take than them well were what which their there about would these other into could also "
    "then each may der die und das les des est une".split()
)


@dataclass(frozen=True)
class LowUtility:
    flag: bool
    reasons: str        # comma-separated: thin, keyword_stuffing, link_farm, boilerplate
    quality: float      # 0..1, feeds the priority of the page's out-links


def assess(info: PageInfo, settings: LowUtilityConfig) -> LowUtility:
    reasons = []
    words = info.words
    if words < settings.min_words:
        reasons.append("thin")
    # a 6,000-character sample is plenty to see stuffing and keeps long pages cheap
    content = [w for w in _WORD.findall(info.text[:6000].lower()) if w not in _STOP]
    top_share = 0.0
    if len(content) >= 50:
        top_share = Counter(content).most_common(1)[0][1] / len(content)
        if top_share > settings.max_top_word_share:
            reasons.append("keyword_stuffing")
    link_density = info.link_text_chars / max(1, len(info.text))
    links_per_100 = 100.0 * info.n_links / max(1, words)
    if links_per_100 > settings.max_links_per_100_words and info.n_links >= 20:
        reasons.append("link_farm")
    if link_density > settings.max_link_density and "link_farm" not in reasons:
        reasons.append("boilerplate")
    length_score = min(1.0, words / (4.0 * settings.min_words))
    quality = length_score * (1.0 - min(1.0, link_density)) * (0.3 if reasons else 1.0)
    return LowUtility(bool(reasons), ",".join(reasons), round(quality, 4))
