"""trafilatura's evaluation snippets: which `with` segments appear and which `without` do not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def load_pages(shared_data: Path) -> list[tuple[str, str, dict]]:
    """(url, html, entry) for the staged pages, decoded as trafilatura's tests do (utf-8)."""
    base = shared_data / "trafilatura"
    entries = json.loads((base / "evaldata_staged_subset.json").read_text())
    return [
        (url, (base / e["dir"] / e["file"]).read_bytes().decode("utf-8", errors="replace"), e)
        for url, e in sorted(entries.items())
    ]


def snippet_scores(pages, extract: Callable[[str, str], str]) -> dict[str, float]:
    """Share of snippets satisfied, and precision/recall/F1 as trafilatura's evaluation counts them."""
    tp = fn = fp = tn = 0
    for url, html, entry in pages:
        text = extract(html, url) or ""
        hits = [s in text for s in entry["with"]]
        leaks = [s in text for s in entry["without"]]
        tp, fn = tp + sum(hits), fn + len(hits) - sum(hits)
        fp, tn = fp + sum(leaks), tn + len(leaks) - sum(leaks)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {
        "with_share": tp / max(tp + fn, 1),
        "without_share": tn / max(tn + fp, 1),
        "satisfied_share": (tp + tn) / max(tp + fn + fp + tn, 1),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-9),
    }
