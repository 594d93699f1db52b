"""Stage 1 output: one row per fetch attempt (pages, redirects hops, robots.txt, sitemaps, and URLs
that were decided without a request, e.g. robots-disallowed), beside the WARC files."""

import pyarrow as pa

from schemas.base import DOC_FIELDS

VERSION = "1"

SCHEMA = pa.schema(
    DOC_FIELDS
    + [
        pa.field("host", pa.string()),
        pa.field("status", pa.int32()),             # HTTP status; null when no response
        pa.field("reason", pa.string()),            # ok, redirect, robots_disallowed, too_large, …
        pa.field("bytes", pa.int64()),              # payload bytes kept (after the cap)
        pa.field("fetched_at", pa.timestamp("ms", tz="UTC")),
        pa.field("depth", pa.int32()),
        pa.field("site_category", pa.string()),
        pa.field("page_topic", pa.string()),        # WebOrganizer topic (HTML pages)
        pa.field("page_format", pa.string()),       # WebOrganizer format (HTML pages)
        pa.field("low_utility", pa.bool_()),
    ]
)

# Further columns written (not required downstream): kind (page|robots|sitemap), detail, mime,
# redirect_to, topic_confidence, format_confidence, low_utility_reasons, quality, words,
# links_found, attempt, requested.
EXTRA = pa.schema(
    [
        pa.field("kind", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("mime", pa.string()),
        pa.field("redirect_to", pa.string()),
        pa.field("topic_confidence", pa.float32()),
        pa.field("format_confidence", pa.float32()),
        pa.field("low_utility_reasons", pa.string()),
        pa.field("quality", pa.float32()),
        pa.field("words", pa.int32()),
        pa.field("links_found", pa.int32()),
        pa.field("attempt", pa.int32()),
        pa.field("requested", pa.bool_()),
    ]
)
