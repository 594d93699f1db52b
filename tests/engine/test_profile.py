"""The runner's per-partition profile (pipeline/profile.py): what the audit report charts.

Checked against independent counts of the rows on disk, and for partition independence: a table
profiled in pieces and merged gives the profile of the whole table.
"""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import profile
from pipeline.runner import run_stage
from tests.engine.helpers import stage_rows, word_config
from tests.engine.wordstage import WordStage


def _utf8_bytes(table: pa.Table) -> int:
    return sum(len(t.encode()) for t in table.column("text").to_pylist())


def test_manifest_profile_counts_documents_and_bytes_in_and_out(shared_data, run_dir):
    manifest = run_stage(WordStage, str(run_dir), word_config(shared_data))
    stage_dir = run_dir / "stage-90"
    kept = stage_rows(stage_dir)
    rejects = pq.read_table(stage_dir / "_rejects")
    prof = manifest["profile"]
    assert prof["in"]["docs"] == manifest["rows_in"] == 20
    assert prof["out"] == {"docs": kept.num_rows, "text_bytes": _utf8_bytes(kept)}
    dropped = prof["dropped"]["words:too_short"]
    assert dropped["docs"] == manifest["dropped"]["words:too_short"]
    assert prof["in"]["text_bytes"] == prof["out"]["text_bytes"] + dropped["text_bytes"]
    # excerpts are the rejected documents' own text, readable in place
    texts = {r["id"]: r["text"] for r in rejects.to_pylist()}
    assert 0 < len(dropped["samples"]) <= profile.SAMPLES
    for sample in dropped["samples"]:
        excerpt = sample["excerpt"].removesuffix(" …")
        assert 100 < len(excerpt) <= profile.EXCERPT_CHARS
        assert texts[sample["id"]].split()[:10] == excerpt.split()[:10]  # its own words, from the start
    by_source = prof["by"]["source"]
    assert by_source == {"cc-text": {"docs_in": 20, "docs_out": kept.num_rows,
                                     "bytes_in": prof["in"]["text_bytes"], "bytes_out": _utf8_bytes(kept)}}
    assert "language" not in prof["by"]  # the word stage's rows have no language column


def _table(n: int) -> pa.Table:
    texts = [("word " * (i % 17 + 1)) + "é" * (i % 3) for i in range(n)]
    return pa.table({
        "id": [f"doc-{i}" for i in range(n)],
        "text": texts,
        "url": [f"https://host{i % 250}.example/{i}" for i in range(n)],
        "domain": [f"host{i % 250}.example" for i in range(n)],
        "tier": [["high", "medium", "low", None][i % 4] for i in range(n)],
        "language": [["en", "zh"][i % 2] for i in range(n)],
        "n_tokens": list(range(n)),
    })


def _decide(table: pa.Table) -> pa.Array:
    short = pc.less(pc.utf8_length(table["text"]), 20)
    return pc.if_else(short, pa.scalar("too_short"), pa.scalar(None, pa.string()))


def _profile(table: pa.Table) -> dict:
    reasons = _decide(table)
    return profile.partition_profile(table, reasons, pc.is_null(reasons), "t:", profile.PROFILE_COLUMNS,
                                     ("tier",))


def test_profiles_of_pieces_merge_into_the_profile_of_the_whole():
    table = _table(3000)
    whole = profile.merge([_profile(table)])
    pieces = profile.merge([_profile(table.slice(i, 700)) for i in range(0, 3000, 700)])
    assert pieces == whole
    assert whole["in"]["n_tokens"] == sum(range(3000))
    assert whole["out"]["docs"] + whole["dropped"]["t:too_short"]["docs"] == 3000
    # 250 domains: the top 100 kept, the rest folded into "(other)" with nothing lost
    domains = whole["by"]["domain"]
    assert len(domains) == profile.TOP_VALUES + 1 and profile.OTHER in domains
    assert sum(v["docs_in"] for v in domains.values()) == 3000
    assert sum(v["bytes_out"] for v in domains.values()) == whole["out"]["text_bytes"]
    # cross counts and nulls
    pairs = whole["by"]["tier|language"]
    assert pairs["high|en"]["docs_in"] == 750 and pairs["medium|zh"]["docs_in"] == 750
    assert whole["by"]["tier"][profile.NONE]["docs_in"] == 750
    samples = whole["samples"]["tier"]
    assert set(samples) == {"high", "medium", "low", profile.NONE}
    assert all(len(s) == profile.SAMPLES and all("kept" in x for x in s) for s in samples.values())


def test_a_map_column_is_counted_per_entry():
    table = _table(40).append_column("buckets", pa.array(
        [[("edu", i % 3), ("lines", 1)] for i in range(40)], pa.map_(pa.string(), pa.int32())))
    reasons = _decide(table)
    prof = profile.merge([profile.partition_profile(table, reasons, pc.is_null(reasons), "t:", ("buckets",))])
    counts = prof["by"]["buckets"]
    assert counts["lines|1"]["docs_in"] == 40
    assert [counts[f"edu|{b}"]["docs_in"] for b in range(3)] == [14, 13, 13]
    assert counts["lines|1"]["docs_out"] == prof["out"]["docs"]
