# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: language = c++
"""The native extractor's walk and block selection in C (Cython over lxml's public C API).

walk(): one pass over the libxml2 tree of a page. Boilerplate tags (scripts, navigation, forms'
controls, media...) and hidden elements are skipped with their subtree; the remaining text is cut
into blocks at block-level tags (paragraphs, headings, list items, table cells, divs...), each
with its length in characters, its characters inside links and its sentence punctuation; every
block-level element gets its parent, its tag and its class/id evidence (native.evidence, cached
per attribute set).
Page.select(): the block values and the content container (see native.py for the algorithm),
then the text of the kept blocks, one line per block. Both run in C: on a page of a few thousand
elements the walk is ~100 times cheaper than the same walk through lxml's Python API, and the
scoring loops touch every element. The time limit (SIGALRM, timeout.py) is honoured inside:
PyErr_CheckSignals every 4096 nodes.
"""

from cpython.exc cimport PyErr_CheckSignals
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memchr, strcmp, strlen
from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector
from cython.operator cimport dereference as deref

cimport lxml.includes.etreepublic as cetree
from lxml.includes cimport tree

cetree.import_lxml__etree()

cdef extern from *:
    """
    #include <string.h>
    enum {
        T_INLINE = 0, T_SKIP, T_BR, T_HR, T_A, T_P, T_H, T_LI, T_DT, T_CELL, T_ROW, T_TABLE,
        T_LIST, T_PRE, T_QUOTE, T_CAPTION, T_ARTICLE, T_MAIN, T_BODY, T_HEADER, T_DIV, T_ASIDE, T_FORM, T_HEAD, T_META, T_TITLE, T_TIME
    };
    typedef struct { const char *name; int code; } TagEntry;
    /* HTML tag names (libxml2 lower-cases them) -> what the walk does with them. */
    static const TagEntry TAGS[] = {
        {"a", T_A}, {"p", T_P}, {"br", T_BR}, {"hr", T_HR}, {"li", T_LI}, {"dt", T_DT}, {"dd", T_DT},
        {"td", T_CELL}, {"th", T_CELL}, {"tr", T_ROW}, {"table", T_TABLE}, {"thead", T_TABLE},
        {"tbody", T_TABLE}, {"tfoot", T_TABLE}, {"ul", T_LIST}, {"ol", T_LIST}, {"dl", T_LIST},
        {"pre", T_PRE}, {"blockquote", T_QUOTE}, {"caption", T_CAPTION},
        {"article", T_ARTICLE}, {"main", T_MAIN}, {"body", T_BODY}, {"html", T_BODY},
        {"header", T_HEADER}, {"h1", T_H}, {"h2", T_H}, {"h3", T_H}, {"h4", T_H}, {"h5", T_H},
        {"h6", T_H}, {"div", T_DIV}, {"section", T_DIV}, {"center", T_DIV}, {"address", T_DIV},
        {"fieldset", T_DIV}, {"details", T_DIV}, {"summary", T_DIV}, {"hgroup", T_DIV},
        {"figure", T_DIV}, {"figcaption", T_SKIP}, {"form", T_FORM}, {"legend", T_DIV}, {"dir", T_LIST}, {"noscript", T_DIV},
        {"script", T_SKIP}, {"style", T_SKIP}, {"template", T_SKIP}, {"svg", T_SKIP},
        {"math", T_SKIP}, {"iframe", T_SKIP}, {"object", T_SKIP}, {"embed", T_SKIP},
        {"canvas", T_SKIP}, {"video", T_SKIP}, {"audio", T_SKIP}, {"map", T_SKIP},
        {"select", T_SKIP}, {"option", T_SKIP}, {"optgroup", T_SKIP}, {"textarea", T_SKIP},
        {"input", T_SKIP}, {"button", T_SKIP}, {"nav", T_ASIDE}, {"aside", T_ASIDE},
        {"footer", T_ASIDE}, {"menu", T_ASIDE}, {"dialog", T_SKIP}, {"head", T_HEAD},
        {"title", T_TITLE}, {"meta", T_META}, {"time", T_TIME}, {"frameset", T_SKIP}, {"frame", T_SKIP}, {"noframes", T_SKIP},
        {"applet", T_SKIP}, {"datalist", T_SKIP}, {"source", T_SKIP}, {"track", T_SKIP},
        {"picture", T_SKIP}, {"label", T_INLINE}, {NULL, 0}
    };
    static int tag_scan(const char *name) {
        for (const TagEntry *t = TAGS; t->name; t++)
            if (name[0] == t->name[0] && strcmp(name, t->name) == 0) return t->code;
        return T_INLINE;
    }
    /* libxml2 interns a document's tag names: one scan per distinct name pointer and walk
       (tag_cache_reset() before each walk: another document's dictionary may reuse addresses). */
    static const char *tag_cache_name[256];
    static int tag_cache_code[256];
    static void tag_cache_reset(void) { memset(tag_cache_name, 0, sizeof(tag_cache_name)); }
    static int tag_code(const char *name) {
        size_t slot = ((size_t) name >> 4) & 255;
        if (tag_cache_name[slot] == name) return tag_cache_code[slot];
        int code = tag_scan(name);
        tag_cache_name[slot] = name;
        tag_cache_code[slot] = code;
        return code;
    }
    static int is_block(int code) { return code >= T_HR && code != T_A && code <= T_HEAD; }

    /* true when a style attribute hides the element: display:none or visibility:hidden */
    static int hides(const char *style) {
        const char *keys[2] = {"display", "visibility"};
        const char *values[2] = {"none", "hidden"};
        for (int k = 0; k < 2; k++) {
            const char *s = style;
            size_t n = strlen(keys[k]);
            while ((s = strstr(s, keys[k])) != NULL) {
                s += n;
                while (*s == ' ') s++;
                if (*s != ':') continue;
                s++;
                while (*s == ' ') s++;
                if (strncmp(s, values[k], strlen(values[k])) == 0) return 1;
            }
        }
        return 0;
    }

    /* Length of the UTF-8 sequence starting with byte c. */
    static inline int seq_len(unsigned char c) {
        return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
    /* Whitespace, collapsed to one space as str.split() sees it: ASCII spaces, NBSP (C2 A0),
       the ideographic space (E3 80 80), U+2000-U+200A, U+202F, U+205F. */
    static inline int space_at(const unsigned char *s, int n) {
        if (n == 1) return s[0] == ' ' || s[0] == '\\n' || s[0] == '\\t' || s[0] == '\\r' || s[0] == '\\f' || s[0] == '\\v';
        if (n == 2) return s[0] == 0xC2 && s[1] == 0xA0;
        if (n == 3 && s[0] == 0xE3) return s[1] == 0x80 && s[2] == 0x80;
        if (n == 3 && s[0] == 0xE2 && s[1] == 0x80) return s[2] <= 0x8A || s[2] == 0xAF;
        if (n == 3 && s[0] == 0xE2 && s[1] == 0x81) return s[2] == 0x9F;
        return 0;
    }
    /* Sentence punctuation, Latin and CJK (fullwidth and ideographic forms). */
    static inline int punct_at(const unsigned char *s, int n) {
        if (n == 1) return s[0] == '.' || s[0] == ',' || s[0] == ';' || s[0] == ':' || s[0] == '!' || s[0] == '?';
        if (n == 3 && s[0] == 0xE3 && s[1] == 0x80) return s[2] == 0x81 || s[2] == 0x82;  /* 、。 */
        if (n == 3 && s[0] == 0xEF && s[1] == 0xBC)  /* ！，：；？ */
            return s[2] == 0x81 || s[2] == 0x8C || s[2] == 0x9A || s[2] == 0x9B || s[2] == 0x9F;
        return 0;
    }
    """
    int T_INLINE, T_SKIP, T_BR, T_HR, T_A, T_P, T_H, T_LI, T_DT, T_CELL, T_ROW, T_TABLE
    int T_LIST, T_PRE, T_QUOTE, T_CAPTION, T_ARTICLE, T_MAIN, T_BODY, T_HEADER, T_DIV, T_ASIDE, T_FORM
    int T_HEAD, T_META, T_TITLE, T_TIME
    int tag_code(const char *name) nogil
    void tag_cache_reset() nogil
    int is_block(int code) nogil
    int hides(const char *style) nogil
    int seq_len(unsigned char c) nogil
    int space_at(const unsigned char *s, int n) nogil
    int punct_at(const unsigned char *s, int n) nogil

# Evidence bits (native.evidence computes them from class, id, role and itemprop).
cdef enum:
    EV_NEG = 1      # boilerplate words (navigation, comments, sharing, related links, ads...)
    EV_POS = 2      # content words (article, content, post, entry, story, text...)
    EV_SKIP = 4     # dropped with its subtree (no class/id/role value does this: see _classify)
    EV_STRONG = 8   # the page says so (itemprop=articleBody, role=main)
    EV_WEAK = 16    # weaker boilerplate words (ads, meta, tags, widget...): only without prose
    EV_COMMENT = 32 # comment sections: boilerplate even when they hold most of the page's text

cdef enum:
    GOOD = 1
    BAD = 2
    SHORT = 3
    HEADING = 4

cdef struct Element:
    int parent
    int code
    int evidence
    int end          # index of its last descendant element
    int neg          # an ancestor or itself carries boilerplate evidence (mark_boilerplate)
    int own_neg      # itself
    int row          # nearest table row at or above it, or -1
    int depth
    tree.xmlNode* node  # for inspection (element_label); valid while the parsed tree lives

cdef struct Block:
    int owner        # innermost block-level element
    size_t start     # text in Page.text (UTF-8)
    size_t length
    int chars        # characters other than whitespace
    int link_chars   # of which inside links
    int anchor_chars # of which inside links to a place in the same page (href="#...")
    int punct        # sentence punctuation
    int cjk          # CJK characters (lengths weigh by script: see native.py)


cdef struct Params:
    double link_bad          # a block with more link characters than this share is boilerplate
    double short_chars       # a block shorter than this (weighted characters) is only context
    double short_value       # value per character of a short block (<= 0)
    double link_value        # value per character of a link-dense block (<= 0)
    double neg_value         # value per character of a block under boilerplate evidence (<= 0)
    double pos_bonus         # container score factor for content evidence
    double strong_bonus      # container score factor for explicit main-content markup
    double article_bonus     # container score factor for <article>/<main>
    double cjk_weight        # a CJK character counts as this many characters in lengths
    double weak_prose        # weak boilerplate evidence counts on elements with less prose than this
    double box_chars         # inside the container, a box shorter than this...
    double box_link          # ...with more link characters than this share...
    double box_prose         # ...and less prose than this is a link list
    double long_heading      # a heading this long reads as prose
    double teaser_prose      # a box with a linked heading and less prose than this is a teaser
    int short_context        # 1: a short block needs good text on both sides; 0: on one side
    double negative_damping  # share of a negative subtree's value that counts in its parent
    double linked_prose      # a paragraph this long stays in the container however linked
    double neg_share         # boilerplate evidence is void on an element with this share of the prose
    double forum_prose       # a page with less prose outside comment sections (and twice as much in them) is a thread


cdef Params _params(dict settings) except *:
    cdef Params p
    p.link_bad = settings["link_bad"]
    p.short_chars = settings["short_chars"]
    p.short_value = settings["short_value"]
    p.link_value = settings["link_value"]
    p.neg_value = settings["neg_value"]
    p.pos_bonus = settings["pos_bonus"]
    p.strong_bonus = settings["strong_bonus"]
    p.article_bonus = settings["article_bonus"]
    p.cjk_weight = settings["cjk_weight"]
    p.weak_prose = settings["weak_prose"]
    p.box_chars = settings["box_chars"]
    p.box_link = settings["box_link"]
    p.box_prose = settings["box_prose"]
    p.long_heading = settings["long_heading"]
    p.teaser_prose = settings["teaser_prose"]
    p.short_context = settings["short_context"]
    p.negative_damping = settings["negative_damping"]
    p.linked_prose = settings["linked_prose"]
    p.neg_share = settings["neg_share"]
    p.forum_prose = settings["forum_prose"]
    return p


cdef class Page:
    """The blocks and block-level elements of one page (walk()), and the selection (select())."""
    cdef vector[Element] elements
    cdef vector[Block] blocks
    cdef string text
    cdef readonly int chosen
    cdef readonly bint thread  # the comment sections were the content (a forum thread, select())
    # metadata met on the way: the first <title>'s text, (key, content) of the <meta> tags whose
    # property/name/itemprop is one of META_KEYS, the first <time datetime>
    cdef readonly object title, datetime
    cdef readonly list meta
    # subtree sums per element (sums()): characters, link characters, prose length, linked headings
    cdef vector[double] chars, links, prose, sentences, linked_headings
    cdef vector[int] linked_children  # children whose first block is a linked heading
    cdef vector[double] score  # summed block values per subtree (container())

    def __len__(self):
        return self.blocks.size()

    def block_rows(self):
        """(text, owner, tag code, chars, link chars, punct, cjk) per block, for inspection."""
        out = []
        cdef Block b
        for b in self.blocks:
            out.append((PyUnicode_DecodeUTF8(self.text.c_str() + b.start, b.length, "replace"),
                        b.owner, self.elements[b.owner].code, b.chars, b.link_chars, b.punct, b.cjk))
        return out

    def element_scores(self):
        """The summed block value per element of the last selection, for inspection."""
        return list(self.score)

    def element_label(self, int e):
        """'tag.class#id' of element e, for inspection (the parsed tree must still be alive)."""
        cdef tree.xmlNode* node = self.elements[e].node
        cdef const char* value
        label = (<bytes> node.name).decode("utf-8", "replace")
        for name, mark in ((b"class", "."), (b"id", "#")):
            value = _attribute(node, name)
            if value is not NULL:
                label += mark + (<bytes> value).decode("utf-8", "replace")
        return label

    def element_rows(self):
        """(parent, tag code, evidence, end, neg) per block-level element, for inspection."""
        return [(e.parent, e.code, e.evidence, e.end, e.neg) for e in self.elements]

    cdef inline double length(self, const Block* b, const Params* p) noexcept:
        return (b.chars - b.cjk) + b.cjk * p.cjk_weight

    cdef inline bint heading(self, const Block* b, const Params* p) noexcept:
        """A heading's block, unless it is long enough to be prose (p.long_heading: only on pages
        with no other prose, select())."""
        return self.elements[b.owner].code == T_H and self.length(b, p) < p.long_heading

    cdef inline bint linky(self, const Block* b, const Params* p) noexcept:
        return b.link_chars > p.link_bad * b.chars

    cdef void sums(self, const Params* p) noexcept:
        cdef int n = self.elements.size(), e, parent
        self.chars.assign(n, 0.0)
        self.links.assign(n, 0.0)
        self.prose.assign(n, 0.0)
        self.sentences.assign(n, 0.0)
        self.linked_headings.assign(n, 0.0)
        cdef size_t i
        cdef const Block* b
        for i in range(self.blocks.size()):
            b = &self.blocks[i]
            self.chars[b.owner] += b.chars
            self.links[b.owner] += b.link_chars
            if not self.heading(b, p) and not self.linky(b, p):
                if self.length(b, p) >= p.short_chars:
                    self.prose[b.owner] += self.length(b, p)
                if b.punct > 0:  # short sentences too ("Return a new reference.")
                    self.sentences[b.owner] += self.length(b, p)
        for e in range(n - 1, 0, -1):
            parent = self.elements[e].parent
            self.chars[parent] += self.chars[e]
            self.links[parent] += self.links[e]
            self.prose[parent] += self.prose[e]
            self.sentences[parent] += self.sentences[e]
        # linked_headings: 1 where the element's first block is a heading made of a link (the
        # title of a teaser), else 0
        cdef vector[char] seen = vector[char](n, 0)
        cdef double linked
        for i in range(self.blocks.size()):
            b = &self.blocks[i]
            # (a link to a place in the page, a table of contents' back-reference, is no teaser)
            linked = (1.0 if self.elements[b.owner].code == T_H
                      and b.link_chars - b.anchor_chars >= 0.8 * b.chars else 0.0)
            e = b.owner
            while not seen[e]:
                seen[e] = 1
                self.linked_headings[e] = linked
                if e == 0:
                    break
                e = self.elements[e].parent
        self.linked_children.assign(n, 0)
        for e in range(1, n):
            if self.linked_headings[e] >= 1:
                self.linked_children[self.elements[e].parent] += 1

    cdef inline bint teaser(self, int e, const Params* p) noexcept:
        """A box opening with a heading linked elsewhere, over little prose, beside another such
        box: teasers come in lists (one box under its own linked title is the post itself: blogs
        link a post's title to its permalink)."""
        return (self.linked_headings[e] >= 1 and self.prose[e] < p.teaser_prose and e > 0
                and self.linked_children[self.elements[e].parent] >= 2)

    cdef void mark_boilerplate(self, const Params* p, int plain) noexcept:
        """Element.neg: the element or an ancestor carries boilerplate evidence (weak evidence
        counts only on elements with little prose). `plain` is the container chosen by the text
        alone (-1: no evidence at all): it and its ancestors are exempt, so a wrapper named
        "has-sidebar" or an <aside> around the article is not boilerplate."""
        cdef int n = self.elements.size(), e
        cdef vector[char] exempt = vector[char](n, 0)
        e = plain
        while e > 0:
            exempt[e] = 1
            e = self.elements[e].parent
        cdef Element* el
        cdef double limit = p.neg_share * self.prose[0]
        for e in range(n):  # or holds most of the page's prose (comment sections excepted)
            if not (self.elements[e].evidence & EV_COMMENT) and self.prose[e] >= limit and self.prose[e] > 0:
                exempt[e] = 1
        for e in range(n):
            el = &self.elements[e]
            el.own_neg = (plain >= 0 and not exempt[e] and e > 0
                          and ((el.evidence & EV_NEG) != 0 and not (self.thread and el.evidence & EV_COMMENT)
                               or ((el.evidence & EV_WEAK) != 0 and self.prose[e] < p.weak_prose)
                               or self.teaser(e, p))
                          and el.code != T_BODY and el.code != T_MAIN and el.code != T_ARTICLE)
            el.neg = el.own_neg or (e > 0 and self.elements[el.parent].neg)

    cdef bint comments_hold_the_text(self, const Params* p, int best) noexcept:
        """True when comment sections hold at least twice the prose of the rest of the page
        and the rest has less than p.forum_prose: a forum thread, whose posts are its text."""
        cdef int n = self.elements.size(), e
        cdef vector[char] inside = vector[char](n, 0)
        cdef double comments = 0
        for e in range(1, n):
            inside[e] = inside[self.elements[e].parent]
            if not inside[e] and self.elements[e].evidence & EV_COMMENT:
                inside[e] = 1
                comments += self.prose[e]
        cdef double rest = self.prose[0] - comments
        return rest < p.forum_prose and comments >= 2 * rest and comments > 0

    cdef double value(self, const Block* b, const Params* p) noexcept:
        """What a block says about its container: + plain text of prose, - boilerplate."""
        cdef double n = self.length(b, p)
        if n <= 0:
            return 0
        if self.elements[b.owner].neg:
            return n * p.neg_value
        if self.linky(b, p) and not self.linked_sentence(b, p):
            return n * p.link_value
        if self.heading(b, p):
            return 0
        if n < p.short_chars:
            return n * p.short_value
        if self.linked_sentence(b, p):
            return n
        return n * (b.chars - b.link_chars) / b.chars

    cdef int container(self, const Params* p, double* best_score, double* positive) noexcept:
        """The element whose subtree has the largest summed block value (with the bonuses)."""
        cdef int n = self.elements.size(), e
        self.score.assign(n, 0.0)
        cdef double v, s
        cdef size_t i
        positive[0] = 0
        for i in range(self.blocks.size()):
            v = self.value(&self.blocks[i], p)
            if v > 0:
                positive[0] += v
            self.score[self.blocks[i].owner] += v
        for e in range(n - 1, 0, -1):  # a box worth less than nothing counts damped in its parent
            v = self.score[e]
            self.score[self.elements[e].parent] += v if v > 0 else v * p.negative_damping
        cdef int best = 0
        best_score[0] = -1e300
        cdef const Element* el
        for e in range(n):
            el = &self.elements[e]
            s = self.score[e]
            if s > 0 and el.code != T_BODY:  # <body> is the fallback, whatever its class says
                if el.evidence & EV_STRONG:
                    s *= p.strong_bonus
                elif el.evidence & EV_POS:
                    s *= p.pos_bonus
                if el.code == T_ARTICLE or el.code == T_MAIN:
                    s *= p.article_bonus
            if s > best_score[0]:
                best, best_score[0] = e, s
        return best

    cdef bint linked_sentence(self, const Block* b, const Params* p) noexcept:
        """A paragraph of one line, long enough to be prose, however much of it is linked (a
        list of links in a paragraph has line breaks)."""
        return (self.elements[b.owner].code == T_P and self.length(b, p) >= p.linked_prose
                and memchr(self.text.c_str() + b.start, b'\n', b.length) == NULL)

    cdef bint boxed_out(self, int e, const Params* p) noexcept:
        """A box inside the container that is boilerplate: boilerplate evidence, a short link
        list, or a teaser (a linked heading over little prose)."""
        if self.elements[e].own_neg:
            return True
        if (self.chars[e] < p.box_chars and self.links[e] > p.box_link * self.chars[e]
                and self.prose[e] < p.box_prose and self.sentences[e] < p.box_prose):
            return not ((self.elements[e].code == T_P and self.chars[e] >= p.linked_prose)
                        or self.elements[e].code == T_H)  # a heading's fate is its own (context)
        return self.teaser(e, p)

    cdef bint good_follows(self, const vector[char]& kind, const vector[int]& inside, size_t j,
                           const Params* p) noexcept:
        """A good block comes after block j, with less than jusText's max_heading_distance
        (200 characters) of other blocks between them (a byline or a date under a lead)."""
        cdef size_t k
        cdef double between = 0
        for k in range(j + 1, kind.size()):
            if kind[k] == GOOD:
                return True
            between += self.length(&self.blocks[inside[k]], p)
            if between > 200:
                return False
        return False

    cdef char next_class(self, const vector[char]& kind, size_t j) noexcept:
        """The class of the first good or bad block after j (BAD past the end)."""
        cdef size_t k
        for k in range(j + 1, kind.size()):
            if kind[k] == GOOD or kind[k] == BAD:
                return kind[k]
        return BAD

    def select(self, dict settings):
        """(text, kept characters, container score, page's positive value): the blocks of the
        best container that are neither boilerplate nor link lists, one line each."""
        cdef Params p = _params(settings)
        cdef int n = self.elements.size()
        if n == 0 or self.blocks.size() == 0:
            self.chosen = -1
            return "", 0, 0.0, 0.0
        cdef double long_heading = p.long_heading
        p.long_heading = 1e300  # headings are headings, unless there is no other text (below)
        self.sums(&p)
        cdef double best_score, positive
        self.mark_boilerplate(&p, -1)
        cdef int plain = self.container(&p, &best_score, &positive)
        self.mark_boilerplate(&p, plain)
        cdef int best = self.container(&p, &best_score, &positive)
        self.thread = False
        if self.comments_hold_the_text(&p, best):  # a forum thread: the posts are the text
            self.thread = True
            self.mark_boilerplate(&p, -1)
            plain = self.container(&p, &best_score, &positive)
            self.mark_boilerplate(&p, plain)
            best = self.container(&p, &best_score, &positive)
        if positive <= 0:  # all the text is under boilerplate evidence (a page of teasers):
            self.mark_boilerplate(&p, -1)  # the evidence tells nothing here
            best = self.container(&p, &best_score, &positive)
        if positive <= 0:  # no prose but in headings (sites that set their text in <h2>-<h6>)
            p.long_heading = long_heading
            self.sums(&p)
            best = self.container(&p, &best_score, &positive)
        if positive <= 0:  # no prose at all (a page of captions and short lines): short text counts
            p.short_chars = 0
            self.sums(&p)
            self.mark_boilerplate(&p, -1)
            plain = self.container(&p, &best_score, &positive)
            self.mark_boilerplate(&p, plain)
            best = self.container(&p, &best_score, &positive)
        while (best > 0 and self.elements[best].parent > 0
               and self.elements[self.elements[best].parent].code != T_BODY
               and self.score[self.elements[best].parent] > self.score[best] + p.short_chars):
            best = self.elements[best].parent  # its parent adds prose (a lead above the article body)
        while best > 0 and (self.elements[best].code == T_P or self.elements[best].code == T_H
                            or self.elements[best].code == T_PRE or self.elements[best].code == T_CAPTION):
            best = self.elements[best].parent  # a paragraph is not a container: its parent is
        self.chosen = best
        # boxes of boilerplate inside the container
        cdef vector[char] scope = vector[char](n, 0)
        cdef vector[char] drop = vector[char](n, 0)
        cdef int e
        scope[best] = 1
        for e in range(best + 1, self.elements[best].end + 1):
            scope[e] = 1
            drop[e] = drop[self.elements[e].parent] or self.boxed_out(e, &p)
        # jusText's classes inside the container: good text, bad (boilerplate), short (context)
        cdef vector[int] inside
        cdef vector[char] kind
        cdef size_t i, j
        cdef const Block* b
        cdef int code
        for i in range(self.blocks.size()):
            b = &self.blocks[i]
            if not scope[b.owner]:
                continue
            inside.push_back(i)
            code = self.elements[b.owner].code
            if drop[b.owner] or (self.linky(b, &p) and code != T_H
                                 and not self.linked_sentence(b, &p)):
                kind.push_back(BAD)
            elif self.heading(b, &p):
                kind.push_back(HEADING)
            elif self.length(b, &p) < p.short_chars:
                kind.push_back(SHORT)
            else:
                kind.push_back(GOOD)
        # context: a heading stays when text follows it; a short block when its neighbours
        # (the nearest good or bad blocks) are not both boilerplate
        cdef vector[char] keep = vector[char](inside.size(), 0)
        cdef char before = BAD, after
        cdef bint any_good = False
        for j in range(inside.size()):
            any_good = any_good or kind[j] == GOOD
        for j in range(inside.size()):
            if not any_good:  # nothing but short text: all of it that is not boilerplate
                keep[j] = kind[j] != BAD
            elif kind[j] == GOOD:
                keep[j] = 1
            elif kind[j] == BAD:
                keep[j] = 0
            else:
                after = self.next_class(kind, j)
                if kind[j] == HEADING:  # jusText: good text within 200 characters after it
                    keep[j] = self.good_follows(kind, inside, j, &p)
                elif p.short_context:
                    keep[j] = before == GOOD and after == GOOD
                else:
                    keep[j] = before == GOOD or after == GOOD
            if kind[j] == GOOD or kind[j] == BAD:
                before = kind[j]
        cdef string out
        cdef int kept = 0, row = -2
        for j in range(inside.size()):
            if not keep[j]:
                continue
            b = &self.blocks[inside[j]]
            code = self.elements[b.owner].code
            if code == T_CELL and self.elements[b.owner].row == row and row >= 0:
                out.append(b" | ")
            else:
                if out.size():
                    out.append(b"\n")
                if code == T_LI:
                    out.append(b"- ")
            row = self.elements[b.owner].row if code == T_CELL else -2
            out.append(self.text, b.start, b.length)
            kept += b.chars
        return PyUnicode_DecodeUTF8(out.c_str(), out.size(), "replace"), kept, best_score, positive


cdef struct Frame:
    tree.xmlNode* node
    int previous     # the innermost block-level element before this one opened
    bint opened      # this element is block-level (it has an Element)
    int link         # inside a link before it (1; 2: a link to a place in the page)
    bint pre         # inside <pre> before it


# evidence bits per class/id/role/itemprop value set, across pages (C++: no Python object per element)
cdef unordered_map[string, int] _EVIDENCE
cdef string _KEY


cdef int _evidence(tree.xmlNode* node, int *hidden) except -1:
    """Evidence bits of an element's class/id/role/itemprop (cached per value set); sets
    hidden[0] for the hidden attribute, aria-hidden=true and display:none styles."""
    cdef tree.xmlAttr* attr = node.properties
    cdef int found = 0, i
    cdef const char* name
    cdef const char* value
    cdef const char* parts[4]
    parts[0] = parts[1] = parts[2] = parts[3] = b""
    while attr is not NULL:
        name = <const char*> attr.name
        value = b""
        if attr.children is not NULL and attr.children.content is not NULL:
            value = <const char*> attr.children.content
        if strcmp(name, b"class") == 0:
            parts[0] = value
            found = 1
        elif strcmp(name, b"id") == 0:
            parts[1] = value
            found = 1
        elif strcmp(name, b"role") == 0:
            parts[2] = value
            found = 1
        elif strcmp(name, b"itemprop") == 0:
            parts[3] = value
            found = 1
        elif strcmp(name, b"hidden") == 0:
            hidden[0] = 1
        elif strcmp(name, b"aria-hidden") == 0 and strcmp(value, b"true") == 0:
            hidden[0] = 1
        elif strcmp(name, b"style") == 0 and hides(value):
            hidden[0] = 1
        attr = attr.next
    if not found:
        return 0
    cdef string* key = &_KEY  # one buffer for every key: no allocation per element
    key.assign(parts[0])
    for i in range(1, 4):
        key.push_back(0)
        key.append(parts[i])
    found_bits = _EVIDENCE.find(key[0])
    if found_bits != _EVIDENCE.end():
        return deref(found_bits).second
    cdef int bits = _classify(parts)
    if _EVIDENCE.size() >= 200000:  # unique ids would grow it without end in a long-lived worker
        _EVIDENCE.clear()
    _EVIDENCE[key[0]] = bits
    return bits


# The vocabulary of evidence (native.py hands it over once: set_vocabulary): word -> F_* flags,
# hidden class values, role and itemprop values -> EV_* bits.
cdef enum:
    F_NEG = 1
    F_COMMENT = 2
    F_WEAK = 4
    F_POS = 8
cdef unordered_map[string, int] _WORDS
cdef unordered_map[string, int] _HIDDEN_CLASSES
cdef unordered_map[string, int] _ROLES
cdef unordered_map[string, int] _ITEMPROPS


def set_vocabulary(dict words, hidden_classes, dict roles, dict itemprops):
    """The word lists of native.py: {word: F_* flags}, hidden class values, {role: EV_* bits},
    {itemprop: EV_* bits}; all lower-case."""
    _WORDS.clear()
    _HIDDEN_CLASSES.clear()
    _ROLES.clear()
    _ITEMPROPS.clear()
    _EVIDENCE.clear()
    for word, flags in words.items():
        _WORDS[word.encode()] = flags
    for value in hidden_classes:
        _HIDDEN_CLASSES[value.encode()] = 1
    for value, bits in roles.items():
        _ROLES[value.encode()] = bits
    for value, bits in itemprops.items():
        _ITEMPROPS[value.encode()] = bits


cdef inline bint _upper(char c) noexcept:
    return b'A' <= c <= b'Z'


cdef inline bint _lower(char c) noexcept:
    return b'a' <= c <= b'z'


cdef int _word_flags(const char* start, size_t n) noexcept:
    cdef string word
    word.assign(start, n)
    cdef size_t i
    for i in range(n):
        if _upper(word[i]):
            word[i] = word[i] + 32
    found = _WORDS.find(word)
    return deref(found).second if found != _WORDS.end() else 0


cdef int _token_flags(const char* t, size_t n) noexcept:
    """The flags of a token's words: ASCII letter runs split at camelCase (HTMLParser -> HTML,
    Parser; aB -> a, B), digits and every other character separate words."""
    cdef int flags = 0
    cdef size_t i = 0, j, k
    while i < n:
        if _lower(t[i]):
            j = i
            while j < n and _lower(t[j]):
                j += 1
            flags |= _word_flags(t + i, j - i)
            i = j
        elif _upper(t[i]):
            j = i
            while j < n and _upper(t[j]):
                j += 1
            if j < n and _lower(t[j]):  # an upper-case run before a lower-case one
                if j - i > 1:
                    flags |= _word_flags(t + i, j - 1 - i)
                k = j
                while k < n and _lower(t[k]):
                    k += 1
                flags |= _word_flags(t + j - 1, k - j + 1)
                i = k
            else:
                flags |= _word_flags(t + i, j - i)
                i = j
        else:
            i += 1
    return flags


cdef int _value_flags(const char* value, bint in_class, bint* hidden) noexcept:
    """The flags of a class or id value's whitespace-separated tokens; hidden[0] when a class
    token is one of the hidden class values."""
    cdef int flags = 0
    cdef size_t i = 0, j, n = strlen(value), k
    cdef string token
    while i < n:
        while i < n and value[i] in b" \t\n\r\f":
            i += 1
        j = i
        while j < n and value[j] not in b" \t\n\r\f":
            j += 1
        if j > i:
            flags |= _token_flags(value + i, j - i)
            if in_class:
                token.assign(value + i, j - i)
                for k in range(token.size()):
                    if _upper(token[k]):
                        token[k] = token[k] + 32
                if _HIDDEN_CLASSES.count(token):
                    hidden[0] = True
        i = j
    return flags


cdef int _lookup_lower(unordered_map[string, int]& table, const char* value) noexcept:
    """table[value stripped and lower-cased], or 0."""
    cdef string key
    cdef size_t n = strlen(value), i = 0
    while i < n and value[i] in b" \t\n\r\f":
        i += 1
    while n > i and value[n - 1] in b" \t\n\r\f":
        n -= 1
    key.assign(value + i, n - i)
    for i in range(key.size()):
        if _upper(key[i]):
            key[i] = key[i] + 32
    found = table.find(key)
    return deref(found).second if found != table.end() else 0


cdef int _classify(const char** parts) noexcept:
    """Evidence bits of (class, id, role, itemprop): see native.py for the rules."""
    cdef int role = _lookup_lower(_ROLES, parts[2])
    cdef bint hidden = False
    cdef int flags = _value_flags(parts[0], True, &hidden) | _value_flags(parts[1], False, &hidden)
    cdef int bits = (role | _lookup_lower(_ITEMPROPS, parts[3])) & (EV_STRONG | EV_NEG)
    if hidden:  # a class that hides (responsive: "hidden lg:flex" shows on wide screens)
        bits |= EV_NEG
    if flags & F_NEG:
        bits |= EV_NEG | (EV_COMMENT if flags & F_COMMENT else 0)
    elif flags & F_WEAK:
        bits |= EV_WEAK
    if flags & F_POS:
        bits |= EV_POS
    return bits


def classify(bytes class_, bytes id_, bytes role, bytes itemprop) -> int:
    """_classify for one value set (what the walk computes once per distinct set)."""
    cdef const char* parts[4]
    parts[0], parts[1], parts[2], parts[3] = class_, id_, role, itemprop
    return _classify(parts)


# <meta> keys read for the title and the publication date (html.title_and_date)
META_KEYS = frozenset((b"og:title", b"article:published_time", b"date", b"datePublished", b"dc.date",
                       b"DC.date.issued", b"og:updated_time"))


cdef const char* _attribute(tree.xmlNode* node, const char* wanted) noexcept:
    """The value of the attribute `wanted` ("" when it has no value, NULL when it is absent)."""
    cdef tree.xmlAttr* attr = node.properties
    while attr is not NULL:
        if strcmp(<const char*> attr.name, wanted) == 0:
            if attr.children is not NULL and attr.children.content is not NULL:
                return <const char*> attr.children.content
            return b""
        attr = attr.next
    return NULL


cdef void _metadata(Page page, tree.xmlNode* node, int code) except *:
    """Keep what title_and_date needs from a <title>, <meta> or <time> element."""
    cdef const char* value
    cdef const char* key
    cdef tree.xmlNode* child
    cdef string text
    if code == T_TITLE and page.title is None:
        child = node.children
        while child is not NULL:
            if child.type == tree.XML_TEXT_NODE and child.content is not NULL:
                text.append(<const char*> child.content)
            child = child.next
        page.title = PyUnicode_DecodeUTF8(text.c_str(), text.size(), "replace")
    elif code == T_TIME and page.datetime is None:
        value = _attribute(node, b"datetime")
        if value is not NULL and value[0] != 0:
            page.datetime = PyUnicode_DecodeUTF8(value, strlen(value), "replace")
    elif code == T_META:
        value = _attribute(node, b"content")
        if value is NULL:
            return
        for name in (b"property", b"name", b"itemprop"):
            key = _attribute(node, name)
            if key is not NULL and <bytes> key in META_KEYS:
                page.meta.append((PyUnicode_DecodeUTF8(key, strlen(key), "replace"),
                                  PyUnicode_DecodeUTF8(value, strlen(value), "replace")))


cdef class _Walker:
    cdef Page page
    cdef string buffer      # text of the open block
    cdef int chars, link_chars, anchor_chars, punct, cjk
    cdef bint space         # whitespace seen since the last character of the open block

    cdef void flush(self, int owner):
        if self.chars == 0:
            self.buffer.clear()
            self.space = False
            return
        cdef Block b
        b.owner = owner
        b.start = self.page.text.size()
        b.length = self.buffer.size()
        b.chars, b.link_chars, b.punct, b.cjk = self.chars, self.link_chars, self.punct, self.cjk
        b.anchor_chars = self.anchor_chars
        self.page.text.append(self.buffer)
        self.page.blocks.push_back(b)
        self.buffer.clear()
        self.chars = self.link_chars = self.anchor_chars = self.punct = self.cjk = 0
        self.space = False

    cdef void add_text(self, const unsigned char* s, int link, bint pre):
        cdef int n
        cdef unsigned char c
        while s[0] != 0:
            c = s[0]
            n = seq_len(c)
            if space_at(s, n):
                if pre:
                    self.buffer.push_back(<char> c if n == 1 else b' ')
                else:
                    self.space = True
                s += n
                continue
            if self.space and self.buffer.size() and self.buffer.back() != b'\n':
                self.buffer.push_back(b' ')
            self.space = False
            self.buffer.append(<const char*> s, n)
            self.chars += 1
            if link:
                self.link_chars += 1
                if link == 2:
                    self.anchor_chars += 1
            if punct_at(s, n):
                self.punct += 1
            elif n == 3 and c >= 0xE3 and c <= 0xE9:  # CJK ideographs, kana, hangul (U+3040-U+9FFF)
                self.cjk += 1
            s += n


def walk(cetree._Element root):
    """The Page of `root` (an lxml element of a parsed HTML document)."""
    cdef _Walker w = _Walker()
    w.page = Page()
    w.page.meta = []
    tag_cache_reset()
    cdef Page page = w.page
    cdef vector[Frame] stack
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* node = top
    cdef Frame frame
    cdef Element el
    cdef int code, bits, hidden, previous, current = -1, visited = 0
    cdef int link = 0
    cdef bint pre = False, opened
    cdef const char* href
    while True:
        visited += 1
        if visited & 4095 == 0:
            PyErr_CheckSignals()  # a SIGALRM handler's exception (timeout.py) propagates from here
        if node.type == tree.XML_ELEMENT_NODE:
            code = tag_code(<const char*> node.name)
            if code == T_META or code == T_TITLE or code == T_TIME:
                _metadata(page, node, code)
                if code != T_TIME:
                    code = T_SKIP
            hidden = 0
            bits = _evidence(node, &hidden) if node.properties is not NULL else 0
            if code == T_ASIDE or code == T_FORM:  # nav, aside, footer, menu, form: boilerplate unless they hold the text
                bits |= EV_NEG
            if code == T_BR:
                if w.buffer.size() and w.buffer.back() != b'\n':
                    w.buffer.push_back(b'\n')
                w.space = False
            elif code != T_SKIP and (code == T_BODY or current < 0 or not (hidden or bits & EV_SKIP)):
                previous = current
                opened = is_block(code) or current < 0
                if opened:
                    if current >= 0:
                        w.flush(current)
                    el.parent = current if current >= 0 else 0
                    el.code = code if current >= 0 else T_BODY
                    el.evidence = bits
                    el.end = page.elements.size()
                    el.depth = page.elements[current].depth + 1 if current >= 0 else 0
                    el.neg = el.own_neg = 0
                    el.node = node
                    el.row = (<int> page.elements.size() if code == T_ROW else
                              page.elements[current].row if current >= 0 else -1)
                    page.elements.push_back(el)
                    current = page.elements.size() - 1
                if node.children is not NULL:
                    frame.node, frame.previous, frame.opened = node, previous, opened
                    frame.link, frame.pre = link, pre
                    stack.push_back(frame)
                    if code == T_A and not link:  # 2: a place in the page (href="#...", or <a name> without href)
                        href = _attribute(node, b"href")
                        link = 2 if (href[0] == b'#' if href is not NULL else _attribute(node, b"name") is not NULL) else 1
                    pre = pre or code == T_PRE
                    node = node.children
                    continue
                if opened:
                    w.flush(current)
                    current = previous
        elif node.type == tree.XML_TEXT_NODE or node.type == tree.XML_CDATA_SECTION_NODE:
            if node.content is not NULL and current >= 0:
                w.add_text(<const unsigned char*> node.content, link, pre)
        # next: the next sibling, else leave the finished elements
        while node is not top:
            if node.next is not NULL:
                node = node.next
                break
            if stack.empty():  # not reached: `top`'s frame is the last one
                node = top
                break
            frame = stack.back()
            stack.pop_back()
            node = frame.node
            link, pre = frame.link, frame.pre
            if frame.opened:
                w.flush(current)
                page.elements[current].end = page.elements.size() - 1
                current = frame.previous
        if node is top:
            break
    if current >= 0:
        w.flush(current)
    return page
