"""Stage 1 benchmark: our crawler vs Scrapy 2.19 on Debian's python3-doc over loopback.

Same site, same settings for both sides: robots.txt obeyed, no delay, 16 concurrent requests
(ours keeps its rule of one request in flight per host, which only makes it slower), all ~530
pages. Ours runs with the page classifier, the low-utility detector and WARC writing in the loop.
The site is served by a separate process, so only the crawler's CPU is counted.
`crawl.python_doc_polite`: the same with politeness on, as each side ships it for real sites:
ours with its defaults (>= 1 s per host, 5x the response time), Scrapy with DOWNLOAD_DELAY 1,
one request per domain and AutoThrottle; python3-doc served as 16 hosts so the run stays short,
530 pages in all.
Also measured: frontier memory per queued URL at 1M URLs (goal <= 200 bytes), and robots.txt
parsing + matching against protego on the 4,231 real robots.txt files of protego's test data.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench.harness import OURS_PYTHON, Goal, Job, call, compare, peer_python

PYDOC = Path("/usr/share/doc/python3.11/html")
ROBOTS = "User-agent: *\nDisallow: /_sources/\nDisallow: /_downloads/\n"

SCRAPY_SCRIPT = r'''
import sys
from urllib.parse import urlsplit
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule
from bench.harness import timed

base = sys.argv[1]
pages = [0]

class DocsSpider(CrawlSpider):
    name = "docs"
    allowed_domains = [urlsplit(base).hostname]
    start_urls = [base + "/"]
    rules = (Rule(LinkExtractor(), callback="parse_page", follow=True),)

    def parse_start_url(self, response):
        pages[0] += 1
        return []

    def parse_page(self, response):
        pages[0] += 1

process = CrawlerProcess(settings={
    "ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_DELAY": 0, "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
    "USER_AGENT": "ScrapyBench/2.19", "DEPTH_LIMIT": 0,
})
process.crawl(DocsSpider)
with timed() as probe:
    process.start()
    probe.items = pages[0]
'''


POLITE_HOSTS = 16
POLITE_PAGES = 530

SCRAPY_POLITE_SCRIPT = r'''
import sys
from urllib.parse import urlsplit
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule
from bench.harness import timed

bases, pages = sys.argv[1].split(","), [0]

class DocsSpider(CrawlSpider):
    name = "docs"
    allowed_domains = [urlsplit(b).hostname for b in bases]
    start_urls = [b + "/" for b in bases]
    rules = (Rule(LinkExtractor(), callback="parse_page", follow=True),)

    def parse_start_url(self, response):
        pages[0] += 1
        return []

    def parse_page(self, response):
        pages[0] += 1

process = CrawlerProcess(settings={
    "ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "DOWNLOAD_DELAY": 1.0, "AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0, "CLOSESPIDER_PAGECOUNT": int(sys.argv[2]),
    "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, "USER_AGENT": "ScrapyBench/2.19",
    "DEPTH_LIMIT": 0,
})
process.crawl(DocsSpider)
with timed() as probe:
    process.start()
    probe.items = pages[0]
'''


def crawl_ours(base_url: str, classifier: str = "hashed", polite: bool = False) -> dict:
    """Crawl the site with stage 1's crawler (classifier, detector, WARC) into a temp folder.
    `base_url` may list several sites, comma-separated; polite: the default politeness settings
    and POLITE_PAGES pages, else no delay and the whole site."""
    from bench.harness import timed
    from crawl.config import CrawlConfig
    from crawl.crawler import Crawler
    from crawl.selection.classifier import make_classifier
    from filters import segment
    from pipeline.config import load_config

    sets = ["crawl.allow_networks=[127.0.0.0/8]", "crawl.max_depth=100", "crawl.concurrency=16",
            f"crawl.classifier={classifier}"]
    sets += ([f"crawl.max_pages={POLITE_PAGES}"] if polite else
             ["crawl.max_pages=100000", "crawl.min_host_delay=0", "crawl.host_delay_factor=0"])
    settings = CrawlConfig.model_validate(load_config(None, sets)["crawl"])
    make_classifier(classifier).classify(["warm up the model outside the timed section"])
    segment.count(["and the word counter (pyarrow imports pandas on its first array): 中文"])
    with tempfile.TemporaryDirectory() as tmp:
        crawler = Crawler(settings, Path(tmp))
        with timed() as probe:
            summary = crawler.run([b + "/" for b in base_url.split(",")])
            probe.items = summary["pages_attempted"]
        probe.metrics["warc_bytes"] = sum(p.stat().st_size for p in Path(tmp, "warc").glob("*"))
    return {}


def frontier_memory(n: int) -> dict:
    """RSS growth per queued URL while queuing n distinct URLs over 1,000 hosts."""
    import gc

    import psutil

    from bench.harness import timed
    from crawl.frontier import Entry, Frontier

    with tempfile.TemporaryDirectory() as tmp:
        frontier = Frontier(Path(tmp) / "f.sqlite")
        gc.collect()
        before = psutil.Process().memory_info().rss
        with timed(items=n) as probe:
            batch = 10_000
            for start in range(0, n, batch):
                frontier.add([
                    Entry(f"http://site{i % 1000}.example/section/{i // 1000}/page-{i}.html",
                          f"http://site{i % 1000}.example:80", 2, float(i % 7))
                    for i in range(start, min(n, start + batch))
                ])
                frontier.commit()
            gc.collect()
            grown = psutil.Process().memory_info().rss - before
            probe.metrics["bytes_per_url"] = round(grown / n, 1)
            probe.metrics["queued"] = frontier.queued_total()
            probe.metrics["db_bytes_per_url"] = round(
                sum(p.stat().st_size for p in Path(tmp).glob("f.sqlite*")) / n, 1)
        frontier.close()
    return {}


ROBOTS_TAR = Path("/work/shared/data/robots/protego/protego_test_data_robots.tar.gz")
ROBOTS_TOKENS = ("Googlebot", "StepCrawl")
GENERIC_PATHS = ("/", "/index.html", "/search?q=robots", "/admin/", "/wp-admin/admin-ajax.php",
                 "/images/logo.png", "/api/v1/items?id=7", "/tag/news/page/2/", "/cart", "/login")
_RULE = re.compile(rb"^\s*(?:dis)?allow\s*:\s*(\S+)", re.I | re.M)

PROTEGO_SCRIPT = r'''
import pickle, sys
from protego import Protego
from bench.harness import timed

cases, tokens = pickle.load(open(sys.argv[1], "rb"))
verdicts = bytearray()
with timed(items=len(cases)) as probe:
    for body, urls in cases:
        rp = Protego.parse(body.decode("utf-8", "replace").lstrip("\ufeff"))  # as our old wrapper did
        for token in tokens:
            for url in urls:
                verdicts.append(rp.can_fetch(url, token))
    probe.metrics["checks"] = len(verdicts)
open(sys.argv[2], "wb").write(bytes(verdicts))
'''


def robots_cases(path: Path) -> list[tuple[bytes, list[str]]]:
    """(robots.txt bytes (first 512 KiB, as the crawler parses), URLs to check) per real file:
    paths made from the file's own rules (wildcards filled in, +"x" to test prefixes) and common
    paths; the host is the file's own name."""
    cases = []
    with tarfile.open(path) as tar:
        for member in sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name):
            body = tar.extractfile(member).read()[:524288]
            host = member.name.rsplit("/", 1)[-1]
            paths = list(GENERIC_PATHS)
            for raw in _RULE.findall(body)[:20]:
                rule = raw.decode("utf-8", "replace").replace("*", "x").rstrip("$")
                rule = rule if rule.startswith("/") else "/" + rule
                paths += [rule, rule + "x"]
            cases.append((body, [f"http://{host}{p}" for p in paths]))
    return cases


def robots_ours(cases_path: str, verdicts_path: str) -> dict:
    from bench.harness import timed
    from crawl.robots_txt import RobotsTxt

    cases, tokens = pickle.load(open(cases_path, "rb"))
    verdicts = bytearray()
    with timed(items=len(cases)) as probe:
        for body, urls in cases:
            rules = RobotsTxt.parse(body)
            for token in tokens:
                for url in urls:
                    verdicts.append(rules.allowed(url, token))
        probe.metrics["checks"] = len(verdicts)
    Path(verdicts_path).write_bytes(bytes(verdicts))
    return {}


def robots_matching(quick: bool):
    """Parse each real robots.txt and check its URLs for two product tokens, ours vs protego."""
    from bench.harness import peer_job

    cases = robots_cases(ROBOTS_TAR)
    if quick:
        cases = cases[:800]
    with tempfile.TemporaryDirectory(prefix="bench-robots-") as tmp:
        data, ours_out, peer_out = (str(Path(tmp) / n) for n in ("cases.pkl", "ours.bin", "protego.bin"))
        with open(data, "wb") as f:
            pickle.dump((cases, ROBOTS_TOKENS), f)
        result = compare(
            "crawl.robots_matching", call("bench.bench_crawl:robots_ours", data, ours_out),
            {"protego": peer_job("protego", PROTEGO_SCRIPT, [data, peer_out])},
            unit="files", reps=1 if quick else 3, save=False,
            input_desc=f"{len(cases):,} real robots.txt files (protego's test data), each parsed and "
                       f"checked on ~30 URLs from its own rules x {len(ROBOTS_TOKENS)} product tokens",
            goals=[Goal(1.0, peer="protego")],
        )
        ours_v, peer_v = Path(ours_out), Path(peer_out)
        if ours_v.exists() and peer_v.exists():
            a, b = ours_v.read_bytes(), peer_v.read_bytes()
            differ = sum(x != y for x, y in zip(a, b, strict=False))
            result.notes = (f"verdicts differing from protego: {differ:,} of {len(a):,} checks "
                            f"(ours reads rules as Google's reference parser does: 145/145 of its cases)")
    result.save()
    return result


def _serve(hosts: tuple[str, ...] = ("127.0.0.9",)) -> tuple[subprocess.Popen, str]:
    """python3-doc served by a separate process on each host; their base URLs, comma-separated."""
    robots = Path(tempfile.mkdtemp()) / "robots.txt"
    robots.write_text(ROBOTS)
    proc = subprocess.Popen(
        [str(OURS_PYTHON), "-m", "crawl.testsite", str(PYDOC), *(a for h in hosts for a in ("--host", h)),
         "--robots", str(robots)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    return proc, ",".join(proc.stdout.readline().strip() for _ in hosts)


def run(quick: bool):
    results = []
    if PYDOC.is_dir():
        server, base = _serve()
        try:
            reps = 1 if quick else 3
            scrapy = Job(peer_python("scrapy"), SCRAPY_SCRIPT, [base])
            results.append(compare(
                "crawl.python_doc", call("bench.bench_crawl:crawl_ours", base), {"scrapy": scrapy},
                unit="pages", reps=reps, input_desc="Debian python3-doc (~530 pages) on loopback",
                goals=[Goal(5.0, peer="scrapy")],
                notes="robots obeyed, 16 concurrent, no delay; ours: hashed classifier + low-utility "
                      "+ gzip WARC in the loop, one request in flight per host",
            ))
        finally:
            server.terminate()
            server.wait()
        server, bases = _serve(tuple(f"127.0.2.{i + 1}" for i in range(POLITE_HOSTS)))
        try:
            results.append(compare(
                "crawl.python_doc_polite", call("bench.bench_crawl:crawl_ours", bases, "hashed", True),
                {"scrapy": Job(peer_python("scrapy"), SCRAPY_POLITE_SCRIPT, [bases, POLITE_PAGES])},
                unit="pages", reps=1 if quick else 3,
                input_desc=f"Debian python3-doc served as {POLITE_HOSTS} hosts on loopback, "
                           f"{POLITE_PAGES} pages",
                goals=[Goal(5.0, peer="scrapy")],
                notes="politeness on, as shipped for real sites: ours with its defaults (>= 1 s "
                      "between requests to a host, 5x its response time, capped at 30 s), Scrapy "
                      "with DOWNLOAD_DELAY 1, 1 request per domain, AutoThrottle; robots obeyed",
            ))
        finally:
            server.terminate()
            server.wait()
    else:
        print(f"[bench] crawl: {PYDOC} missing (apt install python3-doc)", file=sys.stderr)
    if ROBOTS_TAR.is_file():
        results.append(robots_matching(quick))
    else:
        print(f"[bench] crawl: {ROBOTS_TAR} missing (robots matching not measured)", file=sys.stderr)
    n = 200_000 if quick else 1_000_000
    results.append(compare(
        "crawl.frontier_memory", call("bench.bench_crawl:frontier_memory", n), {},
        unit="urls", reps=1, input_desc=f"{n:,} queued URLs over 1,000 hosts",
        goals=[Goal(200.0, metric="bytes_per_url", higher_is_better=False)],
    ))
    return results
