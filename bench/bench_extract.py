"""Stage 2 benchmark: HTML → main text from WARCs, ours vs the extractors users would pick instead.

Inputs, each a folder of WARCs every side reads itself:
(1) trafilatura's 215 staged evaluation pages (../shared/data/trafilatura: real news and blog
    pages with `with`/`without` ground-truth snippets) as a WARC of HTTP responses;
(2) the real Common Crawl / dolma / ClueWeb WARCs of ../shared/data/warc (speed only);
(3) the 100 real Chinese pages of ../shared/data/zh as a WARC (speed; quality on the 8 with their
    whole expected text: character-bigram F1).
Sides: ours (our WARC reader + charset decoding + one libxml2 parse + the native extractor);
plain trafilatura default, favor_precision=True and fast=True (its venv: warcio reading the
same records, trafilatura.extract on each payload's bytes, which it decodes itself: what a user
of trafilatura runs on WARCs); resiliparse (FastWARC reading, its encoding detection and
main-content extractor); datatrove WarcReader → Trafilatura(favour_precision=True).
Quality: trafilatura's snippet precision/recall/F1, the share of snippets satisfied and a
bag-of-words F1 over the snippets' words; on the Chinese pages the mean character-bigram F1.
Goals: >= 8x trafilatura default pages/s per core; bag-of-words F1 >= trafilatura default and
favor_precision; Chinese bigram F1 >= 0.85 and >= trafilatura default.

What each timed section holds (CPU of the process and its children, per the harness's timed()):
- ours: reading the WARCs (warcio, ISA-L inflate) and decoding the payloads (decode_html; the
  parser gets the payload bytes when they are valid UTF-8), then extract_html. Before it,
  untimed: one warm-up page and html.prepare_process(), as every stage worker runs it. No
  language id, PII or writing: those are stage work, not extraction.
- trafilatura sides: warcio reading the WARCs (the records of the same pages: 200 responses at
  their urls), trafilatura.extract(payload bytes) per page, after one warm-up page.
- resiliparse: FastWARC reading the same records, detect_encoding + bytes_to_str,
  extract_plain_text(main_content=True), after one warm-up page.
- datatrove: its WarcReader and Trafilatura extractor, which runs trafilatura in a forked
  sandbox process (its children's CPU is counted); the warm-up page runs in the parent first.
The sides are separate processes, run one after the other: on a shared machine the ratio of one
repetition moves by +-20%, hence medians of several repetitions.

    .venv/bin/python -m bench --only extract      (or: python bench/bench_extract.py)
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from bench.extract_peer_worker import WARM_UP_PAGE, bigram_f1, snippet_and_bow_scores
from bench.harness import Goal, _check, call, compare, peer_job, timed
from bench.inputs import CACHE, SHARED_DATA, _cached

HERE = Path(__file__).parent
EVAL = SHARED_DATA / "trafilatura"
ZH = SHARED_DATA / "zh"
SIDES = ("ours", "trafilatura-default", "trafilatura-precision", "trafilatura-fast", "resiliparse", "datatrove")


def evaldata() -> dict[str, dict]:
    """The evaluation entries keyed by the URL their page has in the bench WARC (page_url)."""
    return {page_url(key): entry for key, entry in json.loads((EVAL / "evaldata_staged_subset.json").read_text()).items()}


def page_url(key: str) -> str:
    """A WARC target URL for an evaluation key: seven keys are not URLs ('hard::dw.com...'), and
    their records would be read by no side (they counted as empty texts for every side)."""
    key = key.strip()
    return key if key.startswith(("http://", "https://")) else "http://eval.test/" + key.replace("::", "/")


def _write_warc(path: Path, pages: list[tuple[str, bytes]]) -> None:
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body),
                                                          http_headers=headers))


def eval_inputs() -> tuple[Path, Path]:
    """(folder with one WARC of the evaluation pages, JSONL of their {url, html}) in the bench cache."""
    folder = CACHE / "extract-eval"
    entries = sorted(evaldata().items())
    warc = _cached(folder / "eval-pages-v2.warc.gz", lambda tmp: _write_warc(
        tmp, [(url, (EVAL / e["dir"] / e["file"]).read_bytes()) for url, e in entries]))
    for stale in folder.glob("*.warc.gz"):  # an earlier version's WARC would be read too
        if stale != warc:
            stale.unlink()
    return folder, _cached(CACHE / "extract-eval-pages-v2.jsonl", lambda tmp: _pages_jsonl([warc], tmp))


def _zh_rows() -> list[dict]:
    return [json.loads(line) for line in (ZH / "html" / "manifest.jsonl").read_text().splitlines()]


def zh_truth() -> dict[str, str]:
    """url -> expected text, for the Chinese pages whose whole main text is given (goose3's is a
    150-character prefix: left out)."""
    return {f"http://zh.test/{r['id']}": r["gt_text"] for r in _zh_rows()
            if r["gt_type"] in ("expected_text", "reference_extraction_html") and r["source"] != "goose3"}


def zh_inputs() -> tuple[Path, Path]:
    """(folder with one WARC of the 100 Chinese pages, JSONL of their {url, html})."""
    folder = CACHE / "extract-zh"
    pages = [(f"http://zh.test/{r['id']}", gzip.decompress((ZH / r["path"]).read_bytes())) for r in _zh_rows()]
    warc = _cached(folder / "zh-pages.warc.gz", lambda tmp: _write_warc(tmp, pages))
    return folder, _cached(CACHE / "extract-zh-pages.jsonl", lambda tmp: _pages_jsonl([warc], tmp))


def _pages_jsonl(warcs: list[Path], tmp: Path) -> None:
    """The HTML responses of `warcs` (url and our decoding): which records every side takes."""
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
    prepare_process()  # what each stage worker does first (gc.freeze of the imports)
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


def zh_scores(texts: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    scores = [bigram_f1(texts.get(url) or "", expected) for url, expected in truth.items()]
    return {"bigram_f1": round(sum(scores) / len(scores), 4), "bigram_f1_min": round(min(scores), 4)}


def _same_pages(result, sides: list[str]) -> None:
    """Ours and the sides reading the same records must have extracted the same pages (per-core
    figures are pages / CPU s); datatrove counts what its own reader yields."""
    counts = {side: result.sides[side].items for side in sides if side in result.sides and result.sides[side].ok}
    if len(set(counts.values())) > 1:
        raise RuntimeError(f"{result.name}: the sides extracted different numbers of pages: {counts}")


def run(quick: bool):
    worker = HERE / "extract_peer_worker.py"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (folder, jsonl), score in (
            ("extract.html_eval_pages", eval_inputs(), lambda texts: snippet_and_bow_scores(texts, evaldata())),
            ("extract.html_real_warcs", real_inputs(), None),
            ("extract.zh_pages", zh_inputs(), lambda texts: zh_scores(texts, zh_truth())),
        ):
            outs = {k: f"{tmp}/{name}-{k}.json" for k in SIDES}
            peers = {side: peer_job("resiliparse" if side == "resiliparse" else "trafilatura", worker,
                                    [side, str(folder), outs[side], str(jsonl)])
                     for side in SIDES if side.startswith("trafilatura") or side == "resiliparse"}
            peers["datatrove"] = peer_job("datatrove", worker, ["datatrove", str(folder), outs["datatrove"]])
            goals = [Goal(8.0, peer="trafilatura-default")]
            if name == "extract.html_eval_pages":
                goals += [Goal(1.0, peer="trafilatura-default", metric="bow_f1"),
                          Goal(1.0, peer="trafilatura-precision", metric="bow_f1")]
            if name == "extract.zh_pages":
                goals += [Goal(0.85, metric="bigram_f1"), Goal(1.0, peer="trafilatura-default", metric="bigram_f1")]
            result = compare(name, call("bench.bench_extract:ours", str(folder), outs["ours"]), peers,
                             unit="pages", input_desc=str(folder), reps=1 if quick else 3, goals=goals)
            _same_pages(result, [side for side in SIDES if side != "datatrove"])
            if score is not None:  # quality is scored outside the timed runs
                for side, path in outs.items():
                    if side in result.sides and Path(path).exists():
                        result.sides[side].metrics.update(score(json.loads(Path(path).read_text())))
                result.goals = [_check(g, result.sides, result.ratios, result.unit) for g in goals]
                verdicts = [g["met"] for g in result.goals]
                result.below_goal = True if False in verdicts else None if None in verdicts else False
                result.save()
            results.append(result)
    return results


if __name__ == "__main__":
    for r in run(quick=False):
        print(r.name, {k: (s.per_core, s.metrics) for k, s in r.sides.items()}, r.ratios)
