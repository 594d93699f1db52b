"""Real Chinese pages with expected main text (../shared/data/zh, see its SOURCE.md); scored by
character-bigram F1 (bench.extract_peer_worker.bigram_f1, the bench's own measure)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

# goose3's expected text is a 150-character prefix of the article (its test compares prefixes):
# precision against it would be meaningless.
_PREFIX_ONLY = {"goose3:content/test_bbc_chinese.html"}


def load_zh_pages(shared_data: Path) -> list[tuple[str, bytes, str]]:
    """(id, page bytes, expected text) of the pages whose whole main text is given."""
    base = shared_data / "zh"
    rows = [json.loads(line) for line in (base / "html" / "manifest.jsonl").read_text().splitlines()]
    return [(r["id"], gzip.decompress((base / r["path"]).read_bytes()), r["gt_text"]) for r in rows
            if r["gt_type"] in ("expected_text", "reference_extraction_html") and r["id"] not in _PREFIX_ONLY]
