"""Small real inputs for every stage, written once per session, and each stage's config on them.

Small, so a stage can be killed and resumed dozens of times within the suite's time budget; real
(Common Crawl text and WARCs, archived web pages, stdlib code, python3-doc on loopback), so the
stages take their real paths. Each input has several partitions, so kills land between commits.
"""

from __future__ import annotations

import random
import shutil
import sysconfig
from pathlib import Path

from pipeline.config import load_config
from tests.dedup.dedup_corpus import cc_texts, near_copy_at, page_texts, wet_texts
from tests.tokenize.corpus import web_rows, write_table

COMMON = ["run.progress=false", "spark.conf={spark.sql.shuffle.partitions: 2}", "run.rejects_per_reason=3"]
WARCS = ("warc/resiliparse/warcfile.warc.gz", "warc/commoncrawl-whirlwind/whirlwind.warc.gz",
         "warc/dolma/sample-0001.warc.gz")
CODE_FOLDERS = ("json", "email/mime", "wsgiref", "urllib")


def config(*sets: str) -> list[str]:
    """The `--set` overrides of a stage's config (load_config(None, these) resolves them)."""
    load_config(None, [*COMMON, *sets])  # a mistyped key fails here, where the input is made
    return [*COMMON, *sets]


def documents(shared: Path, limit: int = 45) -> list[dict]:
    """Real English documents: CCNet text, archived pages' visible text, a WET conversion."""
    texts = [t for t in cc_texts(shared) + page_texts(shared, 30) + wet_texts(shared) if len(t.split()) >= 60]
    return [{"id": f"doc-{i:03d}", "text": t, "source": "cc-text", "content_type": "Web",
             "url": f"https://example.org/{i}"} for i, t in enumerate(texts[:limit])]


def write_parts(rows: list[dict], folder: Path, parts: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // parts)
    for i in range(parts):
        write_table(rows[i * size:(i + 1) * size], folder / f"in-{i}.parquet")
    return str(folder / "*.parquet")


def stage_inputs(shared: Path, folder: Path) -> dict[int, list[str]]:
    """Stage number → its config overrides for inputs written under `folder` (stage 1 is served, see crawl_site)."""
    docs = documents(shared)
    rng = random.Random(5)
    vocabulary = [w for d in docs for w in d["text"].split()]
    copies = [dict(d, id=f"copy-{d['id']}", text=near_copy_at(d["text"], rng.uniform(0.8, 0.97), rng, vocabulary)[0])
              for d in docs[:12]]
    exact = [dict(docs[12], id="exact-copy")]
    dedup_rows = docs[:30] + copies + exact
    rng.shuffle(dedup_rows)

    warcs = folder / "warc"
    warcs.mkdir(parents=True, exist_ok=True)
    for name in WARCS:
        (warcs / Path(name).name).symlink_to(shared / name)

    code = folder / "code"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in CODE_FOLDERS:
        shutil.copytree(stdlib / name, code / name.replace("/", "-"), ignore=shutil.ignore_patterns("__pycache__"))

    web = web_rows(shared)
    return {
        2: config(f"extract.inputs={warcs}/*.warc.gz"),
        3: config(f"quality.inputs={write_parts(docs, folder / 'quality', 3)}"),
        4: config(f"dedup.inputs={write_parts(dedup_rows, folder / 'dedup', 3)}", "dedup.threshold=0.7"),
        5: config(f"rebalance.inputs={write_parts(dedup_rows, folder / 'rebalance', 3)}", "rebalance.cap=5",
                  "rebalance.embed.model=minilm-static", "rebalance.embed.actors=1", "ray.num_cpus=1",
                  "rebalance.kmeans.min_cluster_docs=6"),
        6: config(f"code.inputs=[{code}]", "code.partition_bytes=150000"),
        7: config(f"github.gharchive=[{shared}/github/gharchive/2015-01-01-12.json.gz]",
                  f"github.repos=[{shared}/github/repos/pallets_itsdangerous.bundle]"),
        8: config(f"tokenize.inputs=[{write_parts(web, folder / 'tokenize', 3)}]", "tokenize.shard_tokens=6000",
                  "tokenize.mixture.tier={}"),
    }
