"""PII redaction on real text: precision on real technical pages, recall on planted real-format
PII, and the shapes that must never be touched (the issue's list of false redactions).

Measured here (test_precision / test_recall print them):
- precision 1.00 (66 of 66 redactions are a real email address, public IP or phone number used as
  such) over 1,577 real documents: python3-doc (530 pages, stage 2's extractor), the 219
  trafilatura pages, 500 SWE-bench problem statements, 184 GitHub API bodies, 20 CCNet and 140
  Chinese web documents. The redactor before this one made ~410 IP and ~60 phone replacements on
  python3-doc alone, nearly all false (127.0.0.1, OIDs, versions, a[::2], digit runs).
- recall 0.97 (63 of 65) on tests/extract/pii_planted.py: phones of 18 countries in national and
  international forms, emails, IPv4/IPv6; the 2 misses are the national numbers planted without
  any cue word (by design: a bare digit run is not taken for a phone number).
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from filters import pii
from tests.extract.pii_planted import PLANTED

PYDOC = Path("/usr/share/doc/python3.11/html")
LABELS = Path(__file__).with_name("pii_labels.json")


def _github_texts(path: Path) -> list[str]:
    def walk(o, acc):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in ("body", "message", "title") and isinstance(v, str):
                    acc.append(v)
                else:
                    walk(v, acc)
        elif isinstance(o, list):
            for v in o:
                walk(v, acc)
    out = []
    for line in gzip.open(path, "rt"):
        acc: list[str] = []
        walk(json.loads(line).get("body"), acc)
        if acc:
            out.append("\n\n".join(acc))
    return out


@pytest.fixture(scope="session")
def real_texts(shared_data) -> list[tuple[str, str]]:
    """(source, text) of real documents, HTML pages through stage 2's own extractor."""
    from filters.extract import html

    html.prepare_process()
    out = []
    pages = [("pydoc", p) for p in sorted(PYDOC.rglob("*.html"))]
    pages += [("trafilatura", p) for p in sorted((shared_data / "trafilatura/tests").rglob("*.html"))]
    for source, path in pages:
        try:
            text = html.extract_html(path.read_bytes(), "file://" + str(path)).text
        except ValueError:
            continue
        if text:
            out.append((source, text))
    for line in gzip.open(shared_data / "benchmarks/swe-bench/swe_bench_verified.jsonl.gz", "rt"):
        r = json.loads(line)
        out.append(("swebench", r["problem_statement"] + "\n" + (r.get("hints_text") or "")))
    for path in sorted((shared_data / "cc-text/dolma-ccnet").glob("*.gz")):
        out += [("cc-text", json.loads(line)["text"]) for line in gzip.open(path, "rt")]
    for path in sorted((shared_data / "zh/web_text/chinesewebtext").glob("*.jsonl")):
        out += [("zh", json.loads(line).get("text") or "") for line in open(path)]
    github = shared_data / "github/pygithub-replay/pygithub_replay_prs_issues_commits.jsonl.gz"
    out += [("github", t) for t in _github_texts(github)]
    return out


def test_precision_on_real_technical_pages(real_texts):
    """Every redaction on real documents must be a real email / public IP / phone number, judged by
    hand (pii_labels.json: kind + text -> verdict, each read in its context). A redaction missing
    from the labels counts as false. To review new ones: PII_SHOW=1 prints them with context."""
    labels = {(e["kind"], e["text"]): e["pii"] for e in json.loads(LABELS.read_text())}
    verdicts: Counter = Counter()
    unlabelled = []
    per_source: Counter = Counter()
    for source, text in real_texts:
        for start, end, kind in pii.find_pii(text):
            verdict = labels.get((kind, text[start:end]))
            verdicts[bool(verdict)] += 1
            per_source[source] += 1
            if verdict is None:
                unlabelled.append((source, kind, text[start:end], text[max(0, start - 60):end + 30]))
    if os.environ.get("PII_SHOW"):
        for row in unlabelled:
            print(row)
    assert len(real_texts) > 1500
    total = sum(verdicts.values())
    precision = verdicts[True] / total
    print(f"precision {precision:.3f} ({verdicts[True]}/{total}); by source {dict(per_source)}")
    assert total >= 40 and precision >= 0.95, (precision, unlabelled[:10])
    # python3-doc, the demo site: almost no IP and no phone redaction any more (was ~410 and ~60)
    pydoc = [pii.find_pii(t) for s, t in real_texts if s == "pydoc"]
    kinds = Counter(k for spans in pydoc for _, _, k in spans)
    # (5 IPs: one labelled before, and one public address in four sample log lines of the logging
    # cookbook, whose code blocks the native extractor keeps)
    assert kinds["phones"] == 0 and kinds["ips"] <= 5, kinds


def _planted(host: str, sentence: str) -> tuple[str, int]:
    at = host.find("\n", len(host) // 2) + 1
    return host[:at] + sentence + "\n" + host[at:], at


def test_recall_on_planted_real_format_pii(real_texts):
    """Each planted value, put into a real page text, must come out as its placeholder, exactly."""
    hosts = [t for s, t in real_texts if s in ("pydoc", "trafilatura") and len(t) > 2000][:len(PLANTED)]
    found: Counter = Counter()
    planted: Counter = Counter()
    missed = []
    for (sentence, kind, value), host in zip(PLANTED, hosts, strict=False):
        text, at = _planted(host, sentence)
        out, _ = pii.redact_text(text)
        want = sentence.replace(value, pii.PLACEHOLDERS[kind])
        planted[kind] += 1
        if want in out:
            found[kind] += 1
        else:
            missed.append(sentence)
    recall = sum(found.values()) / sum(planted.values())
    print(f"recall {recall:.3f}; by kind {dict(found)} of {dict(planted)}; missed {missed}")
    assert sum(planted.values()) == len(PLANTED) >= 60
    assert recall >= 0.95, missed
    assert found["emails"] == planted["emails"] and found["ips"] == planted["ips"]
    assert found["phones"] >= planted["phones"] - 2


@pytest.mark.parametrize("text", [
    "Connect to 127.0.0.1:8080 or 10.0.0.1, 192.168.1.1, 172.16.5.4, 169.254.1.1, 100.64.0.1",
    "Documentation ranges 192.0.2.1, 198.51.100.7, 203.0.113.9; netmask 255.255.255.0; 0.0.0.0",
    "id-kp-serverAuth is 1.3.6.1.5.5.7.3.1 and the SNMP tree starts at 1.3.6.1.2.1",
    "Upgrade to 5.5.7.3 (or zlib 1.2.3.4, GCC 2.7.2.2, Firefox/2.0.0.11, novas==3.1.1.3)",
    ">>> a[::2] [0, 2] and a[::-1]; std::vector<int>::iterator; a::b::c; fe80::1; ::1",
    "See 2001:db8::1 and 2001:db8:85a3::8a2e:370:7334 (documentation prefix), ff02::1 multicast",
    "Invoice 2023-01-15, total $1,234,567.00, order #123-456-7890, ISBN 0-596-00797-3",
    "call #1233329 to debug malloc; bpo-1686487; UUID 12345678-1234-5678-1234-567812345678",
    "git clone git@github.com:python/cpython.git; logo@2x.png; see user@example.com",
    "Message <20030112190404.GE29873@epoch.metaslash.com> and http://joe:pw@python.org/",
    ">>> socket.getaddrinfo('example.org', 80) ('93.184.216.34', 80) '2606:2800:220:1:248:1893:25c8:1946'",
    "4.8.1.1. From the command-line",
])
def test_technical_text_is_left_alone(text):
    out, counts = pii.redact_text(text)
    assert out == text and not any(counts.values()), (out, counts)


def test_column_path_matches_single_texts():
    texts = ["Mail jane.doe@gmail.com or call +44 20 7946 0958 from 185.220.101.4",
             None, "", "nothing here 1.2.3", "Tel. 030 901820"]
    out, counts = pii.redact(pa.array(texts, pa.string()))
    assert out.to_pylist() == [
        "Mail <EMAIL> or call <PHONE> from <IP_ADDRESS>", None, "", "nothing here 1.2.3", "Tel. <PHONE>"]
    assert counts["pii_emails"].to_pylist() == [1, 0, 0, 0, 0]
    assert counts["pii_phones"].to_pylist() == [1, 0, 0, 0, 1]
    kept, same = pii.redact(pa.array(texts, pa.string()), apply=False)
    assert kept.to_pylist() == texts
    assert {k: v.to_pylist() for k, v in same.items()} == {k: v.to_pylist() for k, v in counts.items()}
