"""PII sanitisation: emails, IPv4/IPv6 addresses and phone numbers → placeholders, with counts.

Vectorised with Arrow's RE2 kernels (count, then replace) over a whole column of texts, so stage 2
and later stages (tokenize, github) share one implementation.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
# (column suffix, RE2 pattern, placeholder); applied in this order (emails before phones/IPs).
PATTERNS: list[tuple[str, str, str]] = [
    ("emails", r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b", "<EMAIL>"),
    (
        "ips",
        r"(?:\b(?:" + _OCTET + r"\.){3}" + _OCTET + r"\b)"
        r"|(?:\b(?:" + _H + r":){7}" + _H + r"\b)"
        r"|(?:\b(?:" + _H + r":){1,6}(?::" + _H + r"){1,6}\b)"
        r"|(?:\b(?:" + _H + r":){1,7}:(?:[^0-9A-Fa-f:]|$))"
        r"|(?:::(?:" + _H + r":){0,6}" + _H + r"\b)",
        "<IP_ADDRESS>",
    ),
    (
        "phones",
        r"(?:\+[1-9][0-9]{0,2}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?\b[0-9]{2,4}[ .-][0-9]{2,4}[ .-][0-9]{3,4}\b"
        r"|\([0-9]{2,4}\)[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,4}\b"
        r"|\+[1-9][0-9]{7,13}\b",
        "<PHONE>",
    ),
]


def redact(texts: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, dict[str, pa.Array]]:
    """Return (texts with placeholders, {"pii_emails": counts, "pii_ips": ..., "pii_phones": ...})."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.large_string())
    counts: dict[str, pa.Array] = {}
    for name, pattern, placeholder in PATTERNS:
        counts[f"pii_{name}"] = pc.fill_null(pc.count_substring_regex(texts, pattern), 0).cast(pa.int32())
        texts = pc.replace_substring_regex(texts, pattern, placeholder)
    return texts.cast(pa.string()), counts


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """One text (for callers outside a table)."""
    out, counts = redact(pa.array([text], pa.string()))
    return out[0].as_py(), {k: v[0].as_py() for k, v in counts.items()}
