"""What the crawler needs from an HTML page: links, visible text, link statistics, meta robots."""

from __future__ import annotations

from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser

from filters import segment

_INVISIBLE_CSS = "script, style, noscript, template, svg"


@dataclass
class PageInfo:
    links: list[str] = field(default_factory=list)
    text: str = ""
    words: int = 0  # segments (filters/segment.py): words, and each Chinese/Japanese/Thai character
    link_text_chars: int = 0
    n_links: int = 0
    noindex: bool = False
    nofollow: bool = False
    title: str = ""


def parse_html(body: bytes, x_robots_tag: str = "") -> PageInfo:
    """Links (raw hrefs, not yet resolved), visible text and what meta robots/X-Robots-Tag say."""
    tree = LexborHTMLParser(body)
    info = PageInfo()
    directives = x_robots_tag.lower()
    for meta in tree.css("meta[name]"):
        if (meta.attributes.get("name") or "").lower() in ("robots",):
            directives += "," + (meta.attributes.get("content") or "").lower()
    info.noindex = "noindex" in directives or "none" in directives
    info.nofollow = "nofollow" in directives or "none" in directives
    base = tree.css_first("base[href]")
    base_href = base.attributes.get("href") if base else None
    title = tree.css_first("title")
    info.title = title.text(strip=True) if title else ""
    anchors = tree.css("a[href]")
    info.n_links = len(anchors)
    for a in anchors:
        info.link_text_chars += len(a.text(strip=True))
        if info.nofollow:
            continue
        attrs = a.attrs  # looks attributes up one by one (a.attributes builds a dict of all)
        rel = attrs.get("rel")
        if rel and "nofollow" in rel.lower():
            continue
        href = attrs.get("href")
        if href:
            info.links.append(href)
    for node in tree.css(_INVISIBLE_CSS):
        node.decompose()
    root = tree.body or tree.root
    info.text = " ".join(root.text(separator=" ").split()) if root else ""
    info.words = segment.count_one(info.text, whole_words=True)
    if base_href:
        info.links.insert(0, "\0base:" + base_href)
    return info
