"""URL / domain blocklist from plain-text files.

One rule per line, `#` starts a comment:
  example.com          the domain and every subdomain (www.example.com, a.b.example.com)
  =example.com         exactly this host, not its subdomains
  url:/casino/         any URL containing this substring (case-insensitive)
  anything with a "/"  also a URL substring rule
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipeline import io
from pipeline.errors import InputError


@dataclass
class Blocklist:
    domains: set[str] = field(default_factory=set)     # domain + subdomains
    exact_hosts: set[str] = field(default_factory=set)
    url_substrings: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.domains or self.exact_hosts or self.url_substrings)

    def add_rule(self, line: str) -> None:
        rule = line.split("#", 1)[0].strip()
        if not rule:
            return
        if rule.startswith("url:"):
            self.url_substrings.append(rule[4:].strip().lower())
        elif rule.startswith("="):
            self.exact_hosts.add(rule[1:].strip().lower().rstrip("."))
        elif "/" in rule:
            self.url_substrings.append(rule.lower())
        else:
            self.domains.add(rule.lower().lstrip("*.").rstrip("."))

    def blocked(self, url: str | None) -> str | None:
        """The rule that blocks this URL, or None."""
        if not url:
            return None
        host = host_of(url)
        if host:
            if host in self.exact_hosts:
                return f"={host}"
            parts = host.split(".")
            for i in range(len(parts) - 1):
                suffix = ".".join(parts[i:])
                if suffix in self.domains:
                    return suffix
        lowered = url.lower()
        for substring in self.url_substrings:
            if substring in lowered:
                return f"url:{substring}"
        return None


def host_of(url: str | None) -> str | None:
    if not url or url.startswith("file://"):
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


def load_blocklist(paths: list[str]) -> Blocklist:
    blocklist = Blocklist()
    for path in paths:
        if not io.exists(path):
            raise InputError(f"extract.blocklist_files: file not found: {path}")
        with io.open_input(path, "rb") as fh:
            for line in fh.read().decode("utf-8", errors="replace").splitlines():
                blocklist.add_rule(line)
    return blocklist
