"""A real Chinese site crawled on loopback through stages 1, 2, 3, 4 and 8 with default settings.

The site: the 100 real Chinese pages of ../shared/data/zh (news, blogs, forums, government pages,
14 list pages; decompressed into a temporary folder) and Debian's Chinese Reference
(debian-reference-zh-cn, 15 pages mixed with shell commands and English; `make setup` installs it),
served by crawl.testsite with a generated index page. Drop rates measured at this commit:

- stage 1: every page fetched (117 rows: the index, 115 pages, robots.txt's 404);
- stage 2: 102 of 117 kept. Dropped: robots.txt (http_status), the generated index and 10 list or
  script-rendered pages (empty_extraction / too_short), and 2 article pages whose text the HTML
  does not hold (wechat: 12 characters; hexun: 95). 98 of the 101 article pages are kept (97%).
  Before this issue: all of them were extract:language (languages: [en]); with languages: all,
  13 were extract:low_utility (stage 1 counted Chinese words by spaces).
- stage 3: the per-language quality rules are issue 23's; at this commit (English rules, models
  trained on both languages) it keeps 19 of the 102 pages (tier_low 53, tier_medium_low 30); share
  of pages failing each rule: c4:too_few_sentences 0.89 (it counts . ! ? but not 。！？),
  gopher_short_doc 0.65 (words counted by spaces), fineweb:list_ratio 0.58, gopher_above_avg 0.20,
  gopher_below_alpha 0.16, gopher top_4_gram 0.14, top_3_gram 0.11, others <= 0.08.
- stage 4: no Chinese page is merged with another that it does not duplicate; run on all 102
  pages of stage 2 it removes 6 (1 of each byte-identical pair, 2 more exact and 2 near duplicates:
  articles two source projects both saved);
- stage 8: every kept page has `lang: ZH` in its header and decodes to its text exactly.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from crawl.testsite import serve_folder
from filters.tokenize.tokenizer import ENDOFTEXT, load_tokenizer
from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.bilingual.helpers import read_parts
from tests.dedup.dedup_corpus import true_jaccard

pytestmark = pytest.mark.slow

DEBIAN_REFERENCE = Path("/usr/share/debian-reference")


@pytest.fixture(scope="module")
def chinese_run(shared_data: Path, tmp_path_factory) -> dict:
    assert (DEBIAN_REFERENCE / "index.zh-cn.html").is_file(), "debian-reference-zh-cn: make setup (sysdeps) installs it"
    site = tmp_path_factory.mktemp("zh-site")
    manifest = [json.loads(line) for line in (shared_data / "zh" / "html" / "manifest.jsonl").open(encoding="utf-8")]
    for page in manifest:
        out = site / page["path"].removeprefix("html/").removesuffix(".gz")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.open(shared_data / "zh" / page["path"]).read())
    (site / "debian-reference").mkdir()
    for path in sorted(DEBIAN_REFERENCE.glob("*.zh-cn.html")):
        shutil.copy(path, site / "debian-reference" / path.name)
    run = tmp_path_factory.mktemp("zh-run") / "run"
    manifests = {}
    with serve_folder(site) as served:
        config = load_config(None, [
            "run.progress=false", f"crawl.seeds=[{served.base_url}/]", "crawl.allow_networks=[127.0.0.0/8]",
            "crawl.max_pages=300", "crawl.max_depth=1", "crawl.min_host_delay=0.01", "crawl.host_delay_factor=0",
            "spark.conf={spark.sql.shuffle.partitions: 2}", "run.rejects_per_reason=1000",  # keep every reject
        ])
        for number in (1, 2, 3, 4, 8):
            manifests[number] = run_stage(number, str(run), config)
    # stage 4's rules on every page stage 2 keeps (not only stage 3's survivors)
    all_pages = load_config(None, ["run.progress=false", f"dedup.inputs={run / 'stage-2' / 'part-*.parquet'}",
                                   "spark.conf={spark.sql.shuffle.partitions: 2}"])
    manifests["4-all"] = run_stage(4, str(run.parent / "dedup-all"), all_pages)
    return {"run": run, "manifests": manifests, "pages": manifest, "config": config}


def test_stages_1_and_2_keep_the_chinese_articles(chinese_run):
    m1, m2 = chinese_run["manifests"][1], chinese_run["manifests"][2]
    assert m1["rows_out"] == 117 and m2["rows_in"] == 117
    dropped = m2["dropped"]
    assert "extract:language" not in dropped
    rejects = read_parts(chinese_run["run"] / "stage-2", "_rejects")
    # the only low-utility page is the served folder's generated listing (the seed): a page of links
    low_utility = rejects.filter(pc.equal(rejects["reason"], "extract:low_utility"))["url"].to_pylist()
    assert all(urlsplit(u).path == "/" for u in low_utility), low_utility
    assert m2["rows_out"] >= 100
    kept = read_parts(chinese_run["run"] / "stage-2")
    assert set(kept["language"].to_pylist()) == {"zh"}
    articles = {p["path"].removeprefix("html/").removesuffix(".gz") for p in chinese_run["pages"] if p["page_type"] != "list"}
    kept_paths = {u.split("/", 3)[3] for u in kept["url"].to_pylist()}
    kept_articles = len(articles & kept_paths) + sum(p.startswith("debian-reference/") for p in kept_paths)
    assert kept_articles >= 0.95 * (len(articles) + 15)  # 98 of 101 at this commit
    assert set(rejects["reason"].to_pylist()) <= {"extract:http_status", "extract:empty_extraction", "extract:too_short",
                                                  "extract:low_utility"}


def test_stage_3_drops_are_counted_per_rule(chinese_run):
    """Stage 3's rules for Chinese are issue 23's. Stated here: what it keeps of the 102 pages, and
    the share of them each rule fails (every row is in the kept parts or the rejects)."""
    m3 = chinese_run["manifests"][3]
    assert m3["rows_in"] == chinese_run["manifests"][2]["rows_out"]
    assert m3["rows_in"] - m3["rows_out"] == sum(m3["dropped"].values())
    assert all(reason.startswith("quality:") for reason in m3["dropped"])
    stage_dir = chinese_run["run"] / "stage-3"
    rows = read_parts(stage_dir).num_rows + read_parts(stage_dir, "_rejects").num_rows
    assert rows == m3["rows_in"]
    failures = Counter(rule for table in (read_parts(stage_dir), read_parts(stage_dir, "_rejects"))
                       for rules in table["rule_failures"].to_pylist() for rule in rules or [])
    shares = {rule: round(n / m3["rows_in"], 2) for rule, n in failures.most_common()}
    print(f"stage 3 keeps {m3['rows_out']} of {m3['rows_in']} Chinese pages: {m3['dropped']}; "
          f"share failing each rule: {shares}")
    assert m3["rows_out"] >= 0.15 * m3["rows_in"]  # 19 of 102 at this commit


def test_stage_4_on_every_chinese_page_removes_only_true_duplicates(chinese_run):
    """Run on all 102 pages stage 2 keeps, stage 4 removes 6 (this commit): the two byte-identical
    pairs (GerapyAutoExtractor's samples) and pages the source projects share (the same article
    saved by two of them); each removal's true 5-gram Jaccard with its survivor, in plain Python,
    is at least 0.7."""
    by_sha = Counter(p["sha1"] for p in chinese_run["pages"])
    assert sum(n - 1 for n in by_sha.values()) == 2
    m = chinese_run["manifests"]["4-all"]
    assert m["rows_in"] == chinese_run["manifests"][2]["rows_out"]
    assert set(m["dropped"]) <= {"dedup:exact_duplicate", "dedup:near_duplicate"}
    assert 2 <= sum(m["dropped"].values()) <= 10
    texts = {r["id"]: r["text"] for r in read_parts(chinese_run["run"] / "stage-2").select(["id", "text"]).to_pylist()}
    removed = 0
    for path in sorted((chinese_run["run"].parent / "dedup-all" / "stage-4" / "clusters").glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            if row["id"] != row["dup_cluster_id"]:
                removed += 1
                assert true_jaccard(texts[row["id"]], texts[row["dup_cluster_id"]]) >= 0.7
    assert removed == sum(m["dropped"].values())


def test_stage_4_and_8(chinese_run):
    run = chinese_run["run"]
    m4, m8 = chinese_run["manifests"][4], chinese_run["manifests"][8]
    assert m4["rows_in"] == chinese_run["manifests"][3]["rows_out"]
    kept4 = read_parts(run / "stage-4")
    # pages removed as duplicates really are: the same text up to formatting
    texts = {r["id"]: r["text"] for r in read_parts(run / "stage-3").select(["id", "text"]).to_pylist()}
    for path in sorted((run / "stage-4" / "clusters").glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            if row["id"] != row["dup_cluster_id"]:
                a, b = texts[row["id"]], texts[row["dup_cluster_id"]]
                assert min(len(a), len(b)) >= 0.5 * max(len(a), len(b))
    assert m4["rows_out"] == kept4.num_rows and m8["rows_out"] >= kept4.num_rows
    tokenizer = load_tokenizer(chinese_run["config"]["tokenize"]["tokenizer"], ("<|meta|>", "<|/meta|>"))
    rows = read_parts(run / "stage-8").to_pylist()
    by_id = {r["id"]: r["text"] for r in kept4.select(["id", "text"]).to_pylist()}
    assert {r["id"] for r in rows} == set(by_id)  # (tier weights may repeat a page)
    for row in rows:
        ids, mask = np.array(row["input_ids"]), np.array(row["loss_mask"])
        assert "lang: ZH" in row["meta"] and tokenizer.decode(ids[:row["n_header_tokens"]]) == row["meta"]
        assert tokenizer.decode(ids[mask == 1]) == by_id[row["id"]] + ENDOFTEXT
