"""Secrets and personal data in code: found, replaced by a placeholder, counted by kind.

- private keys: whole PEM blocks (`-----BEGIN … PRIVATE KEY-----` … `-----END …-----`) → <PRIVATE_KEY>;
- credentials: detect-secrets' (Yelp, pinned) detectors for AWS, GitHub, GitLab, Slack, Stripe,
  OpenAI, npm, PyPI, SendGrid, Twilio, Discord, Telegram, JWTs, Azure, IBM, Mailchimp, Square,
  Artifactory, Cloudant, SoftLayer keys and tokens, passwords in URLs (basic auth) and hard-coded
  password/secret/token assignments → <SECRET>. Its high-entropy-string detectors are left out:
  in code they fire on hashes, test vectors and ids;
- emails with a real top-level domain, not a documentation domain (example.com, .test, .invalid,
  .localhost, .example) and not a `git@host:` address → <EMAIL>.

detect-secrets scans line by line; only lines an RE2 pre-filter flags (a key prefix or a keyword)
go through it. A detector reports the secret's value; the replaced span is that value widened to
the token it sits in (letters, digits and _-+/=.), so a partial report still removes the whole key.
"""

from __future__ import annotations

import functools
import re

import re2

PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY"
                         r"(?: BLOCK)?-----|\Z)")
CANDIDATE_LINE = re2.compile(
    r"(?i)(?:key|token|secret|passw|pwd|auth|credential|bearer|api|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox[abpors]-"
    r"|sk_live|rk_live|sk-|SG\.|eyJ|npm_|pypi-|://[^/\s:@]+:[^/\s@]+@|hooks\.slack)")
EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])")
DOC_DOMAINS = ("example.com", "example.org", "example.net")
DOC_TLDS = (".test", ".invalid", ".localhost", ".example", ".local")
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.]")
UNUSED = {"Base64 High Entropy String", "Hex High Entropy String", "Public IP (ipv4)"}
PLACEHOLDERS = {"private_key": "<PRIVATE_KEY>", "secret": "<SECRET>", "email": "<EMAIL>"}


@functools.lru_cache(maxsize=1)
def _detectors() -> list:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return [cls() for kind, cls in sorted(get_mapping_from_secret_type_to_class().items()) if kind not in UNUSED]


def _widen(line: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and TOKEN_CHARS.match(line[start - 1]):
        start -= 1
    while end < len(line) and TOKEN_CHARS.match(line[end]):
        end += 1
    return start, end


def _secret_spans(line: str, filename: str) -> list[tuple[int, int]]:
    spans = []
    for detector in _detectors():
        for found in detector.analyze_line(filename=filename, line=line, line_number=0):
            value = found.secret_value
            if not value:
                continue
            at = line.find(value)
            while at >= 0:
                spans.append(_widen(line, at, at + len(value)))
                at = line.find(value, at + len(value))
    return spans


def _is_personal_email(address: str, text: str, end: int) -> bool:
    from tld import is_tld

    domain = address.rsplit("@", 1)[1].lower()
    if domain in DOC_DOMAINS or domain.endswith(tuple("." + d for d in DOC_DOMAINS)) or domain.endswith(DOC_TLDS):
        return False
    if text[end:end + 1] == ":" and address.split("@", 1)[0] == "git":  # git@github.com:org/repo
        return False
    return is_tld(domain.rsplit(".", 1)[1])


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for start, end, placeholder in sorted(spans, key=lambda s: (s[0], -s[1])):  # the longest first
        if start < at:  # overlaps an earlier span: already replaced
            continue
        out.append(text[at:start])
        out.append(placeholder)
        at = end
    out.append(text[at:])
    return "".join(out)


def redact(text: str, filename: str = "file") -> tuple[str, dict[str, int]]:
    """The text with secrets and emails replaced, and how many of each kind were replaced."""
    counts = {"private_key": 0, "secret": 0, "email": 0}
    spans: list[tuple[int, int, str]] = []
    for match in PRIVATE_KEY.finditer(text):
        spans.append((match.start(), match.end(), PLACEHOLDERS["private_key"]))
        counts["private_key"] += 1
    if CANDIDATE_LINE.search(text):
        offset = 0
        for line in text.split("\n"):
            if CANDIDATE_LINE.search(line):
                for start, end in set(_secret_spans(line, filename)):
                    spans.append((offset + start, offset + end, PLACEHOLDERS["secret"]))
                    counts["secret"] += 1
            offset += len(line) + 1
    if "@" in text:
        for match in EMAIL.finditer(text):
            if _is_personal_email(match.group(), text, match.end()):
                spans.append((match.start(), match.end(), PLACEHOLDERS["email"]))
                counts["email"] += 1
    return (_replace(text, spans) if spans else text), counts
