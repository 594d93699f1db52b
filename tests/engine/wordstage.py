"""A small real stage for engine tests: CCNet JSONL documents → word counts, short ones dropped.

It reads real Common Crawl text (../shared/data/cc-text) so the engine is exercised on real rows;
`sleep` slows each partition so a test can kill a run half-way.
"""

from __future__ import annotations

import gzip
import json
import time

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import Section
from pipeline.ids import doc_id
from pipeline.stage import Partition, Stage
from schemas.base import DOC_FIELDS


class WordsConfig(Section):
    files: list[str] = []
    lines_per_partition: int = 2
    min_words: int = 200
    sleep: float = 0.0


class WordStage(Stage):
    number = 90
    name = "words"
    schema = pa.schema([*DOC_FIELDS, pa.field("n_words", pa.int64())])
    schema_version = "1"
    settings_model = WordsConfig

    def partitions(self) -> list[Partition]:
        files = self.settings.files
        per = self.settings.lines_per_partition
        parts, index = [], 0
        for path in files:
            with gzip.open(path, "rt") as fh:
                n = sum(1 for _ in fh)
            for start in range(0, n, per):
                parts.append(Partition(index, (path,), {"start": start, "stop": start + per}))
                index += 1
        return parts

    def score(self, part: Partition) -> pa.Table:
        time.sleep(self.settings.sleep)
        rows = []
        with gzip.open(part.inputs[0], "rt") as fh:
            for i, line in enumerate(fh):
                if part.params["start"] <= i < part.params["stop"]:
                    doc = json.loads(line)
                    rows.append(doc)
        texts = [r["text"] for r in rows]
        locators = [f"{part.inputs[0]}#{part.params['start'] + i}" for i in range(len(rows))]
        table = pa.table({
            "id": [doc_id("cc-text", loc, t) for loc, t in zip(locators, texts, strict=True)],
            "source": ["cc-text"] * len(rows),
            "content_type": ["Web"] * len(rows),
            "text": texts,
            "url": [r.get("url") for r in rows],
        })
        words = pc.list_value_length(pc.utf8_split_whitespace(table["text"]))
        return table.append_column("n_words", words.cast(pa.int64()))

    def decide(self, table: pa.Table) -> pa.Array:
        short = pc.less(table["n_words"], self.settings.min_words)
        return pc.if_else(short, pa.scalar("too_short"), pa.scalar(None, pa.string()))
