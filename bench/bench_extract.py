"""Stage 2 benchmark: HTML → text, ours vs plain trafilatura and datatrove, speed and quality.

Inputs: (1) trafilatura's 215 staged evaluation pages (../shared/data/trafilatura, real news and
blog pages with `with`/`without` ground-truth snippets) as a WARC of HTTP responses; (2) the real
Common Crawl / dolma / ClueWeb WARCs of ../shared/data/warc (speed only, no ground truth).
Sides, every one reading the same WARC files: ours (WARC reader + charset decoding + one lxml
parse, pre-pass, trafilatura precision with its fallbacks on short results); plain trafilatura,
defaults and favor_precision=True (its venv: warcio's ArchiveIterator, then trafilatura.extract on
each payload's bytes, which it decodes itself: what a user of trafilatura runs on WARCs);
datatrove WarcReader → Trafilatura(favour_precision=True) (its venv). Reported beside them, no
goal: plain trafilatura handed the already-decoded HTML (`-html`: extraction alone, no reading).
Quality: trafilatura's snippet precision/recall/F1 and a bag-of-words F1 over the snippets' words.
Goals: >= 3x trafilatura default pages/s per core; bag-of-words F1 >= trafilatura favor_precision.

What each timed section holds (CPU of the process and its children, per the harness's timed()):
- ours: reading the WARCs (warcio, gzip) and decoding the payloads (decode_html; the parser gets
  the payload bytes when they are valid UTF-8), then extract_html (reading and decoding: 10-12%
  of our time on the evaluation pages). Before it, untimed: one warm-up page, and html.prepare_process() as every stage worker
  runs it first (the warm-up, then gc.freeze of the objects alive then, so that collections stop
  re-reading the imports). No language id, PII or writing: those are stage work, not extraction.
- trafilatura default / favor_precision: warcio reading the WARCs (only the records of the same
  pages: 200 responses at their urls), trafilatura.extract(payload bytes) per page, after one
  warm-up page. The `-html` variants: trafilatura.extract(decoded html) per page, no reading.
- datatrove: its WarcReader and Trafilatura extractor, which runs trafilatura in a forked
  sandbox process (its children's CPU is counted); the warm-up page runs in the parent first, so
  the fork inherits trafilatura loaded (before, the sandbox's first pages paid for it).
The three sides are separate processes, run one after the other: on a shared machine the ratio of
one repetition moves by +-20%, hence medians of several repetitions.

    .venv/bin/python -m bench --only extract      (or: python bench/bench_extract.py)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.extract_peer_worker import WARM_UP_PAGE, snippet_and_bow_scores
from bench.harness import Goal, _check, call, compare, peer_job, timed
from bench.inputs import CACHE, SHARED_DATA, _cached

HERE = Path(__file__).parent
EVAL = SHARED_DATA / "trafilatura"


def evaldata() -> dict[str, dict]:
    return json.loads((EVAL / "evaldata_staged_subset.json").read_text())


def eval_inputs() -> tuple[Path, Path]:
    """(folder with one WARC of the evaluation pages, JSONL of {url, html}) in the bench cache."""
    folder = CACHE / "extract-eval"
    entries = sorted(evaldata().items())

    def build_warc(tmp: Path) -> None:
        from io import BytesIO

        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        with open(tmp, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for url, entry in entries:
                body = (EVAL / entry["dir"] / entry["file"]).read_bytes()
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body),
                                                              http_headers=headers))

    warc = _cached(folder / "eval-pages.warc.gz", build_warc)
    return folder, _cached(CACHE / "extract-eval-pages-decoded.jsonl", lambda tmp: _pages_jsonl([warc], tmp))


def _pages_jsonl(warcs: list[Path], tmp: Path) -> None:
    """The HTML responses of `warcs`, decoded by our decoder, so every trafilatura side gets the
    very same text (their own byte decoding is not what is compared here)."""
    from filters.extract.decode import charset_from_header, decode_html
    from filters.extract.readers import read_file

    with open(tmp, "w", encoding="utf-8") as fh:
        for warc in warcs:
            for record in read_file(str(warc), 20_000_000):
                if record.kind == "html":
                    html, _ = decode_html(record.payload, charset_from_header(record.charset))
                    if html:
                        fh.write(json.dumps({"url": record.url, "html": html}) + "\n")


def real_inputs() -> tuple[Path, Path]:
    """The real WARCs of ../shared/data/warc that hold HTML responses, and their pages as JSONL."""
    folder = CACHE / "extract-real"
    # resiliparse/clipped.warc.gz (a truncated file) is left out: datatrove's WarcReader dies on it
    # with EOFError (ours counts it as truncated_file), and every side must read the same input.
    sources = sorted(SHARED_DATA.glob("warc/dolma/*.warc.gz")) + [
        p for p in sorted(SHARED_DATA.glob("warc/resiliparse/*.warc.gz")) if p.name != "clipped.warc.gz"]
    sources += [SHARED_DATA / "warc/commoncrawl-whirlwind/whirlwind.warc.gz"]
    for source in sources:
        _cached(folder / f"{source.parent.name}-{source.name}", lambda tmp, s=source: tmp.write_bytes(s.read_bytes()))

    return folder, _cached(CACHE / "extract-real-pages.jsonl",
                           lambda tmp: _pages_jsonl(sorted(folder.glob("*.warc.gz")), tmp))


def ours(folder: str, out: str) -> None:
    """Read every WARC of `folder`, extract each HTML response as stage 2 does; {url: text} to out."""
    from filters.extract.decode import charset_from_header, decode_html, utf8_source
    from filters.extract.html import extract_html, prepare_process
    from filters.extract.readers import read_file

    extract_html(WARM_UP_PAGE)
    prepare_process()  # what each stage worker does first (gc.freeze of the imports: docstring)
    texts = {}
    with timed() as probe:
        pages = 0
        for warc in sorted(Path(folder).glob("*.warc.gz")):
            for record in read_file(str(warc), 20_000_000):
                if record.kind != "html":
                    continue
                pages += 1
                html, encoding = decode_html(record.payload, charset_from_header(record.charset))
                source = utf8_source(record.payload, html, encoding) if html else None
                texts[record.url] = extract_html(source, record.url).text if source else ""
        probe.items = pages
    Path(out).write_text(json.dumps(texts))


def _side_metrics(result, outputs: dict[str, str], truth: dict[str, dict]) -> None:
    for side, path in outputs.items():
        if side in result.sides and Path(path).exists():
            result.sides[side].metrics.update(snippet_and_bow_scores(json.loads(Path(path).read_text()), truth))


def _same_pages(result, sides: list[str]) -> None:
    """Ours and plain trafilatura's sides must have extracted the same pages (per-core figures
    are pages / CPU s); datatrove counts what its own reader yields."""
    counts = {side: result.sides[side].items for side in sides if side in result.sides}
    if len(set(counts.values())) > 1:
        raise RuntimeError(f"{result.name}: the sides extracted different numbers of pages: {counts}")


def run(quick: bool):
    worker = HERE / "extract_peer_worker.py"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (folder, jsonl), truth in (
            ("extract.html_eval_pages", eval_inputs(), evaldata()),
            ("extract.html_real_warcs", real_inputs(), None),
        ):
            sides = ("ours", "trafilatura-default", "trafilatura-precision", "datatrove",
                     "trafilatura-default-html", "trafilatura-precision-html")
            outs = {k: f"{tmp}/{name}-{k}.json" for k in sides}
            peers = {
                # what a user of plain trafilatura runs on these WARCs: warcio, then extract(bytes)
                **{f"trafilatura-{mode}": peer_job("trafilatura", worker, [f"trafilatura-{mode}", str(folder),
                                                   outs[f"trafilatura-{mode}"], str(jsonl)])
                   for mode in ("default", "precision")},
                "datatrove": peer_job("datatrove", worker, ["datatrove", str(folder), outs["datatrove"]]),
                # the same, handed the decoded HTML: extraction alone, not charged any reading
                **{f"trafilatura-{mode}-html": peer_job("trafilatura", worker, [f"trafilatura-{mode}", str(jsonl),
                                                        outs[f"trafilatura-{mode}-html"]])
                   for mode in ("default", "precision")},
            }
            goals = [Goal(3.0, peer="trafilatura-default")]
            if truth is not None:
                goals.append(Goal(1.0, peer="trafilatura-precision", metric="bow_f1"))
            result = compare(name, call("bench.bench_extract:ours", str(folder), outs["ours"]), peers,
                             unit="pages", input_desc=str(folder), reps=1 if quick else 3, goals=goals)
            _same_pages(result, [side for side in sides if side != "datatrove"])
            if truth is not None:
                _side_metrics(result, outs, truth)  # quality is scored outside the timed runs
                result.goals = [_check(g, result.sides, result.ratios, result.unit) for g in goals]
                verdicts = [g["met"] for g in result.goals]
                result.below_goal = True if False in verdicts else None if None in verdicts else False
                result.save()
            results.append(result)
    return results


if __name__ == "__main__":
    for r in run(quick=False):
        print(r.name, {k: (s.per_core, s.metrics) for k, s in r.sides.items()}, r.ratios)
