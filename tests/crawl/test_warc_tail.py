"""A SIGKILL can cut the WARC anywhere inside the record group being written; on resume
`scan_tail` must keep exactly the whole groups and leave a file every WARC reader accepts."""

from __future__ import annotations

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawl.warc import Exchange, WarcWriter, scan_tail

PAGE = Path("/usr/share/doc/python3.11/html/library/json.html")  # python3-doc (make setup)


def _exchange(n: int) -> Exchange:
    url = f"http://127.0.0.1/library/json-{n}.html"
    return Exchange(url=url, request_line=f"GET /library/json-{n}.html HTTP/1.1", request_headers=[("Host", "127.0.0.1")],
                    status=200, reason="OK", response_headers=[("Content-Type", "text/html")],
                    http_version="HTTP/1.1", payload=PAGE.read_bytes())


def _records(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for record in ArchiveIterator(f) if record.content_stream().read() is not None)


def test_a_cut_anywhere_in_the_last_group_is_removed_whole(tmp_path):
    writer = WarcWriter(tmp_path / "warc", 1, 10**9, 6, "test")
    for n in range(2):
        writer.write(_exchange(n), {"url": f"http://127.0.0.1/library/json-{n}.html", "kind": "page", "reason": "ok"})
    name, committed = writer.position()
    writer.write(_exchange(2), {"url": "http://127.0.0.1/library/json-2.html", "kind": "page", "reason": "ok"})
    writer.close()
    whole = (tmp_path / "warc" / name).read_bytes()
    cut_file = tmp_path / "cut.warc.gz"
    # every cut in the last 64 bytes (the metadata member's gzip trailer among them), then a stride
    cuts = sorted({*range(len(whole) - 64, len(whole)), *range(committed, len(whole), 97)})
    for cut in cuts:
        cut_file.write_bytes(whole[:cut])
        rows = scan_tail(cut_file, committed)
        assert rows == [], cut  # the last group is incomplete: nothing replayed ...
        assert cut_file.stat().st_size == committed, cut  # ... and it is cut off whole
        assert _records(cut_file) == 1 + 2 * 3  # warcinfo + two (request, response, row) groups
    cut_file.write_bytes(whole)
    rows = scan_tail(cut_file, committed)
    assert [row["url"] for row, _ in rows] == ["http://127.0.0.1/library/json-2.html"]
    assert rows[0][1] == PAGE.read_bytes() and cut_file.stat().st_size == len(whole)
