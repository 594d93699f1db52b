"""Stage 6 inputs beyond folders: a parquet table with The Stack's columns and a glob; near
duplicates planted from real files keep the copy from the repo with most stars, then the newest;
code-aware shingles (punctuation and operators are tokens) leave stage 4's word shingles as they were."""

from __future__ import annotations

import datetime
import sysconfig
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from filters.dedup.minhash import MinhashParams, hash_texts, reference_hashes, shingle_sets
from pipeline.config import load_config
from pipeline.runner import run_stage

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FAST = ["run.progress=false", "spark.conf={spark.sql.shuffle.partitions: 2}"]


def _edited(text: str, old: str, new: str, count: int) -> str:
    assert text.count(old) >= count, old
    return text.replace(old, new, count)


def _stack_table(path: Path) -> dict:
    """Real stdlib files as rows of a table with The Stack's column names, plus planted copies:
    decoder.py edited in a repo with more stars (it must survive), scanner.py edited with equal
    stars and a newer date (the newer survives), encoder.py copied exactly into a lesser repo."""
    day = datetime.datetime(2023, 5, 1, tzinfo=datetime.UTC)
    rows = []
    for name in ("decoder.py", "encoder.py", "scanner.py", "tool.py", "__init__.py"):
        rows.append((f"json/{name}", (STDLIB / "json" / name).read_text(), "python/cpython", 100, day))
    decoder, scanner = (STDLIB / "json" / "decoder.py").read_text(), (STDLIB / "json" / "scanner.py").read_text()
    rows.append(("src/decoder.py", _edited(decoder, "JSONDecodeError", "DecodeFailure", 3), "fork/popular", 5000, day))
    rows.append(("lib/scanner.py", _edited(scanner, "match_number", "number_match", 2), "fork/newer", 100,
                 day + datetime.timedelta(days=30)))
    rows.append(("vendor/encoder.py", (STDLIB / "json" / "encoder.py").read_text(), "fork/small", 3, day))
    table = pa.table({
        "max_stars_repo_path": [r[0] for r in rows], "content": [r[1] for r in rows],
        "max_stars_repo_name": [r[2] for r in rows], "max_stars_count": [r[3] for r in rows],
        "max_stars_repo_licenses": [["PSF-2.0"] for _ in rows],
        "max_stars_repo_stars_event_max_datetime": [r[4].isoformat() for r in rows]})
    pq.write_table(table, path, row_group_size=4)
    return {"rows": len(rows)}


@pytest.fixture(scope="module")
def stack_run(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("stack")
    _stack_table(base / "stack.parquet")
    run_dir = base / "run"
    config = load_config(None, [*FAST, f"code.inputs=[{base / 'stack.parquet'}]", "code.skip_vendored=false"])
    return run_dir, run_stage(6, str(run_dir), config)


def _rows(run_dir: Path) -> list[dict]:
    return [r for f in sorted((run_dir / "stage-6").glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_stack_table_columns_are_read_with_provenance(stack_run):
    run_dir, manifest = stack_run
    rows = {(r["repo"], r["path"]): r for r in _rows(run_dir)}
    tool = rows[("python/cpython", "json/tool.py")]
    assert tool["stars"] == 100 and tool["license"] == "PSF-2.0" and tool["commit_date"].year == 2023
    assert tool["code_language"] == "python" and tool["url"] == "code://python/cpython/json/tool.py"
    assert manifest["rows_in"] == 8


def test_near_duplicates_keep_most_stars_then_newest(stack_run):
    run_dir, manifest = stack_run
    kept = {(r["repo"], r["path"]) for r in _rows(run_dir)}
    assert ("fork/popular", "src/decoder.py") in kept and ("python/cpython", "json/decoder.py") not in kept
    assert ("fork/newer", "lib/scanner.py") in kept and ("python/cpython", "json/scanner.py") not in kept
    assert ("python/cpython", "json/encoder.py") in kept and ("fork/small", "vendor/encoder.py") not in kept
    assert manifest["dropped"]["code:near_duplicate"] == 2 and manifest["dropped"]["code:exact_duplicate"] == 1


def test_a_glob_reads_the_files_it_matches(tmp_path):
    config = load_config(None, [*FAST, f"code.inputs=[{STDLIB / 'json' / '*.py'}]", "code.near_dedup=false"])
    manifest = run_stage(6, str(tmp_path / "run"), config)
    assert manifest["rows_in"] == len(list((STDLIB / "json").glob("*.py")))
    assert {r["path"] for r in _rows(tmp_path / "run")} <= {p.name for p in (STDLIB / "json").glob("*.py")}


def test_code_shingles_keep_operators_and_words_stay_as_they_were():
    texts = pa.array(["x = a[i] + b(j)", "x = a(i) - b[j]", "Hello, world: the same words."])
    words = shingle_sets(texts, 3)
    code = shingle_sets(texts, 3, tokens="code")
    assert np.array_equal(words[0], words[1])  # punctuation dropped: the same word shingles
    assert not np.intersect1d(code[0], code[1]).size == len(code[0])  # operators differ
    for tokens in ("words", "code"):  # the compiled kernel equals the readable definition
        params = MinhashParams(ngram=3, bands=4, rows=2, tokens=tokens)
        fast, slow = hash_texts(texts, params), reference_hashes(texts, params)
        assert np.array_equal(fast.signatures, slow.signatures) and np.array_equal(fast.exact, slow.exact)
    # stage 4's default is unchanged: the "words" tokens are the ones MinhashParams used before
    assert MinhashParams().tokens == "words"
