"""Stage 6 config: the `code:` section (OpenCoder rule hits per file)."""

from __future__ import annotations

from pydantic import Field

from pipeline.config import InputList, Section


class CodeConfig(Section):
    """Stage 6: code files with OpenCoder rule hits (not built yet; its keys are reserved)."""

    inputs: InputList = Field(None, description="folders, globs, or parquet tables of files (id, text, path)")
    max_hits: int = Field(6, ge=0, description="keep files with at most this many OpenCoder rule hits (hit0..hit6)")
