"""Stage 2 (extract) output: documents with language, metadata and PII counts."""

import pyarrow as pa

from schemas.base import DOC_FIELDS

VERSION = "3"

SCHEMA = pa.schema([
    *DOC_FIELDS,                                   # id, source, content_type, text, url
    pa.field("title", pa.string()),
    pa.field("domain", pa.string()),               # host of the URL (null for loose files)
    pa.field("date", pa.string()),                 # publication date (page metadata) else crawl date, ISO
    pa.field("language", pa.string()),             # fastText lid.176 label, e.g. "en"
    pa.field("language_score", pa.float32()),      # its probability (lid.176 on the text's prose)
    pa.field("second_language", pa.string()),      # the next most likely language (mixed pages)
    pa.field("second_language_score", pa.float32()),
    pa.field("pii_emails", pa.int32()),            # placeholders written into text, per kind
    pa.field("pii_ips", pa.int32()),
    pa.field("pii_phones", pa.int32()),
    pa.field("n_chars", pa.int64()),
    pa.field("low_utility", pa.string()),          # stage 1's low-utility reasons ("thin,link_farm"), null if none
    pa.field("page_topic", pa.string()),           # stage 1's WebOrganizer topic / format of the page (crawl only)
    pa.field("page_format", pa.string()),
])
