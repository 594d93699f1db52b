"""Stage 1 config: the `crawl:` section (robots-aware crawler with a category-balanced budget)."""

from __future__ import annotations

from pydantic import Field

from pipeline.config import Section


class LowUtilityConfig(Section):
    """Signals of thin, keyword-stuffed or link-farm pages, and the WebOrganizer formats that make a
    page suspect (crawl/selection/low_utility.py). Flagged pages are dropped by stage 2
    (`extract.drop_low_utility`). Defaults set from real good pages (tests/crawl/test_low_utility.py)."""

    min_words: int = Field(80, ge=0, description="fewer words of visible text → thin page")
    max_top_word_share: float = Field(0.25, ge=0, le=1, description="one content word above this share of all words → keyword stuffing")
    max_link_density: float = Field(0.8, ge=0, description="link farm: link text above this share of the text, and ...")
    max_links_per_100_words: float = Field(30.0, ge=0, description="... more links than this per 100 words, and ...")
    min_links: int = Field(50, ge=0, description="... at least this many links")
    formats: list[str] = Field(["Spam / Ads", "Product Page"], description="WebOrganizer formats that make a page suspect")
    format_factor: float = Field(0.75, gt=0, le=1, description="a suspect page is judged with every threshold this much stricter")
    format_min_confidence: float = Field(0.6, ge=0, le=1, description="a suspect format this confident flags the page by itself")


class PriorityConfig(Section):
    depth_weight: float = Field(1.0, description="priority lost per link hop")
    quality_weight: float = Field(2.0, description="priority gained from the linking page's quality (0..1)")
    low_utility_penalty: float = Field(3.0, description="priority lost by links found on a low-utility page")


class BudgetConfig(Section):
    category_shares: dict[str, float] = Field({}, description="target share of pages per site category, e.g. {Software Development: 0.2}")
    default_share: float | None = Field(None, ge=0, le=1, description="share of a category not listed (null: the remaining share split evenly)")
    max_pages_per_host: int = Field(0, ge=0, description="0: no per-host cap")
    low_utility_host_factor: float = Field(0.5, ge=0, le=1, description="a host's cap/priority shrinks by this times its low-utility share")
    share_slack: float = Field(0.02, ge=0, description="a category this far over its share waits while under-share ones have work")
    site_categories: dict[str, str] = Field({}, description="host → category overrides (known site lists); others: classifier majority")
    yield_run: str | None = Field(None, description="an earlier run folder: scale category budgets by pages kept after stages 2-4")


class CrawlConfig(Section):
    """Stage 1: robots-aware crawler with a category-balanced budget (crawl/)."""

    seeds: list[str] | str = Field([], description="start URLs (http/https)")
    seeds_file: str | None = Field(None, description="a text file with one start URL per line (# comments allowed)")
    max_pages: int = Field(1000, ge=0, description="page fetch attempts in total (robots.txt and sitemaps not counted)")
    max_depth: int = Field(5, ge=0, description="link hops from a seed; deeper links are not queued")
    user_agent: str = Field("StepCrawl/1.0 (+https://example.invalid/bot)", description="first word = robots.txt product token")
    allow_networks: list[str] = Field([], description="CIDRs that may be fetched although private/loopback (e.g. [127.0.0.0/8])")
    max_body_bytes: int = Field(5242880, ge=1, description='bodies are streamed and cut here (reason "too_large")')
    concurrency: int = Field(16, ge=1, description="requests in flight over all hosts (always at most one per host)")
    # Politeness (as Heritrix): after a response from a host, wait host_delay_factor x its response
    # time, at least min_host_delay, at most max_host_delay, and at least the robots.txt Crawl-delay.
    min_host_delay: float = Field(1.0, ge=0, description="seconds between the end of one request to a host and the next (floor)")
    host_delay_factor: float = Field(5.0, ge=0, description="the wait is this many times the host's last response time")
    max_host_delay: float = Field(30.0, ge=0, description="cap of the adaptive wait (a robots.txt Crawl-delay may ask for more)")
    max_crawl_delay: float = Field(30.0, ge=0, description="a robots.txt Crawl-delay is honoured up to this many seconds")
    connect_timeout: float = Field(10.0, gt=0, description="seconds")
    read_timeout: float = Field(20.0, gt=0, description="seconds without a byte from the server")
    total_timeout: float = Field(60.0, gt=0, description="seconds for one whole response")
    follow_external: bool = Field(False, description="false: only the seeds' hosts (and crawl.allow_hosts) are crawled")
    allow_hosts: list[str] = Field([], description="extra host names that links may lead to when follow_external is false")
    max_redirects: int = Field(5, ge=0, description="redirect hops followed from one URL (RFC 9309 asks for at least 5)")
    robots_cache_seconds: float = Field(86400, ge=0, description="a robots.txt is re-fetched after this (RFC 9309: at most 24 h)")
    robots_max_bytes: int = Field(524288, ge=1, description="robots.txt bytes parsed (RFC 9309: at least 500 KiB)")
    robots_retry_seconds: float = Field(30.0, ge=0, description="wait before retrying an unreachable (5xx/timeout) robots.txt")
    robots_max_attempts: int = Field(2, ge=1, description="after this many unreachable answers the host's URLs are given up")
    read_sitemaps: bool = Field(True, description="queue the sitemaps a robots.txt lists (and their URLs, in scope)")
    max_sitemap_urls: int = Field(50000, ge=0, description="URLs taken from one sitemap file")
    content_types: list[str] = Field(["text/html", "application/xhtml+xml", "application/pdf", "application/epub+zip"])
    warc_max_bytes: int = Field(1000000000, ge=1, description="a WARC file is closed and a new one started past this size")
    warc_gzip_level: int = Field(3, ge=0, le=9, description="per-record gzip member level (3: ~3x faster than 6, ~10% larger)")
    classifier: str = Field("hashed", pattern="^(hashed|minilm)$", description="hashed: linear head distilled from MiniLM (fast) | minilm: zero-shot MiniLM")
    classify_chars: int = Field(2000, ge=1, description="characters of page text the classifier sees")
    text_chars: int = Field(1000, ge=0, description="characters of page text stored in the row's text column (audit only)")
    low_utility: LowUtilityConfig = LowUtilityConfig()
    priority: PriorityConfig = PriorityConfig()
    budget: BudgetConfig = BudgetConfig()
