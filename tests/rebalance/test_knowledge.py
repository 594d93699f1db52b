"""Knowledge mining on real pages: an inventory of 8 Python-glossary concepts retrieves the pages
about them among other Python docs pages (hard negatives) and real web pages, through stage 5.

Hand-labelled set: filters/rebalance/labels/knowledge_pages.jsonl (rule in LABELLING.md).
Measured with the packaged all-MiniLM-L6-v2, knowledge.min_similarity 0.4 (first 4 passages of
1,200 characters per page): precision 1.00 (7 of 7 retrieved pairs right), recall 0.875 (7 of 8;
the Functional Programming HOWTO speaks of generators only after its first 4,800 characters).
"""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline import io
from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.rebalance.corpus import REPO, page_text

LABELS = REPO / "filters" / "rebalance" / "labels" / "knowledge_pages.jsonl"
INVENTORY = REPO / "filters" / "rebalance" / "inventory" / "default.jsonl"


@pytest.fixture(scope="module")
def mined(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("knowledge")
    labels = [json.loads(line) for line in LABELS.read_text().splitlines()]
    wanted = {row["item"] for row in labels if row["item"]}
    items = [line for line in INVENTORY.read_text().splitlines()
             if line.startswith("{") and json.loads(line)["name"] in wanted]
    assert len(items) == len(wanted) == 8
    (folder / "inventory.jsonl").write_text("\n".join(items) + "\n")
    rows = [{"id": row["ref"], "text": page_text(shared_data, row["ref"])} for row in labels]
    with gzip.open(shared_data / "quality" / "fineweb_edu_llama3_annotations_1000.jsonl.gz", "rt") as f:
        web = [json.loads(line) for line in f]
    web = [page for page in web if "python" not in page["text"].lower()][:40]
    assert len(web) == 40
    rows += [{"id": f"fw-{page['id']}", "text": page["text"][:1200]} for page in web]  # one passage each
    pa.parquet.write_table(pa.Table.from_pylist(rows), folder / "pages.parquet")
    run = folder / "run"
    manifest = run_stage(5, str(run), load_config(None, [
        f"rebalance.inputs=[{folder / 'pages.parquet'}]", "rebalance.embed.model=minilm", "rebalance.embed.actors=1",
        f"rebalance.knowledge.inventory={folder / 'inventory.jsonl'}", "rebalance.knowledge.min_similarity=0.4",
        "rebalance.knowledge.threshold=0", "rebalance.kmeans.clusters=4", "run.progress=false"]))
    out = pa.concat_tables([io.read_parquet(io.join(str(run), "stage-5", f["path"])) for f in manifest["files"]])
    return {row["ref"]: row["item"] for row in labels}, out, manifest, run


def test_inventory_retrieves_the_pages_about_its_items(mined):
    truth, out, _, _ = mined
    flagged = out.filter(out.column("knowledge"))
    pairs = set(zip(flagged.column("id").to_pylist(), flagged.column("knowledge_item").to_pylist(), strict=True))
    right = {(ref, item) for ref, item in truth.items() if item}
    precision = len(pairs & right) / max(len(pairs), 1)
    recall = len(pairs & right) / len(right)
    assert precision >= 0.85 and recall >= 0.75, (precision, recall, sorted(pairs))
    assert not any(i.startswith("fw-") for i, _ in pairs), "a web page never mentioning Python was mined"


def test_knowledge_subset_and_manifest_figures(mined):
    _, out, manifest, run = mined
    subset = pa.concat_tables([io.read_parquet(str(p)) for p in sorted((run / "stage-5" / "knowledge").glob("*.parquet"))])
    assert sorted(subset.column("id").to_pylist()) == sorted(out.filter(out.column("knowledge")).column("id").to_pylist())
    figures = manifest["rebalance"]["knowledge"]
    assert figures["items"] == 8 and figures["documents_flagged"] == subset.num_rows
    assert figures["subset"] == {"path": "stage-5/knowledge", "files": 1, "rows": subset.num_rows}
    assert sum(t["documents"] for t in figures["top_items"]) >= subset.num_rows
    assert (pc.greater_equal(subset.column("knowledge_coverage"), 1)).to_pylist() == [True] * subset.num_rows
