"""Bytes → text for web payloads: BOM, valid UTF-8, HTTP charset, meta charset, then detection.

Invalid bytes are replaced, never fatal; a payload that still looks binary is reported as
undecodable so the caller can drop it with that reason.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CONTROL = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20)])  # C0 but \t\n\v\f\r, ESC

MAX_CONTROL_SHARE = 0.01       # share of C0 control bytes above which a "text" payload is binary
MAX_REPLACEMENT_SHARE = 0.05   # share of U+FFFD after decoding above which it is undecodable


def charset_from_header(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return _valid_codec(match.group(1)) if match else None


def _valid_codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def looks_binary(data: bytes) -> bool:
    """Control bytes (NUL and friends) that no text or HTML page carries in numbers."""
    head = data[:65536]
    controls = len(head) - len(head.translate(None, _CONTROL))  # deleting them: C speed, no regex
    return bool(head) and controls > MAX_CONTROL_SHARE * len(head)


def decode_html(data: bytes, header_charset: str | None = None) -> tuple[str | None, str]:
    """Return (text, encoding used); text is None when the payload is binary or undecodable."""
    if looks_binary(data) and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None, "binary"
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace"), name
    # Bytes that are valid UTF-8 (beyond ASCII) are UTF-8 whatever a header or meta tag claims:
    # mislabelled pages are common, while another encoding passing strict UTF-8 by chance is rare.
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = [header_charset]
    meta = _META_CHARSET.search(data[:4096])
    if meta:
        candidates.append(_valid_codec(meta.group(1).decode("ascii", "ignore")))
    for name in candidates:
        if name and name != "utf-8":
            return _checked(data.decode(name, errors="replace"), name)
    if "utf-8" in candidates:
        return _checked(data.decode("utf-8", errors="replace"), "utf-8")
    best = charset_normalizer.from_bytes(data[:65536]).best()
    name = best.encoding if best is not None else "utf-8"
    return _checked(data.decode(name, errors="replace"), name)


def utf8_source(data: bytes, text: str, encoding: str) -> bytes:
    """`text` (as decode_html returned it for `data`) in UTF-8: `data` itself when it was read as
    valid UTF-8 without a BOM, so an HTML parser reading bytes gets it without a re-encoding.
    A strictly valid read is told apart by the absence of U+FFFD (the lenient read of invalid
    UTF-8 puts one in for every bad sequence); a page that legitimately carries one is encoded."""
    if encoding == "utf-8" and not data.startswith(codecs.BOM_UTF8) and "\ufffd" not in text:
        return data
    return text.encode("utf-8", "replace")


def _checked(text: str, name: str) -> tuple[str | None, str]:
    if text and text.count("\ufffd") > MAX_REPLACEMENT_SHARE * len(text):
        return None, name
    return text, name
