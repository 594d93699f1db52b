"""Stage 2 config: the `extract:` section (raw content → clean documents)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from pipeline.config import InputList, Section


class ExtractConfig(Section):
    """Stage 2: raw content (WARC/WET/ARC, loose HTML/PDF/ePub) → clean documents (filters/extract/)."""

    inputs: InputList = Field(None, description="globs/folders of WARC, WET, ARC, HTML, PDF, ePub files; null: DIR/stage-1/warc/*.warc.gz")
    extractor: Literal["native", "trafilatura"] = Field("native", description="HTML main text: native (ours, filters/extract/native.py) or trafilatura (its public extract(), FineWeb's settings)")
    fallback_below_confidence: float = Field(0.0, ge=0, le=1, description="native only: pages it is less sure of go to trafilatura (0: never); the share is in the manifest")
    languages: list[str] | str = Field(["zh", "en"], description="languages kept (fastText lid.176 codes), or `all`; the most likely language must be one")
    min_language_score: float = Field(0.65, ge=0, le=1, description="keep only if the probability of the kept languages among the two most likely reaches this (FineWeb: 0.65)")
    min_chars: int = Field(100, ge=0, description="shorter extracted texts are dropped (reason too_short)")
    max_chars: int = Field(2000000, ge=1, description="longer extracted texts are dropped (reason too_long)")
    max_record_bytes: int = Field(20000000, ge=1, description="a payload (page, PDF, ePub) above this many bytes is dropped (too_large)")
    timeout_seconds: float = Field(10.0, ge=0, description="per-document limit for HTML/PDF/ePub extraction (reason timeout); 0: none")
    blocklist_files: list[str] = Field([], description="files of domain / =exact-host / url:substring rules (reason blocklisted)")
    drop_low_utility: list[Literal["thin", "keyword_stuffing", "link_farm", "format"]] = Field(
        ["thin", "keyword_stuffing", "link_farm", "format"],
        description="stage 1's low-utility reasons that drop a page (reason low_utility); [] keeps them all")
    redact_pii: bool = Field(True, description="replace emails, IPs and phone numbers by placeholders (counts always kept)")
    files_per_partition: int = Field(64, ge=1, description="loose (non-archive) files grouped per partition, in sorted path order")
    pdf_max_pages: int = Field(2000, ge=1, description="pages read from one PDF")

    @field_validator("languages")
    @classmethod
    def _all_or_codes(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, str) and value != "all":
            raise ValueError("must be a list of language codes or 'all'")
        return value
