"""WARC output: one gzip member per record (warcio serialises, we compress at a chosen level).

Each fetch writes request + response records (robots.txt and sitemaps included) and one
`metadata` record holding the attempt's row as JSON, so the WARC alone tells the whole story and
records written after the frontier's last commit can be replayed on resume (see `scan_tail`).
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline import faults

ROW_CONTENT_TYPE = "application/vnd.stepcrawl.row+json"
# response-record fields carrying the page's labels (stage 2 reads them: filters/extract/readers.py)
LABEL_HEADERS = {"StepCrawl-Low-Utility": "low_utility_reasons", "StepCrawl-Page-Topic": "page_topic",
                 "StepCrawl-Page-Format": "page_format", "StepCrawl-Site-Category": "site_category"}
_HOP_BY_HOP = {"transfer-encoding", "content-encoding", "content-length", "connection", "keep-alive"}


@dataclass
class Exchange:
    """One HTTP request/response as it went over the wire (payload already de-chunked/decoded)."""

    url: str
    request_line: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    http_version: str
    response_headers: list[tuple[str, str]]
    payload: bytes
    truncated: bool = False


def _gzip_member(data: bytes, level: int) -> bytes:
    comp = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return comp.compress(data) + comp.flush()


class WarcWriter:
    """Appends records to DIR/crawl-SSSSS-NNN.warc.gz, starting a new file past max_bytes."""

    def __init__(self, folder: Path, session: int, max_bytes: int, level: int, software: str):
        self.folder, self.session, self.max_bytes, self.level = folder, session, max_bytes, level
        self.software = software
        self.index = 0
        self.file = None
        folder.mkdir(parents=True, exist_ok=True)
        self._open()

    @property
    def name(self) -> str:
        return f"crawl-{self.session:05d}-{self.index:03d}.warc.gz"

    def _open(self) -> None:
        self.file = open(self.folder / self.name, "ab")
        if self.file.tell() == 0:
            self._write_records([self._writer().create_warcinfo_record(self.name, {"software": self.software})])

    def _writer(self) -> WARCWriter:
        return WARCWriter(io.BytesIO(), gzip=False)

    def _write_records(self, records) -> None:
        chunks = []
        for record in records:
            buf = io.BytesIO()
            WARCWriter(buf, gzip=False).write_record(record)
            chunks.append(_gzip_member(buf.getvalue(), self.level))
        data = b"".join(chunks)
        if faults.enabled():  # the reliability tests may kill the crawl with half a record written
            self.file.write(data[: len(data) // 2])
            self.file.flush()
            faults.point(f"half-written {self.name}")
            data = data[len(data) // 2:]
        self.file.write(data)
        self.file.flush()
        faults.point(f"appended {self.name}")

    def position(self) -> tuple[str, int]:
        return self.name, self.file.tell()

    def write(self, exchange: Exchange | None, row: dict) -> None:
        """Request + response (when there was one) and the attempt's row, in one flushed write."""
        if self.file.tell() > self.max_bytes:
            self.file.close()
            self.index += 1
            self._open()
        w = self._writer()
        records = []
        if exchange is not None:
            response_id = f"<urn:uuid:{uuid.uuid4()}>"
            request = w.create_warc_record(
                exchange.url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(
                    exchange.request_line, exchange.request_headers, is_http_request=True
                ),
                warc_headers_dict={"WARC-Concurrent-To": response_id},
            )
            headers = [(k, v) for k, v in exchange.response_headers if k.lower() not in _HOP_BY_HOP]
            headers.append(("Content-Length", str(len(exchange.payload))))
            extra = {"WARC-Record-ID": response_id}
            if exchange.truncated:
                extra["WARC-Truncated"] = "length"
            # the selection layer's labels travel with the page to stage 2 (extension fields)
            for header, key in LABEL_HEADERS.items():
                if row.get(key):
                    extra[header] = str(row[key])
            response = w.create_warc_record(
                exchange.url,
                "response",
                payload=io.BytesIO(exchange.payload),
                length=len(exchange.payload),  # known: no temp-file buffering inside warcio
                http_headers=StatusAndHeaders(
                    f"{exchange.status} {exchange.reason}", headers, protocol=exchange.http_version
                ),
                warc_headers_dict=extra,
            )
            records += [request, response]
        meta = json.dumps(row, sort_keys=True).encode()
        records.append(
            w.create_warc_record(
                row["url"], "metadata", payload=io.BytesIO(meta), length=len(meta),
                warc_content_type=ROW_CONTENT_TYPE,
            )
        )
        self._write_records(records)

    def close(self) -> None:
        if self.file:
            self.file.close()
            self.file = None


def _complete_member(f, start: int, end: int) -> bool:
    """Whether bytes [start, end) of the open file are one whole gzip member, trailer included
    (the file position is restored for the iterator)."""
    here = f.tell()
    f.seek(start)
    member = f.read(end - start)
    f.seek(here)
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    inflater.decompress(member)
    return inflater.eof


def scan_tail(path: Path, offset: int) -> list[tuple[dict, bytes | None]]:
    """Rows (and their response payloads) written after `offset`; cuts off a half-written record.

    A SIGKILL can leave a partial gzip member at the end; the file is truncated to the end of the
    last complete record, so every WARC stays readable.
    """
    out: list[tuple[dict, bytes | None]] = []
    good_end = offset
    payload: bytes | None = None
    with open(path, "rb") as f:
        f.seek(offset)
        iterator = ArchiveIterator(f)
        try:
            for record in iterator:
                kind = record.rec_type
                body = record.content_stream().read() if kind in ("response", "metadata") else b""
                iterator.read_to_end()
                start = iterator.get_record_offset()  # absolute: warcio starts counting at f.tell()
                end = start + iterator.get_record_length()
                if not _complete_member(f, start, end):
                    break  # cut inside its gzip trailer: it decompresses, yet is not a whole record
                if kind == "response":
                    payload = body
                elif kind == "metadata" and record.rec_headers.get_header("Content-Type") == ROW_CONTENT_TYPE:
                    out.append((json.loads(body), payload))
                    payload = None
                    good_end = end
                elif kind == "warcinfo":
                    good_end = end
        except Exception:  # noqa: BLE001 - a torn tail record; everything before it is kept
            pass
    if os.path.getsize(path) != good_end:
        with open(path, "r+b") as f:
            f.truncate(good_end)
    return out
