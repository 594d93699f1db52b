"""Deterministic document ids: the same source, locator and content always give the same id."""

import hashlib


def doc_id(source: str, locator: str, content: str | bytes) -> str:
    """Return a 32-hex-digit id from blake2b(source, locator, content).

    The parts are length-prefixed so that ("ab", "c") and ("a", "bc") never collide.
    """
    h = hashlib.blake2b(digest_size=16)
    for part in (source, locator, content):
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()
