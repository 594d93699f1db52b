"""Input readers: WARC/WET/ARC archives (warcio) and loose HTML/PDF/ePub/text files.

Every record becomes a RawRecord, usable or not: a record that cannot become a document carries a
`failure` reason (http_status, unsupported_type, too_large...) and a file that cannot be read to
its end yields one extra record with reason unreadable_file naming the file and error. Records that
are not documents at all (WARC request, metadata, warcinfo, revisit...) carry `skipped` = their
type: the stage counts them apart (`records_skipped`), so rows in/out count documents only.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader, DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.utils import BUFF_SIZE

from pipeline import io


class _IsalReader(DecompressingBufferedReader):
    """warcio's reader inflating gzip members with ISA-L (python-isal, zlib's API): reading the
    bench WARCs takes 34% less CPU (0.121 -> 0.079 s). A subclass, so warcio itself, and anyone
    else using it in the process, is unchanged."""

    DECOMPRESSORS = {**BufferedReader.DECOMPRESSORS,
                     "gzip": lambda: isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)}


class _ArchiveIterator(ArchiveIterator):
    """warcio's ArchiveIterator reading through _IsalReader (it reads nothing before iterating,
    so the reader it made is replaced before any use)."""

    def __init__(self, fileobj, **options):
        super().__init__(fileobj, **options)
        self.reader = _IsalReader(self.fh, block_size=options.get("block_size", BUFF_SIZE))

MIME_KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/epub+zip": "epub",
    "text/plain": "text",
}
# fields stage 1 (crawl/warc.py) writes on its response records: the selection layer's labels
LABELS = {"StepCrawl-Low-Utility": "low_utility", "StepCrawl-Page-Topic": "page_topic",
          "StepCrawl-Page-Format": "page_format", "StepCrawl-Site-Category": "site_category"}
EXTENSION_KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf",
                   ".epub": "epub", ".txt": "text"}


@dataclass
class RawRecord:
    locator: str                 # file path, plus "#offset" for an archive record
    url: str | None
    kind: str | None             # html | wet | text | pdf | epub (None when failed)
    payload: bytes = b""
    charset: str | None = None   # from the HTTP Content-Type header
    date: str | None = None      # WARC-Date (crawl time) when known
    failure: str | None = None   # drop reason when the record cannot become a document
    detail: str | None = None    # human detail for failures (error message, status, mime)
    skipped: str | None = None   # WARC type of a record that is no document (request, metadata...)
    labels: dict[str, str] | None = None  # our crawler's page labels (low_utility, page_topic, page_format)


def sniff_file(path: str) -> str:
    """warc | arc | html | pdf | epub | text | empty | unknown, from the first bytes (gzip-aware)."""
    with io.open_input(path) as fh:
        head = fh.read(4096)
    if not head:
        return "empty"
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(47).decompress(head, 4096)
        except zlib.error:
            return "unknown"
    stripped = head.lstrip()
    if stripped.startswith(b"WARC/"):
        return "warc"
    if stripped.startswith(b"filedesc://"):
        return "arc"
    if stripped.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK") and b"application/epub+zip" in head[:200]:
        return "epub"
    lower = stripped[:1024].lower()
    if lower.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body", b"<!--", b"<meta")):
        return "html"
    name = path.lower().rsplit("/", 1)[-1]
    return EXTENSION_KINDS.get(os.path.splitext(name)[1], "unknown")


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def sniff_payload(data: bytes) -> str | None:
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<div")):
        return "html"
    return None


def read_file(path: str, max_bytes: int) -> Iterator[RawRecord]:
    """All records of one input file; never raises for a bad file (it becomes a failure record)."""
    try:
        kind = sniff_file(path)
    except OSError as exc:
        yield RawRecord(path, None, None, failure="unreadable_file", detail=f"{path}: {exc}")
        return
    if kind in ("warc", "arc"):
        yield from read_archive(path, max_bytes, check_lengths=kind == "warc")
        return
    url = path if "://" in path else "file://" + os.path.abspath(path)
    if kind == "empty":
        yield RawRecord(path, url, None, failure="empty_file", detail=path)
        return
    if kind == "unknown":
        yield RawRecord(path, url, None, failure="unsupported_file", detail=path)
        return
    with io.open_input(path) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        yield RawRecord(path, url, None, failure="too_large", detail=f"{path}: over {max_bytes} bytes")
        return
    yield RawRecord(path, url, kind, payload=data)


def read_archive(path: str, max_bytes: int, check_lengths: bool = True) -> Iterator[RawRecord]:
    """Records of a WARC, WET or ARC file (gzip per record, whole-file gzip or plain).

    check_lengths: a record shorter than its Content-Length means the file was cut (WARC only:
    ARC lengths are loose, warcio's own valid samples are off by a few bytes).
    """
    done = 0
    try:
        with io.open_input(path) as fh:
            records = _ArchiveIterator(fh, arc2warc=True)
            for record in records:
                raw = _located(_archive_record(record, max_bytes), f"{path}#", records)
                cut = _cut_short(record, check_lengths)
                yield _truncated(path, raw) if cut else raw
                done += 1
                if cut:
                    return
        return
    except ArchiveLoadFailed as exc:
        error: Exception = exc
        whole_file_gzip = "single gzip member" in str(exc)
    except (EOFError, zlib.error, OSError, ValueError, AttributeError) as exc:
        # AttributeError: warcio's parser on a response record whose WARC-Target-URI was damaged away
        error, whole_file_gzip = exc, False
    if whole_file_gzip:
        # One gzip stream over the whole file: warcio refuses it, so decompress it as a stream
        # and read the records again (those already yielded are skipped; "#u" = offset unzipped).
        try:
            with io.open_input(path) as raw, gzip.GzipFile(fileobj=raw) as fh:
                records = _ArchiveIterator(fh, arc2warc=True)
                for index, record in enumerate(records):
                    if index >= done:
                        raw = _located(_archive_record(record, max_bytes), f"{path}#u", records)
                        cut = _cut_short(record, check_lengths)
                        yield _truncated(path, raw) if cut else raw
                        if cut:
                            return
            return
        except (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError, AttributeError) as exc:
            error = exc
    message = " ".join(str(error).split())[:300] or type(error).__name__
    yield RawRecord(path, None, None, failure="unreadable_file", detail=f"{path}: {type(error).__name__}: {message}")


def _target_uri(record) -> str | None:
    uri = record.rec_headers.get_header("WARC-Target-URI")
    return uri.strip().strip("<>") if uri else None


def _cut_short(record, check_lengths: bool) -> bool:
    """The file ended inside this record: fewer bytes than its Content-Length (truncated file)."""
    if record.length is None:  # a partial header block after the cut: no Content-Length
        return True
    return check_lengths and getattr(record.raw_stream, "limit", 0) > 0


def _truncated(path: str, raw: RawRecord) -> RawRecord:
    detail = f"{path}: file ends inside the record at {raw.locator.rsplit('#', 1)[-1]} (truncated)"
    return RawRecord(raw.locator, raw.url, None, date=raw.date, failure="truncated_file", detail=detail)


def _located(record: RawRecord, prefix: str, records: ArchiveIterator) -> RawRecord:
    """Set the locator after the payload was read (warcio's offset call reads the record to its end)."""
    record.locator = f"{prefix}{records.get_record_offset()}"
    return record


def _archive_record(record, max_bytes: int) -> RawRecord:
    locator = ""
    url = _target_uri(record)
    date = record.rec_headers.get_header("WARC-Date")
    rtype = record.rec_type
    if rtype not in ("response", "resource", "conversion"):
        return RawRecord(locator, url, None, date=date, skipped=rtype)
    charset = None
    if rtype == "conversion":
        kind = "wet"
    elif rtype == "response" and record.http_headers is not None:
        status = record.http_headers.get_statuscode()
        if status != "200":
            return RawRecord(locator, url, None, date=date, failure="http_status", detail=str(status))
        content_type = record.http_headers.get_header("Content-Type")
        kind = MIME_KINDS.get(_mime(content_type))
        charset = content_type
        if kind is None and _mime(content_type):
            return RawRecord(locator, url, None, date=date, failure="unsupported_type", detail=_mime(content_type))
    elif rtype == "response":
        return RawRecord(locator, url, None, date=date, failure="non_response", detail="response without HTTP headers")
    else:
        content_type = record.rec_headers.get_header("Content-Type")
        kind = MIME_KINDS.get(_mime(content_type))
        if kind is None and _mime(content_type) and not _mime(content_type).startswith("application/octet"):
            return RawRecord(locator, url, None, date=date, failure="unsupported_type", detail=_mime(content_type))
    payload = record.content_stream().read(max_bytes + 1)
    if len(payload) > max_bytes:
        return RawRecord(locator, url, None, date=date, failure="too_large", detail=f"over {max_bytes} bytes")
    if kind is None:
        kind = sniff_payload(payload)
        if kind is None:
            return RawRecord(locator, url, None, date=date, failure="unsupported_type", detail="unknown payload")
    labels = {key: value for header, key in LABELS.items() if (value := record.rec_headers.get_header(header))}
    return RawRecord(locator, url, kind, payload=payload, charset=charset, date=date, labels=labels or None)
