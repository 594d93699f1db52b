"""Stage 2 — extract: WARC/WET/ARC records and loose HTML/PDF/ePub files → documents.

score(): read every record of the partition's files, extract text (per-document time limit),
identify the language, redact PII; every record becomes a row, failed ones with `extract_failure`;
WARC records that are no documents (request, metadata...) are counted in `records_skipped`.
decide(): the failure if any, else low_utility (stage 1's flag, `extract.drop_low_utility`),
too_short / too_long / language, from config. Language: the most likely one must be wanted
(`extract.languages`, default zh and en), and the probability of the wanted languages among the
two most likely must reach `extract.min_language_score`.
Partitions: one per archive file, loose files grouped `files_per_partition` at a time (sorted), so
the output is the same whatever the engine.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from filters import langid, pii
from filters.blocklist import Blocklist, host_of, load_blocklist
from filters.extract import html as html_extract
from filters.extract.config import ExtractConfig
from filters.extract.content_type import content_type_for
from filters.extract.decode import charset_from_header, decode_html, looks_binary, utf8_source
from filters.extract.epub import EpubError, extract_epub
from filters.extract.native import settings as native_settings
from filters.extract.pdf import PdfError, extract_pdf
from filters.extract.readers import RawRecord, read_file, sniff_file
from filters.extract.timeout import CallTimeout, call_with_timeout
from pipeline import io
from pipeline.ids import doc_id
from pipeline.stage import Partition, Stage, with_counters
from schemas.extract import SCHEMA, VERSION

ARCHIVE_KINDS = ("warc", "arc")


class ExtractStage(Stage):
    number = 2
    name = "extract"
    schema = SCHEMA
    schema_version = VERSION
    settings_model = ExtractConfig
    upstream = (1,)
    required_columns = ()

    # ---- partitions -------------------------------------------------------------------------
    def upstream_files(self) -> list[str]:
        pattern = io.join(self.ctx.stage_dir(1), "warc", "*.warc.gz")
        return io.expand_inputs([pattern], "extract.inputs (default: the stage-1 WARCs)")

    def partitions(self) -> list[Partition]:
        load_blocklist(list(self.settings.blocklist_files))  # a bad rule file fails before any work
        from_crawl = not self.settings.inputs
        archives, loose = [], []
        for path in self.input_files():
            (archives if sniff_file(path) in ARCHIVE_KINDS else loose).append(path)
        per = self.settings.files_per_partition
        groups = [(path,) for path in archives]
        groups += [tuple(loose[i:i + per]) for i in range(0, len(loose), per)]
        return [
            Partition(index, group, {"source": "crawl" if from_crawl else ("warc" if group[0] in archives else "files")})
            for index, group in enumerate(groups)
        ]

    # ---- score ------------------------------------------------------------------------------
    def score(self, part: Partition) -> pa.Table:
        html_extract.prepare_process()  # once per worker process
        blocklist = load_blocklist(list(self.settings.blocklist_files))
        source = part.params["source"]
        rows, skipped = [], Counter()
        for path in part.inputs:
            for record in read_file(path, self.settings.max_record_bytes):
                if record.skipped:  # a request/metadata/warcinfo record: not a document
                    skipped[record.skipped] += 1
                else:
                    rows.append(self._document(record, source, blocklist))
        columns = {name: [row.get(name) for row in rows] for name in _ROW_FIELDS}
        texts = pa.array(columns.pop("text"), pa.string())
        texts, counts = pii.redact(texts, apply=self.settings.redact_pii)
        languages, scores = langid.identify_ranked([t or "" for t in texts.to_pylist()], k=2)
        table = pa.table({
            "id": pa.array(columns["id"], pa.string()),
            "source": pa.array(columns["source"], pa.string()),
            "content_type": pa.array(columns["content_type"], pa.string()),
            "text": texts,
            "url": pa.array(columns["url"], pa.string()),
            "title": pa.array(columns["title"], pa.string()),
            "domain": pa.array([host_of(u) for u in columns["url"]], pa.string()),
            "date": pa.array(columns["date"], pa.string()),
            "language": pa.array([ranked[0] if ranked else None for ranked in languages], pa.string()),
            "language_score": pa.array(scores[:, 0], pa.float32()),
            "second_language": pa.array([ranked[1] if len(ranked) > 1 else None for ranked in languages], pa.string()),
            "second_language_score": pa.array(scores[:, 1], pa.float32()),
            **counts,
            "n_chars": pc.fill_null(pc.utf8_length(texts), 0).cast(pa.int64()),
            "extract_failure": pa.array(columns["extract_failure"], pa.string()),
            "extract_detail": pa.array(columns["extract_detail"], pa.string()),
            "low_utility": pa.array(columns["low_utility"], pa.string()),
            "page_topic": pa.array(columns["page_topic"], pa.string()),
            "page_format": pa.array(columns["page_format"], pa.string()),
            "site_category": pa.array(columns["site_category"], pa.string()),
            "dataset": pa.array(columns["dataset"], pa.string()),
            "extractor": pa.array(columns["extractor"], pa.string()),
        })
        return with_counters(table, {"records_skipped": dict(skipped)})

    def _document(self, record: RawRecord, source: str, blocklist: Blocklist) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": doc_id(source, self._stable_locator(record.locator, source), record.payload),
            "source": source,
            "url": record.url,
            "date": record.date,
            "extract_failure": record.failure,
            "extract_detail": record.detail,
            **(record.labels or {}),  # low_utility, page_topic, page_format, site_category from our crawler
        }
        row["dataset"] = dataset_of(source, record.locator, row.get("site_category"))
        if record.failure:
            return row
        rule = blocklist.blocked(record.url) if blocklist else None
        if rule:
            return {**row, "extract_failure": "blocklisted", "extract_detail": rule}
        try:
            text, title, date, extractor = call_with_timeout(
                _extract, self.settings.timeout_seconds, record, self.settings.pdf_max_pages,
                (self.settings.extractor, self.settings.fallback_below_confidence),
            )
        except CallTimeout:
            return {**row, "extract_failure": "timeout", "extract_detail": f"over {self.settings.timeout_seconds} s"}
        except _Failed as failed:
            return {**row, "extract_failure": failed.reason, "extract_detail": failed.detail}
        text = text.strip()
        if not text:
            return {**row, "extract_failure": "empty_extraction"}
        return {
            **row,
            "text": text,
            "title": title,
            "date": date or record.date,
            "extractor": extractor,
            "content_type": content_type_for(record.kind or "", text, record.url),
        }

    def _stable_locator(self, locator: str, source: str) -> str:
        """A crawled record's place relative to the run folder, so its id does not depend on where
        the run folder lives (a copied folder, or a cluster that mounts it elsewhere)."""
        if source == "crawl":
            _, marker, inside = locator.rpartition("/stage-1/warc/")
            return marker.lstrip("/") + inside if marker else locator
        return locator

    def _fallback_share(self) -> dict:
        """Kept HTML documents whose text came from trafilatura while `native` was chosen (the
        cascade's fallbacks), and their share."""
        if self.settings.extractor != "native":
            return {}
        stage_dir = self.ctx.stage_dir(self.number)
        names = [n for n in io.listdir(stage_dir) if n.startswith("part-") and n.endswith(".parquet")]
        counts = {"native": 0, "trafilatura": 0}
        for name in names:
            column = io.read_parquet(io.join(stage_dir, name), ["extractor"])["extractor"]
            for item in pc.value_counts(column).to_pylist():
                if item["values"] in counts:
                    counts[item["values"]] += item["counts"]
        html = counts["native"] + counts["trafilatura"]
        return {"fallback_below_confidence": self.settings.fallback_below_confidence,
                "fallback_documents": counts["trafilatura"],
                "fallback_share": round(counts["trafilatura"] / html, 4) if html else 0.0}

    # ---- decide -----------------------------------------------------------------------------
    def decide(self, table: pa.Table) -> pa.Array:
        s = self.settings
        n_chars = table["n_chars"]
        reason = pc.if_else(pc.less(n_chars, s.min_chars), "too_short", None)
        reason = pc.if_else(pc.greater(n_chars, s.max_chars), "too_long", reason)
        if s.languages != "all":
            wanted = pa.array(list(s.languages), pa.string())
            other = pc.invert(pc.fill_null(pc.is_in(table["language"], value_set=wanted), False))
            # a mixed page (Chinese with English) is sure enough when its two wanted languages are
            second = pc.fill_null(pc.is_in(table["second_language"], value_set=wanted), False)
            mass = pc.add(table["language_score"], pc.if_else(second, table["second_language_score"], 0.0))
            weak = pc.less(mass, s.min_language_score)
            language = pc.and_(pc.is_null(reason), pc.or_(other, weak))
            reason = pc.if_else(language, "language", reason)
        failure = table["extract_failure"]
        reason = pc.if_else(pc.is_valid(failure), failure, reason)
        drop = self.settings.drop_low_utility
        if drop:  # rows stage 1 flagged with one of the listed reasons: the crawl judged them first
            wanted = "|".join(sorted(drop))
            low = pc.match_substring_regex(table["low_utility"], f"(?:^|,)(?:{wanted})(?:,|$)")
            reason = pc.if_else(pc.fill_null(low, False), "low_utility", reason)
        return reason.combine_chunks().cast(pa.string())

    def finish(self, engine) -> dict:
        return {
            "extract": {
                "extractor": self.settings.extractor,
                **self._fallback_share(),
                "native": native_settings(),
                "trafilatura": html_extract.TRAFILATURA_SETTINGS,
                "langid_model": "fastText lid.176.ftz",
                "pii_placeholders": pii.PLACEHOLDERS,
            }
        }


_ROW_FIELDS = ("id", "source", "content_type", "text", "url", "title", "date",
               "extract_failure", "extract_detail", "low_utility", "page_topic", "page_format", "site_category", "dataset",
               "extractor")


COMMON_CRAWL_DUMP = re.compile(r"CC-MAIN-\d{4}-\d{2}")


def dataset_of(source: str, locator: str, site_category: str | None) -> str:
    """The dataset a document came from, for the meta header's `source` field: our crawl (by site
    category), a Common Crawl dump (named by its WARC file path), other archives, or loose files."""
    if source == "crawl":
        return f"crawl/{site_category}" if site_category else "crawl"
    dump = COMMON_CRAWL_DUMP.search(locator.rsplit("#", 1)[0])
    if dump:
        return f"commoncrawl/{dump.group(0)}"
    return source


class _Failed(Exception):
    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def _extract(record: RawRecord, pdf_max_pages: int,
             html_options: tuple[str, float]) -> tuple[str, str | None, str | None, str]:
    """(text, title, date, extractor) of one usable record; raises _Failed with a drop reason."""
    kind, data = record.kind, record.payload
    if kind == "html":
        text, _encoding = decode_html(data, charset_from_header(record.charset))
        if text is None:
            raise _Failed("undecodable", _encoding)
        try:
            result = html_extract.extract_html(utf8_source(data, text, _encoding), record.url, *html_options)
        except RecursionError:
            raise _Failed("extraction_error", "RecursionError (HTML nested too deeply)") from None
        except ValueError as exc:  # lxml: "Document is empty" and similar parser refusals
            raise _Failed("extraction_error", f"{type(exc).__name__}: {exc}") from None
        return result.text, result.title, result.date, result.extractor
    if kind in ("wet", "text"):
        if looks_binary(data):
            raise _Failed("undecodable", "binary")
        text, _encoding = decode_html(data, charset_from_header(record.charset))
        if text is None:
            raise _Failed("undecodable", _encoding)
        return text, None, None, "text"
    if kind == "pdf":
        try:
            result = extract_pdf(data, pdf_max_pages)
        except PdfError as exc:
            raise _Failed(exc.reason, str(exc)) from None
        return result.text, result.title, None, "pdfium"
    if kind == "epub":
        try:
            book = extract_epub(data)
        except EpubError as exc:
            raise _Failed("corrupt_epub", str(exc)) from None
        return book.text, book.title, None, "ebooklib"
    raise _Failed("unsupported_type", str(kind))


__all__ = ["ExtractStage"]
