"""ePub → text, chapters in spine (reading) order, with ebooklib; chapter HTML via lexbor."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import ebooklib
from ebooklib import epub
from selectolax.lexbor import LexborHTMLParser


class EpubError(Exception):
    """The file is not a readable ePub."""


@dataclass
class EpubResult:
    text: str
    title: str | None


_BLOCKS = "p,h1,h2,h3,h4,h5,h6,li,blockquote,pre,div,tr,br"


def _chapter_text(html: bytes) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("script,style,nav"):
        node.decompose()
    body = tree.body
    if body is None:
        return ""
    for node in body.css(_BLOCKS):
        node.insert_after("\n")
    lines = (" ".join(line.split()) for line in body.text(separator="").split("\n"))
    return "\n".join(line for line in lines if line)


def extract_epub(data: bytes) -> EpubResult:
    try:
        book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    except (epub.EpubException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise EpubError(f"{type(exc).__name__}: {exc}") from None
    chapters = []
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            text = _chapter_text(item.get_content())
            if text:
                chapters.append(text)
    titles = book.get_metadata("DC", "title")
    title = titles[0][0].strip() if titles and titles[0][0] else None
    return EpubResult(text="\n\n".join(chapters), title=title)
