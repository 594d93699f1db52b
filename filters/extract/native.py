"""Our main-content extractor: text blocks, boilerplate evidence, the best-scoring container.

The algorithm (published boilerplate-removal facts; the code is ours, the hot part in C):
1. Segment (_blocks.walk, one pass in C over the libxml2 tree). Scripts, styles, forms'
   controls, media, figure captions and really hidden elements (`hidden`, aria-hidden,
   display:none) are skipped; <noscript> and <figure> are read (a page rendered by script
   keeps its text in <noscript>; a figure may hold a table). The text is cut into blocks at
   block-level tags, as jusText and Boilerpipe segment a page; each block has its length in
   characters (no word counts: a CJK character weighs `cjk_weight`, so Chinese and English
   compare), its characters inside links (link density; those of links to a place in the same
   page, href="#..." or a named anchor <a name> without href, apart) and its sentence punctuation. Block-level elements carry
   class/id/role/itemprop evidence (whole words such as comment, share, related, sidebar, nav
   against article, content, post, entry, as readability and trafilatura weigh them);
   nav/aside/footer/menu/form, boilerplate roles (navigation, banner, complementary...) and hiding
   classes ("hidden", "sr-only"...) are boilerplate evidence, never a reason to skip a subtree:
   a page whose parser nests the article inside its unclosed banner, or a responsive
   "hidden lg:flex" wrapper, keeps its text (step 3 voids the evidence there).
2. Value each block (Boilerpipe's shallow features, jusText's classes): its plain text length
   when it is long enough to be prose (a one-line paragraph of prose length counts whole however
   much of it is linked: wiki prose); minus its length when it is link-dense or under
   boilerplate evidence; a small minus when it is short (context only).
3. The container is the element whose subtree sums the largest value (a maximum-scoring
   subtree: it grows while text outweighs menus, link lists and comments; a box worth less than
   nothing weighs `negative_damping` of its value in its parent), times readability-like
   bonuses for content evidence, itemprop=articleBody/role=main and <article>/<main> (never
   for <body>); a paragraph or heading is no container (its parent is), and the container grows to
   its parent while that adds more than a short block's value (a lead paragraph in its own box
   above an article body that won the content bonus). Boilerplate evidence is
   void on the container found without it and its ancestors, and on elements holding
   `neg_share` of the prose (a wrapper named "has-sidebar", an <aside> around the article);
   comment sections stay boilerplate, unless the page has less than `forum_prose` of prose
   outside them and twice that inside (a forum thread: the posts are the text). If no text is
   left outside boilerplate evidence (a page of teasers), the evidence is ignored; if there is
   no prose but in headings, long headings read as prose; if there is no prose at all (a page of
   captions and short lines), short blocks count as prose.
4. Inside the container, boxes are dropped when they carry boilerplate evidence, are short link
   lists (`box_link`, `box_prose`: links, and neither prose nor sentences), or are teasers (a box
   opening with a heading linked elsewhere, over little prose, beside another such box: teasers
   come in lists, while a blog links a lone post's title to its permalink); link-dense blocks are dropped,
   except one-line paragraphs of prose length and headings. Short blocks and headings stay by
   context (jusText): a heading when good text follows it within 200 characters (jusText's
   max_heading_distance: a byline or date may sit between), a short block when text is on one side of
   it. The kept blocks are the text, one line each ("- " before list items, " | " between the
   cells of a table row).
`confidence` (0 for short results, else the container's share of the page's positive value)
is what the optional cascade (html.py, extract.fallback_below_confidence) hands to trafilatura.
"""

from __future__ import annotations

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
    modal pagination pager outbrain taboola shoutbox skip readmore recirc author byline syndication
""".split())
WEAK_NEGATIVE_WORDS = frozenset("""
    teaser teasers aside discuss discussion follow recommend recommendations trending popular
    more advert advertisement advertising ads ad sponsor sponsored promo promotion banner toolbar
    paging tags tagcloud taglist masthead rss print meta bio copyright contact legal
    disclaimer foot crumbs overlay register rail extra supplemental donate caption credit credits
    download rating vote community embed
""".split())
POSITIVE_WORDS = frozenset("""
    article articles articlebody content contents entry post posts story stories text body main
    blog hentry prose richtext rte markdown
""".split())
HIDDEN_VALUES = frozenset("hidden hide invisible sr-only visually-hidden screen-reader-text d-none".split())
BOILERPLATE_ROLES = frozenset("navigation banner contentinfo complementary search menu menubar dialog alert".split())
COMMENT_WORDS = frozenset("comment comments commentlist disqus reply replies respond".split())
STRONG_ROLES = frozenset(("main", "article"))
STRONG_ITEMPROPS = frozenset(("articlebody", "reviewbody"))


# The vocabulary handed to the walk, which classifies each class/id/role/itemprop set once (in
# C: on a fresh process ~26,000 distinct sets on the 215 evaluation pages). Rules: a role in
# BOILERPLATE_ROLES or a class value in HIDDEN_VALUES is boilerplate evidence; words (ASCII letter runs of
# class and id, camelCase and -_ split) in NEGATIVE_WORDS make it boilerplate (COMMENT_WORDS:
# a comment section), else in WEAK_NEGATIVE_WORDS weak boilerplate; POSITIVE_WORDS content;
# role main/article and itemprop articleBody/reviewBody strong content.
_F_NEG, _F_COMMENT, _F_WEAK, _F_POS = 1, 2, 4, 8


def _vocabulary() -> tuple[dict[str, int], frozenset[str], dict[str, int], dict[str, int]]:
    words: dict[str, int] = {}
    for flag, listed in ((_F_NEG, NEGATIVE_WORDS), (_F_COMMENT, COMMENT_WORDS),
                         (_F_WEAK, WEAK_NEGATIVE_WORDS), (_F_POS, POSITIVE_WORDS)):
        for word in listed:
            words[word] = words.get(word, 0) | flag
    roles = {role: EV_NEG for role in BOILERPLATE_ROLES} | {role: EV_STRONG for role in STRONG_ROLES}
    return words, HIDDEN_VALUES, roles, {value: EV_STRONG for value in STRONG_ITEMPROPS}


_blocks.set_vocabulary(*_vocabulary())


@dataclass(frozen=True)
class NativeSettings:
    link_bad: float = 0.5       # link characters / characters above which a block is boilerplate
    short_chars: float = 40     # blocks shorter than this (weighted characters) are context only
    short_value: float = -0.2   # value per character of a short block
    link_value: float = -1.0    # value per character of a link-dense block
    neg_value: float = -0.3     # value per character of a block under boilerplate evidence
    pos_bonus: float = 1.1      # container factor for content words in class/id
    strong_bonus: float = 1.3   # container factor for itemprop=articleBody / role=main
    article_bonus: float = 1.1  # container factor for <article> / <main>
    cjk_weight: float = 2.0     # a CJK character counts as this many characters
    weak_prose: float = 300     # weak boilerplate words count on elements with less prose
    box_chars: float = 1000     # inside the container, a box shorter than this...
    box_link: float = 0.3       # ...with a larger share of link characters...
    box_prose: float = 100      # ...and less prose than this is a link list
    long_heading: float = 120   # on pages without other prose, a heading this long reads as prose
    teaser_prose: float = 400   # a box with a linked heading and less prose, beside another, is a teaser
    short_context: int = 0      # 1: a short block needs text on both sides to stay; 0: on one
    negative_damping: float = 0.7  # share of a negative box's value that counts in its parent
    linked_prose: float = 80   # a paragraph this long stays in the container however linked
    neg_share: float = 0.5      # boilerplate words are void on an element holding this share of the prose
    forum_prose: float = 500    # less prose outside comment sections, and twice that in them: a thread
    low_confidence_chars: int = 250  # a shorter text has low confidence


@dataclass
class NativeResult:
    text: str
    confidence: float  # 0..1: the container's share of the page's text value, 0 when short


DEFAULT = NativeSettings()


def settings() -> dict:
    """The settings in force, for the manifest."""
    return dict(DEFAULT.__dict__)


def walk(tree: lxml_html.HtmlElement):
    """The page's blocks, block-level elements and metadata (_blocks.Page)."""
    return _blocks.walk(tree)


def select(page, settings: NativeSettings = DEFAULT) -> NativeResult:
    """The main text of a walked page and how sure we are of it."""
    text, kept, score, positive = page.select(settings.__dict__)
    if kept < settings.low_confidence_chars or positive <= 0:
        confidence = 0.0
    else:
        confidence = max(0.0, min(1.0, score / positive))
    return NativeResult(text=text, confidence=confidence)


def extract(tree: lxml_html.HtmlElement, settings: NativeSettings = DEFAULT) -> NativeResult:
    """Main text of a parsed page (html.parse) and how sure we are of it."""
    return select(walk(tree), settings)
