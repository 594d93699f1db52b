"""Property-based fuzzing (hypothesis) of the parsers that read what the outside world writes:
robots.txt, WARC records, the HTML extraction wrapper, GH Archive events, SEARCH/REPLACE edits and
config loading. Each must answer every input with a result or its own one-line error, never crash.

Inputs are real files mutated (bit flips, cuts, spliced bytes) and generated structure. Example
counts are bounded and derandomized (the same cases every run) so the suite stays fast and stable;
`FUZZ_EXAMPLES=N` multiplies them for a longer hunt. A crash found becomes an explicit
`@example` (a regression test) next to its property.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import random
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawl.robots import policy_from_response
from crawl.robots_txt import RobotsTxt
from filters.extract.html import extract_html
from filters.extract.readers import read_archive
from filters.github import gharchive
from filters.github.agentless import DIVIDER, REPLACE, SEARCH, apply_edits, parse_edits
from pipeline.config import load_config, parse_set
from pipeline.errors import ConfigError

SCALE = int(os.environ.get("FUZZ_EXAMPLES", "1"))
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


def fuzz(examples: int):
    """Bounded, derandomized hypothesis settings (no deadline: the machine is shared)."""
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _shared(path: str) -> bytes:
    file = SHARED / path
    if not file.exists():
        if os.environ.get("PIPELINE_CI"):
            pytest.fail(f"../shared/data is missing under CI ({file})")
        pytest.skip(f"needs {file}")
    return file.read_bytes()


@st.composite
def mutated(draw, data: bytes, max_edits: int = 4) -> bytes:
    """`data` with a few seeded edits: bit flips, a cut, a deleted or duplicated span, spliced junk."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "delete", "duplicate", "splice"]))
        if kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del out[at:]
        elif kind == "delete":
            del out[at:at + draw(st.integers(1, 64))]
        elif kind == "duplicate":
            out[at:at] = out[at:at + draw(st.integers(1, 512))]
        else:
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(out)


# ---- robots.txt ---------------------------------------------------------------------------------
ROBOTS_KEYS = ["User-agent", "user-agent", "Disallow", "Allow", "Crawl-delay", "Sitemap", "useragent",
               "dissallow", "# comment", "", "Host"]
PATHS = st.text(alphabet=string.ascii_letters + string.digits + "/*$?=&%.-_~é", max_size=20)


@st.composite
def robots_files(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        key = draw(st.sampled_from(ROBOTS_KEYS))
        value = draw(st.one_of(PATHS, st.sampled_from(["*", "stepcrawl", "Googlebot", "1.5", "-1", "nan", "inf"])))
        sep = draw(st.sampled_from([":", ": ", " :", " ", "\t:"]))
        lines.append(f"{key}{sep}{value}".encode())
    eol = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + eol.join(lines)


@fuzz(300)
@given(body=st.one_of(robots_files(), st.binary(max_size=400)),
       path=PATHS, token=st.sampled_from(["stepcrawl", "googlebot", "*", ""]))
@example(body=b"User-agent: *\nDisallow: /\x00junk", path="/a", token="stepcrawl")
@example(body=b"User-agent:\nCrawl-delay: 1e999", path="", token="stepcrawl")
def test_robots_parse_never_crashes(body, path, token):
    rules = RobotsTxt.parse(body)
    assert isinstance(rules.allowed(f"http://example.org{path}", token), bool)
    delay = rules.crawl_delay(token)
    assert delay is None or 0 <= delay < float("inf")
    policy = policy_from_response(200, body, 500_000)
    assert isinstance(policy.allowed(f"http://example.org/{path}", token), bool)


@fuzz(150)
@given(prefix=st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=10),
       rest=st.text(alphabet=string.ascii_letters + string.digits + "/-_.", max_size=10),
       other=st.text(alphabet=string.digits, min_size=1, max_size=5),
       eol=st.sampled_from(["\n", "\r\n", "\r"]))
def test_robots_disallow_prefix_semantics(prefix, rest, other, eol):
    """Disallow: /P blocks every path starting with /P and nothing starting elsewhere, whatever
    the line ends; a longer Allow wins over it (RFC 9309 §2.2.2)."""
    rules = RobotsTxt.parse(eol.join(["User-agent: *", f"Disallow: /{prefix}"]).encode())
    assert not rules.allowed(f"http://h.example/{prefix}{rest}", "stepcrawl")
    assert rules.allowed(f"http://h.example/~{other}", "stepcrawl")
    longer = RobotsTxt.parse(eol.join(["User-agent: *", f"Disallow: /{prefix}", f"Allow: /{prefix}{other}"]).encode())
    assert longer.allowed(f"http://h.example/{prefix}{other}", "stepcrawl")


# ---- WARC records -------------------------------------------------------------------------------
WARC_FILES = ["warc/commoncrawl-whirlwind/whirlwind.warc.gz", "warc/commoncrawl-whirlwind/whirlwind.warc",
              "warc/commoncrawl-whirlwind/whirlwind.warc.wet.gz", "warc/resiliparse/block-sized-records.warc.gz"]


@fuzz(120)
@given(data=st.data(), name=st.sampled_from(WARC_FILES))
def test_warc_reader_counts_every_damaged_file(data, name):
    """A damaged WARC/WET yields records, or failure records locating the file (and offset); it never raises."""
    damaged = data.draw(mutated(_shared(name)))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, Path(name).name)
        Path(path).write_bytes(damaged)
        records = list(read_archive(path, max_bytes=1 << 20, check_lengths=not name.endswith(".wet.gz")))
    for record in records:
        assert record.failure is None or path in record.locator + (record.detail or "")  # names the file
        assert record.payload is None or isinstance(record.payload, bytes)


def test_warc_response_without_target_uri_is_a_counted_failure(tmp_path):
    """Regression (fuzzing): a response record whose WARC-Target-URI header was damaged away made
    warcio raise AttributeError out of the reader; now the file is one failure record naming it."""
    body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>hello</body></html>"
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2024-05-18T01:58:10Z\r\n"
            b"WARC-Record-ID: <urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6>\r\n"
            b"Content-Type: application/http; msgtype=response\r\n")
    path = tmp_path / "no-uri.warc"
    path.write_bytes(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body + b"\r\n\r\n")
    records = list(read_archive(str(path), max_bytes=1 << 20))
    assert [r.failure for r in records] == ["unreadable_file"] and str(path) in records[0].detail


# ---- HTML extraction ----------------------------------------------------------------------------
TAGS = ["html", "head", "body", "title", "p", "div", "article", "main", "nav", "script", "style", "table",
        "tr", "td", "li", "ul", "pre", "code", "a", "br", "meta", "svg", "template", "noscript", "h1"]
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60)


@st.composite
def html_pages(draw, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 4 else 0))):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            parts.append(draw(TEXT))
        elif choice == 1:
            tag = draw(st.sampled_from(TAGS))
            attrs = draw(st.sampled_from(["", ' class="content"', ' id="nav"', " hidden", ' lang="zh"', ' x="<>"']))
            closed = draw(st.booleans())
            parts.append(f"<{tag}{attrs}>{draw(html_pages(depth + 1))}" + (f"</{tag}>" if closed else ""))
        elif choice == 2:
            parts.append(draw(st.sampled_from(["<!--", "-->", "<![CDATA[", "&#0;", "&#x110000;", "&amp", "</", "<",
                                               "<?xml version='1.0' encoding='ebcdic'?>", "\x00", "\ufeff"])))
        else:
            parts.append(" ".join(draw(st.lists(st.sampled_from(["the", "data", "model", "curation"]),
                                                max_size=30))))
    return "".join(parts)


@fuzz(250)
@given(page=st.one_of(html_pages(), st.binary(max_size=300), TEXT),
       extractor=st.sampled_from(["native", "native", "trafilatura"]))
@example(page=b"\x00", extractor="native")
@example(page="<html><body>" + "<div>" * 2000 + "deep" + "</div>" * 2000, extractor="native")
def test_html_extraction_never_crashes(page, extractor):
    result = extract_html(page, "http://example.org/", extractor=extractor)
    assert isinstance(result.text, str)
    assert result.title is None or isinstance(result.title, str)


@fuzz(40)
@given(data=st.data())
def test_html_extraction_of_damaged_real_pages(data):
    page = data.draw(mutated(_html_page(), max_edits=8))
    assert isinstance(extract_html(page, "http://example.org/").text, str)


def _html_page() -> bytes:
    folder = SHARED / "trafilatura"
    pages = sorted(p for p in folder.rglob("*.html")) if folder.is_dir() else []
    if not pages:
        return _shared("trafilatura/missing.html")
    return pages[len(pages) // 2].read_bytes()[:60_000]


# ---- GH Archive events --------------------------------------------------------------------------
@functools.cache
def _events(count: int = 60) -> list[bytes]:
    """The first real GH Archive lines of an hour (thread events and others)."""
    return gzip.decompress(_shared("github/gharchive/2015-01-01-12.json.gz")).splitlines()[:count]


@fuzz(150)
@given(data=st.data())
def test_gharchive_counts_damaged_events(data):
    """Damaged hourly files (lines cut, flipped, fields retyped, gzip broken) are counted, never
    fatal; in an intact gzip stream every non-blank line is counted exactly once (an event by
    type, a corrupt line or a schema error)."""
    original = _events()
    lines = list(original)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for i in data.draw(st.lists(st.integers(0, len(lines) - 1), max_size=6)):
        choice = rng.randrange(4)
        if choice == 0:
            lines[i] = data.draw(mutated(lines[i], max_edits=2))
        elif choice == 1:
            event = json.loads(original[i])
            key = rng.choice(["id", "type", "repo", "payload", "actor", "created_at"])
            event[key] = data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just([]), st.just({})))
            lines[i] = json.dumps(event).encode()
        elif choice == 2:
            lines[i] = b""
        else:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    text = b"\n".join(lines) + b"\n"
    blob = gzip.compress(text, mtime=0)
    damaged_gzip = data.draw(st.booleans())
    if damaged_gzip:
        blob = data.draw(mutated(blob, max_edits=1))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "2015-01-01-12.json.gz")
        Path(path).write_bytes(blob)
        fragments, stats = gharchive.read_archive(path)
    assert all(isinstance(f, dict) for f in fragments)
    assert all(count > 0 for count in stats.problems.values())
    if not damaged_gzip:
        counted = sum(stats.events.values()) + stats.problems["corrupt_line"] + stats.problems["schema_error"]
        assert counted == sum(1 for line in text.split(b"\n") if line.strip())


def test_gharchive_invalid_utf8_in_a_thread_event_is_a_corrupt_line(tmp_path):
    """Regression (fuzzing): a thread event with invalid UTF-8 inside a string raised
    UnicodeDecodeError out of read_archive; now the line is counted as corrupt and the rest read."""
    good = json.dumps({"id": "1", "type": "WatchEvent", "repo": {"id": 1, "name": "a/b"}}).encode()
    bad = b'{"id":"\x802489582596","type":"PullRequestEvent","payload":{}}'
    path = tmp_path / "2015-01-01-12.json.gz"
    path.write_bytes(gzip.compress(bad + b"\n" + good + b"\n", mtime=0))
    fragments, stats = gharchive.read_archive(str(path))
    assert stats.problems["corrupt_line"] == 1 and stats.events["WatchEvent"] == 1 and fragments == []


# ---- SEARCH/REPLACE edits ------------------------------------------------------------------------
LINES = st.lists(st.text(alphabet=string.ascii_letters + " =()<>:#\t", max_size=12), min_size=1, max_size=12)


def _render(path: str, search: str, replace: str) -> str:
    block = lambda text: text if not text or text.endswith("\n") else text + "\n"  # noqa: E731
    return f"```python\n### {path}\n{SEARCH}{block(search)}{DIVIDER}{block(replace)}{REPLACE}\n```\n"


@fuzz(300)
@given(lines=LINES, start=st.integers(0, 11), length=st.integers(1, 4), new=LINES)
def test_search_replace_round_trip(lines, start, length, new):
    """An edit rendered in the Agentless format parses back to itself and applies exactly when
    its SEARCH occurs once; otherwise apply_edits refuses (None), never guesses or raises."""
    text = "\n".join(lines) + "\n"
    start = min(start, len(lines) - 1)
    search = "\n".join(lines[start:start + length]) + "\n"
    replace = "\n".join(new) + "\n"
    found = parse_edits("prose\n" + _render("pkg/mod.py", search, replace))
    assert found == [("pkg/mod.py", search, replace)]
    result = apply_edits({"pkg/mod.py": text}, found)
    if text.count(search) == 1:
        assert result == {"pkg/mod.py": text.replace(search, replace, 1)}
    else:
        assert result is None
    assert apply_edits({"other.py": text}, found) is None


@fuzz(200)
@given(answer=st.lists(st.sampled_from(["### a.py\n", SEARCH, DIVIDER, REPLACE, "x\n", "\n", "```", " "]),
                      max_size=40).map("".join),
       files=st.dictionaries(st.sampled_from(["a.py", "b.py"]), st.text(max_size=30), max_size=2))
def test_search_replace_on_garbled_answers(answer, files):
    result = apply_edits(files, parse_edits(answer))
    assert result is None or set(result) == set(files)


# ---- config loading -----------------------------------------------------------------------------
YAML_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                                     st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=6)
CONFIG_KEYS = ["engine", "seed", "spark.conf", "run.progress", "quality.inputs", "dedup.threshold", "dedup",
               "extract.max_bytes", "tokenize.shard_tokens", "crawl.seeds", "nonsense", "quality.nonsense",
               "run", "ray.address"]


@fuzz(200)
@given(items=st.lists(st.tuples(st.sampled_from(CONFIG_KEYS), YAML_VALUES), max_size=4),
       raw=st.lists(st.text(max_size=20), max_size=2))
@example(items=[], raw=["dedup.threshold=: : :"])
@example(items=[("dedup", None)], raw=["="])
def test_config_loading_answers_with_config_error(items, raw):
    """Any --set list resolves to a config or a ConfigError naming the key, never another error."""
    overrides = [f"{key}={json.dumps(value)}" for key, value in items] + raw
    try:
        config = load_config(None, overrides)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert isinstance(config["seed"], int)


@fuzz(120)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example(text="!!python/object/apply:os.system ['true']")
@example(text="a: &x [*x]")
@example(text="quality: {inputs: 3}\nquality: {inputs: 4}")
def test_config_file_answers_with_config_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text)
        try:
            load_config(path)
        except ConfigError as exc:
            assert "\n" not in str(exc)


def test_parse_set_keeps_yaml_values():
    assert parse_set("dedup.threshold=0.7") == {"dedup": {"threshold": 0.7}}
    with pytest.raises(ConfigError):
        parse_set("no-equals-sign")
