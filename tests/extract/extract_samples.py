"""Generators for the extract tests: PDFs, ePubs and WARCs written in tmp dirs (no binaries in git)."""

from __future__ import annotations

import io
import random
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def make_pdf(pages: list[list[str]], encrypted: bool = False, title: str | None = None) -> bytes:
    """A minimal valid PDF (Helvetica text, one line per string); `encrypted` adds a Standard
    security handler with a non-empty user password, so no reader can open it without it."""
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        content_id = page_ids[i] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 750 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    trailer_extra = b""
    if title:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
        trailer_extra += f" /Info {len(objects)} 0 R".encode()
    if encrypted:
        rng = random.Random(7)
        o_value, u_value = rng.randbytes(32).hex(), rng.randbytes(32).hex()
        objects.append(f"<< /Filter /Standard /V 1 /R 2 /O <{o_value}> /U <{u_value}> /P -44 >>".encode())
        trailer_extra += f" /Encrypt {len(objects)} 0 R /ID [<{'ab' * 16}> <{'ab' * 16}>]".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R" % (len(objects) + 1) + trailer_extra + b" >>\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def make_epub(path: Path, title: str, chapters: list[tuple[str, str]]) -> Path:
    """An ePub whose spine lists `chapters` (file name, paragraph text) in the given order."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("test-book-1")
    book.set_title(title)
    book.set_language("en")
    items = []
    for name, text in chapters:
        item = epub.EpubHtml(title=name, file_name=name, lang="en")
        item.content = f"<html><body><h1>{name}</h1><p>{text}</p></body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = items
    epub.write_epub(str(path), book)
    return path


def write_warc(path: Path, records: list[tuple[str, str, bytes]], gzip: bool = True) -> Path:
    """A WARC of HTTP 200 response records (url, content type, payload)."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for url, content_type, payload in records:
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers)
            writer.write_record(record)
    return path
