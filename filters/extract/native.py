"""Our main-content extractor: blocks, their boilerplate evidence, and the best container.

The algorithm (published boilerplate-removal facts, our code):
1. Walk the parsed page once (_blocks.walk, in C). Subtrees that are boilerplate by tag
   (navigation, asides, footers, forms' controls, scripts, media) or hidden (the `hidden`
   attribute, aria-hidden, display:none) are skipped. The rest is cut into blocks at block-level
   tags, as jusText and Boilerpipe segment a page; each block has its length in characters
   (CJK characters weighted: no word counts, so Chinese works), its characters inside links
   (link density, jusText/Boilerpipe) and its sentence punctuation. Block-level elements carry
   class/id/role/itemprop evidence (`evidence` below: words such as comment, share, related,
   sidebar against article, content, post, entry; as readability and trafilatura use them).
2. Each block gets a value: its plain (non-link) length when it reads as text, minus its length
   when it is link-dense (Boilerpipe's link density) or under boilerplate evidence, a small
   minus for short blocks (jusText's short class: only context).
3. The container is the element whose subtree has the largest summed value (a maximum-scoring
   subtree: it takes the text and stops where menus, link lists and comments outweigh it),
   with a bonus for content evidence and <article>/<main> (readability's class weights).
4. Inside it, blocks under boilerplate evidence and link-dense blocks are dropped; the rest
   is the text, one line per block ("- " for list items, " | " between table cells).
A low `confidence` (short text, or a container holding little of the page's text value) is what
the optional cascade (stage.py) hands to trafilatura.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import html as lxml_html

from filters.extract.loader import load_extension

_blocks = load_extension("filters.extract._blocks")

# Evidence bits, as _blocks.pyx reads them.
EV_NEG, EV_POS, EV_SKIP, EV_STRONG, EV_WEAK, EV_COMMENT = 1, 2, 4, 8, 16, 32

# class/id words of boilerplate and of content (readability's and trafilatura's heuristics use
# such lists; matched as whole words of the value, camelCase and -_ split).
NEGATIVE_WORDS = frozenset("""
    nav navbar navigation menu menubar submenu breadcrumb breadcrumbs footer sidebar comment
    comments commentlist disqus reply replies respond share sharing sharer social related
    recommended cookie cookies consent gdpr newsletter subscribe subscription signup login popup
    modal pagination pager outbrain taboola shoutbox skip teaser teasers readmore recirc paywall
""".split())
WEAK_NEGATIVE_WORDS = frozenset("""
    side aside widget widgets discuss discussion follow recommend recommendations trending popular
    more advert advertisement advertising ads ad sponsor sponsored promo promotion banner toolbar
    paging tags tagcloud taglist masthead rss print byline meta author bio copyright contact legal
    disclaimer foot crumbs overlay register rail extra supplemental donate caption credit credits
    download rating vote
""".split())
POSITIVE_WORDS = frozenset("""
    article articles articlebody content contents entry post posts story stories text body main
    blog hentry prose richtext rte markdown
""".split())
HIDDEN_VALUES = frozenset("hidden hide invisible sr-only visually-hidden screen-reader-text d-none".split())
SKIP_ROLES = frozenset("navigation banner contentinfo complementary search menu menubar dialog alert".split())
COMMENT_WORDS = frozenset("comment comments commentlist disqus reply replies respond".split())
STRONG_ROLES = frozenset(("main", "article"))
STRONG_ITEMPROPS = frozenset(("articlebody", "reviewbody"))
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def evidence(key: bytes) -> int:
    """Evidence bits of an element from `class\\0id\\0role\\0itemprop` (values as in the page)."""
    class_, id_, role, itemprop = key.decode("utf-8", "replace").split("\0")
    role, itemprop = role.strip().lower(), itemprop.strip().lower()
    if role in SKIP_ROLES:
        return EV_SKIP
    bits = EV_STRONG if role in STRONG_ROLES or itemprop in STRONG_ITEMPROPS else 0
    words = {w.lower() for w in _WORD.findall(f"{class_} {id_}")}
    if {v.lower() for v in class_.split()} & HIDDEN_VALUES:
        return EV_SKIP
    if words & NEGATIVE_WORDS:
        bits |= EV_NEG | (EV_COMMENT if words & COMMENT_WORDS else 0)
    elif words & WEAK_NEGATIVE_WORDS:
        bits |= EV_WEAK
    if words & POSITIVE_WORDS:
        bits |= EV_POS
    return bits


@dataclass(frozen=True)
class NativeSettings:
    link_bad: float = 0.5       # link characters / characters above which a block is boilerplate
    short_chars: float = 30     # blocks shorter than this (weighted characters) are context only
    short_value: float = -0.2   # value per character of a short block
    link_value: float = -1.0    # value per character of a link-dense block
    neg_value: float = -0.3     # value per character of a block under boilerplate evidence
    pos_bonus: float = 1.1      # container factor for content words in class/id
    strong_bonus: float = 1.3   # container factor for itemprop=articleBody / role=main
    article_bonus: float = 1.1  # container factor for <article> / <main>
    cjk_weight: float = 2.0     # a CJK character counts as this many characters
    weak_prose: float = 300     # weak boilerplate words count on elements with less prose
    box_chars: float = 1000     # inside the container, a box shorter than this...
    box_link: float = 0.4       # ...with a larger share of link characters is a link list
    teaser_prose: float = 400   # a box with a linked heading and less prose is a teaser
    short_context: int = 0      # 1: a short block needs text on both sides to stay; 0: on one
    sibling_share: float = 0.2  # a sibling of the container scoring this share of it joins it
    sibling_min: float = 100    # (and at least this much)
    neg_share: float = 0.5      # boilerplate words are void on an element holding this share of the prose
    low_confidence_chars: int = 250  # a shorter text has low confidence


@dataclass
class NativeResult:
    text: str
    confidence: float  # 0..1: the container's share of the page's text value, 0 when short


_CACHE: dict[bytes, int] = {}
DEFAULT = NativeSettings()


def settings() -> dict:
    """The settings in force, for the manifest."""
    return dict(DEFAULT.__dict__)


def extract(tree: lxml_html.HtmlElement, settings: NativeSettings = DEFAULT) -> NativeResult:
    """Main text of a parsed page (html.parse) and how sure we are of it."""
    page = _blocks.walk(tree, _CACHE, evidence)
    text, kept, score, positive = page.select(settings.__dict__)
    if kept < settings.low_confidence_chars or positive <= 0:
        confidence = 0.0
    else:
        confidence = max(0.0, min(1.0, score / positive))
    return NativeResult(text=text, confidence=confidence)
