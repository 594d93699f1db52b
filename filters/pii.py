"""PII redaction that does not corrupt text: emails, public IP addresses, phone numbers.

Only what can be personal is replaced, and only where it is text, not code:
- emails: a syntactically valid address whose domain ends in a real top-level domain (the public
  suffix list shipped by `tld`), not a reserved documentation domain (example.com, .test,
  .invalid, .localhost, RFC 2606/6761), not an scp/ssh address (`git@github.com:org/repo`) and
  not a message/tracking id (8+ digits in a row in the local part);
- IP addresses: IPv4 with four octets (not part of a longer dotted number: OIDs 1.3.6.1.5.5.7.3.1,
  versions 5.5.7.3.1) and IPv6 as Python's `ipaddress` parses them, kept only when the address is
  globally routable (`is_global`: not loopback, private, link-local, documentation, reserved,
  shared or multicast ranges; IPv6 inside 2000::/3), as datatrove's `only_remove_public_ip`;
- phone numbers: validated with libphonenumber's metadata (`phonenumbers`, pinned): a number in
  international form (+CC, or 00CC) must be a valid number of its country; a national one must be
  valid in one of PHONE_REGIONS and follow a phone cue (tel, phone, fax, call, mobile, 电话…)
  within PHONE_CUE_WINDOW characters, so dates, money, order numbers and digit runs stay;
- never inside code: a candidate quoted as a string literal, or on a stretch of text that reads
  as code (a `>>>`/`$` prompt, an assignment or call around it) is left as it is. Stage 2 gives
  plain text (code blocks are not marked), so code is recognised from the characters around.

Speed: one RE2 pass over the whole column (Arrow's kernel) finds the documents with any
candidate; only those go through Python, and phonenumbers parses only cued or international
candidates. Counts per kind are returned as columns either way (`redact=False` keeps the text).
"""

from __future__ import annotations

import ipaddress
import re

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import re2
from tld import is_tld

PLACEHOLDERS = {"emails": "<EMAIL>", "ips": "<IP_ADDRESS>", "phones": "<PHONE>"}

# Regions whose national numbering plans are tried for a cued national number (the largest web
# languages' main countries); an international number carries its own country code.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "BR", "IN", "CN", "JP", "RU",
                 "AU", "CA", "CH", "AT", "MX")
PHONE_CUE_WINDOW = 30

# RE2 (Arrow) prefilters, one per kind, over the whole column: only documents with a candidate
# of a kind run that kind's Python pass. The phone one asks for an international prefix or a cue
# word before the digits, as the Python pass does (most documents with digit runs have neither).
PREFILTERS = {
    "emails": r"[\w.+-]@[\w-]+\.[A-Za-z]",
    "ips": r"\d\.\d{1,3}\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:|::[0-9A-Fa-f]",
    "phones": (r"(?:\+|\b00)\d{1,3}[ ().\-/]{0,3}\d"
               r"|(?i:tel|phone|fon|fax|mob|cell|handy|call|sms|text|whatsapp|contact|kontakt|reach|"
               r"hotline|helpline|rufen|appel|llam|chiam|bel|zadzwo|num[ée]ro|\bph\b|\b[tfm]:)[^\d\n]{0,30}\d"
               r"|☎|📞|电话|電話|手机|联系|携帯|(?i:тел|звоните|номер)"),
}
_EMAIL = re.compile(r"(?<![\w.%+:/=-])([A-Za-z0-9._%+-]+)@((?:[A-Za-z0-9-]+\.)+([A-Za-z]{2,63}))\b(?![@/])")
# Scanned with RE2 (linear, ~10x Python's re on these patterns); RE2 has no lookaround, so the
# characters around a match are checked by _clear() instead.
_IPV4 = re2.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_IPV6 = re2.compile(r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?")
# a phone-shaped run: optional +CC / 00CC, then digits with the usual separators, 7-15 digits
_PHONE = re2.compile(r"(?:\+|00)?\(?\d[\d \t().\-/–]{5,24}\d")  # –: en dash
_HEX = frozenset("0123456789abcdefABCDEF")
_CUE = re.compile(
    r"(?:(?i:\b(?:tel|tél|tele(?:ph|f)on[eo]?|téléphone|teléfono|telefone|telefonnummer|rufnummer|"
    r"phone|ph|fon|fax|mobile?|mob|cell|handy|call|sms|text|whatsapp|contact|kontakt|reach|hotline|helpline|"
    r"anrufen|rufen|appel(?:ez|er)?|llam(?:e|ar|a)|chiam(?:a|are)|bel(?:len)?|zadzwoń|numéro)\b)"
    r"|\b[TFM]:|☎|📞|电话|電話|手机|联系|携帯|(?i:тел|звоните|номер))[^\d\n]*$"
)
# dates (2016-02-01, 01.02.2016, 1/2/2016) are never phone numbers, whatever the cue before them
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_DATE_HOUR = re.compile(f"(?:{_DATE.pattern})[ T]\\d{{1,2}}")  # a timestamp's date and hour ("2005-03-23 23:47")
_QUOTES = {"'": "'", '"': '"', "`": "`", "‘": "’", "“": "”"}
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("test", "example", "invalid", "localhost", "local")
_LITERAL_OPEN = re.compile(r"(?:[=(\[{,:]|>>>|\breturn)\s*[rbuf]?['\"`]$")  # a string literal in code
_PROMPT = re.compile(r"(?:^|\s)(?:>>>|\$) \S")  # an interpreter or shell prompt earlier on the line


def redact(texts: pa.Array | pa.ChunkedArray, apply: bool = True) -> tuple[pa.Array, dict[str, pa.Array]]:
    """(texts with placeholders, {"pii_emails": counts, "pii_ips": ..., "pii_phones": ...}).

    With apply=False the texts come back unchanged, the counts are the same."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.string())
    n = len(texts)
    counts = {kind: [0] * n for kind in PLACEHOLDERS}
    masks = {kind: pc.fill_null(pc.match_substring_regex(texts, pattern), False).to_numpy(zero_copy_only=False)
             for kind, pattern in PREFILTERS.items()}
    rows = [i for i in range(n) if masks["emails"][i] or masks["ips"][i] or masks["phones"][i]]
    if not rows:
        return texts, {f"pii_{k}": pa.array(v, pa.int32()) for k, v in counts.items()}
    values = texts.to_pylist() if apply else None
    for i in rows:
        text = texts[i].as_py()
        out, found = redact_text(text, tuple(kind for kind in PLACEHOLDERS if masks[kind][i]))
        for kind, c in found.items():
            counts[kind][i] = c
        if apply and out is not text:
            values[i] = out
    result = pa.array(values, pa.string()) if apply else texts
    return result, {f"pii_{k}": pa.array(v, pa.int32()) for k, v in counts.items()}


def redact_text(text: str, kinds: tuple[str, ...] = tuple(PLACEHOLDERS)) -> tuple[str, dict[str, int]]:
    """One text: (text with placeholders, counts per kind)."""
    spans = find_pii(text, kinds)
    counts = {kind: 0 for kind in PLACEHOLDERS}
    if not spans:
        return text, counts
    parts, last = [], 0
    for start, end, kind in spans:
        parts += [text[last:start], PLACEHOLDERS[kind]]
        counts[kind] += 1
        last = end
    parts.append(text[last:])
    return "".join(parts), counts


def find_pii(text: str, kinds: tuple[str, ...] = tuple(PLACEHOLDERS)) -> list[tuple[int, int, str]]:
    """Sorted, non-overlapping (start, end, kind) spans of the PII to replace."""
    spans: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: str) -> None:
        if any(s < end and start < e for s, e in taken) or _in_code(text, start, end):
            return
        spans.append((start, end, kind))
        taken.append((start, end))

    if "emails" in kinds:
        at = text.find("@")
        while at != -1:  # anchored on each "@": the local part backwards, the domain forwards
            m = _EMAIL.search(text, max(0, at - 64), at + 256)
            while m is not None and m.end(1) < at:
                m = _EMAIL.search(text, m.end(1) + 1, at + 256)
            if m is not None and m.end(1) == at and _is_personal_email(text, m):
                add(m.start(), m.end(), "emails")
            at = text.find("@", at + 1)
    if "ips" in kinds:
        for m in _IPV4.finditer(text):
            start, end = m.start(), m.end()
            # not inside a longer dotted number (OID, version), a CIDR network or an IPv6 address
            if (_clear(text, start, end, ".-", "-") and text[end:end + 2][:1] not in ("/",)
                    and not (text[end:end + 1] == "." and text[end + 1:end + 2].isdigit())
                    and not (text[start - 1:start] == ":" and text[start - 2:start - 1] in _HEX)
                    and _is_public(m.group(0)) and not _reads_as_version(text, start, end)):
                add(start, end, "ips")
        if ":" in text:
            for m in _IPV6.finditer(text):
                start, end = m.start(), m.end()
                if (_clear(text, start, end, ":.", ":") and text[end:end + 1] != "/"
                        and _is_public(m.group(0))):
                    add(start, end, "ips")
    if "phones" in kinds:
        for m in _PHONE.finditer(text):
            start, end = m.start(), m.end()
            after = text[end:end + 2]
            if (_clear(text, start, end, "+./#№-", "/") and not (after[:1] in ".,-" and after[1:2].isdigit())):
                span = _phone_span(text, start, m.group(0))
                if span:
                    add(*span, "phones")
    return sorted(spans)


def _is_personal_email(text: str, m: re.Match) -> bool:
    local, domain, top = m.group(1), m.group(2).lower(), m.group(3).lower()
    if not is_tld(top) or top in _RESERVED_TLDS:
        return False
    if domain in _RESERVED_DOMAINS or domain.endswith(tuple("." + d for d in _RESERVED_DOMAINS)):
        return False
    if re.search(r"\d{8}", local):  # message-id / tracking token, not a mailbox of a person
        return False
    after = text[m.end():m.end() + 2]
    return not (after[:1] == ":" and after[1:2] not in ("", " ", "\n", "\t"))  # git@host:org/repo


def _is_public(candidate: str) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if address.version == 6 and not (address in _GLOBAL_UNICAST_V6 and address.ipv4_mapped is None):
        return False
    return address.is_global and not address.is_multicast


_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


def _clear(text: str, start: int, end: int, before: str, after: str) -> bool:
    """No word character (nor one of `before` / `after`) right before / after the match."""
    prev, nxt = text[start - 1:start], text[end:end + 1]
    return not ((prev and (prev.isalnum() or prev == "_" or prev in before))
                or (nxt and (nxt.isalnum() or nxt == "_" or nxt in after)))


def _reads_as_version(text: str, start: int, end: int) -> bool:
    """A dotted quad whose first three numbers are single digits (2.7.2.2, 8.6.4.10) is a version
    or a section number; the public addresses of that shape are well-known services (1.1.1.1,
    8.8.8.8, 4.2.2.2), nobody's personal address. "4.2.1.1. Title" at a line start is a heading."""
    octets = text[start:end].split(".")
    if all(len(o) == 1 for o in octets[:3]):
        return True
    at_line_start = start == 0 or text[start - 1] == "\n"
    return at_line_start and text[end:end + 2] == ". "


def _phone_span(text: str, start: int, raw: str) -> tuple[int, int] | None:
    raw = raw.rstrip(" \t().-/\u2013")
    if raw.startswith("(") and ")" not in raw:
        raw, start = raw[1:], start + 1
    digits = sum(ch.isdigit() for ch in raw)
    if not 7 <= digits <= 15:
        return None
    end = start + len(raw)
    international = raw.startswith(("+", "00"))
    if _DATE.fullmatch(raw.replace(" ", "")) or _DATE_HOUR.fullmatch(raw):
        return None
    if not international and not _CUE.search(text[max(0, start - PHONE_CUE_WINDOW):start]):
        return None
    number = raw.replace("\u2013", "-")
    if international:
        number = "+" + number[2:] if number.startswith("00") else number
        return (start, end) if _valid(number, None) else None
    return (start, end) if any(_valid(number, region) for region in PHONE_REGIONS) else None


def _valid(number: str, region: str | None) -> bool:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def _in_code(text: str, start: int, end: int) -> bool:
    """Is the span code rather than prose: quoted as a literal ('x', "x", `x`, ‘x’), a string
    literal after code punctuation, or after an interpreter/shell prompt on the same line (within
    60 characters)?"""
    before, after = text[start - 1:start], text[end:end + 1]
    if before == "<" and after == ">":  # '<user@host>' quoted with its angle brackets
        before, after = text[start - 2:start - 1], text[end + 1:end + 2]
    if before in _QUOTES and before and after == _QUOTES[before]:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    head = text[max(line_start, start - 60):start]
    return bool(_LITERAL_OPEN.search(head) or _PROMPT.search(head))
