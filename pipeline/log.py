"""Structured logs: one JSON object per line on stderr (set PIPELINE_LOG=quiet to silence)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime


def log(event: str, **fields) -> None:
    if os.environ.get("PIPELINE_LOG") == "quiet":
        return
    record = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, **fields}
    print(json.dumps(record, default=str), file=sys.stderr, flush=True)
