"""Rebuild the packaged default knowledge inventory (default.jsonl) from two real, installed sources.

    .venv/bin/python -m filters.rebalance.inventory.build_default

- concepts: the terms of the Python glossary with the first sentence of their definition
  (Debian package python3-doc, /usr/share/doc/python3.11/html/glossary.html; PSF licence);
- entities: the English Wikipedia articles of the shortened dump that PyPI gensim==4.4.0 ships as
  test data (enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2; CC BY-SA),
  with the first sentence of each article (redirects and stubs skipped; wikitext stripped by
  mwparserfromhell).

Deterministic: the sources are read in file order; nothing is downloaded.
"""

from __future__ import annotations

import bz2
import html
import json
import re
from pathlib import Path

GLOSSARY = Path("/usr/share/doc/python3.11/html/glossary.html")
OUT = Path(__file__).with_name("default.jsonl")
SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")


def first_sentence(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    match = SENTENCE.match(text)
    return (match.group(1) if match else text)[:limit]


def glossary() -> list[dict]:
    page = GLOSSARY.read_text()
    items = []
    for term, body in re.findall(r'<dt id="term-[^"]+">(.*?)</dt>\s*<dd>(.*?)</dd>', page, re.S):
        name = html.unescape(re.sub(r"<[^>]+>", "", term)).replace("¶", "").strip()
        if not re.search(r"[A-Za-z]", name):  # the ">>>" and "..." prompts
            continue
        definition = first_sentence(html.unescape(re.sub(r"<[^>]+>", " ", body)))
        items.append({"name": name, "kind": "concept", "description": definition,
                      "source": "python3-doc glossary"})
    return items


def wikipedia() -> list[dict]:
    import importlib.util

    import mwparserfromhell

    package = Path(next(iter(importlib.util.find_spec("gensim").submodule_search_locations)))  # not imported
    dump = package / "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    data = bz2.open(dump, "rt", encoding="utf-8").read()
    items = []
    for title, body in re.findall(r"<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", data, re.S):
        raw = html.unescape(body)
        title = html.unescape(title)
        if raw.lstrip().upper().startswith("#REDIRECT") or len(raw) < 2000 or "disambiguation" in title \
                or title.startswith("List of"):
            continue
        text = mwparserfromhell.parse(raw).strip_code()
        paragraphs = [p for p in (q.strip() for q in text.split("\n"))
                      if len(p) > 80 and "|" not in p]  # image captions keep their markup
        if not paragraphs:
            continue
        items.append({"name": title, "kind": "entity", "description": first_sentence(paragraphs[0]),
                      "source": "English Wikipedia (gensim test dump)"})
    return items


def main() -> None:
    items = glossary() + wikipedia()
    with OUT.open("w") as f:
        f.write("# Default knowledge inventory: see PROVENANCE.md beside this file.\n")
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {OUT}")


if __name__ == "__main__":
    main()
