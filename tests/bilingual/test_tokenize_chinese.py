"""Stage 8 on real Chinese text: `lang: ZH` headers, exact round trips with both shipped BPEs, and
stage-6 code rows whose programming language is its own header field (`code: python`), not `lang`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from filters.tokenize.encode import HeaderPolicy, build_headers, encode_documents
from filters.tokenize.tokenizer import load_tokenizer

MARKERS = ("<|meta|>", "<|/meta|>")


@pytest.fixture(scope="module")
def chinese_rows(shared_data: Path) -> list[dict]:
    base = shared_data / "zh" / "web_text" / "chinesewebtext"
    texts = [json.loads(line)["raw_content"] for line in (base / "cc_2021-43_cleared1.jsonl").open(encoding="utf-8")]
    texts += [json.loads(line)["text"] for line in (base / "quality_labeled_20.jsonl").open(encoding="utf-8")]
    manifest = [json.loads(line) for line in (shared_data / "zh" / "html" / "manifest.jsonl").open(encoding="utf-8")]
    traditional = [m for m in manifest if m.get("script_guess") == "traditional"]
    texts += [gzip.open(shared_data / "zh" / m["path"]).read().decode("utf-8", "replace") for m in traditional]
    assert len(traditional) == 2 and len(texts) == 122  # whole pages: markup, scripts, Big5-era text
    return [{"id": f"zh-{i}", "text": t, "content_type": "Web", "language": "zh", "source": "cc-text"}
            for i, t in enumerate(texts)]


@pytest.mark.parametrize("name", ["default", "qwen"])
def test_chinese_round_trips_exactly_with_zh_headers(chinese_rows, name):
    tokenizer = load_tokenizer(name, MARKERS)
    table = pa.Table.from_pylist(chinese_rows)
    policy = HeaderPolicy()
    headers = build_headers(table, policy, seed=1, sample_keys=table.column("id").to_pylist())
    assert all(h.startswith("<|meta|>type: Web | lang: ZH | source: cc-text") for h in headers)
    texts = table.column("text").to_pylist()
    enc = encode_documents(tokenizer, texts, None, headers, policy, mask_meta=True, append_eos=True)
    ends = np.cumsum(enc.lengths)
    for i, text in enumerate(texts):
        ids, mask = enc.ids[ends[i] - enc.lengths[i]:ends[i]], enc.mask[ends[i] - enc.lengths[i]:ends[i]]
        h = enc.header_lengths[i]
        assert tokenizer.decode(ids[:h]) == headers[i]
        assert tokenizer.decode(ids[h:-1]) == text          # byte-exact, traditional characters too
        assert mask[h:].all() and not mask[:h].any()
    chars = sum(len(t) for t in texts)
    print(f"{name}: {enc.payload_lengths.sum() / chars:.2f} tokens per character of real Chinese text")


def test_code_rows_keep_their_programming_language_apart():
    tokenizer = load_tokenizer("default", MARKERS)
    rows = pa.Table.from_pylist([
        {"id": "c", "text": "def f():\n    return '中文'\n", "content_type": "Code", "language": "python",
         "code_language": "python", "source": "code"},
        {"id": "w", "text": "中文网页的正文。", "content_type": "Web", "language": "zh", "code_language": None,
         "source": "crawl"},
    ])
    headers = build_headers(rows, HeaderPolicy(), seed=1, sample_keys=["c", "w"])
    assert headers == ["<|meta|>type: Code | code: python | source: code<|/meta|>",
                       "<|meta|>type: Web | lang: ZH | source: crawl<|/meta|>"]
    enc = encode_documents(tokenizer, rows.column("text").to_pylist(), None, headers, HeaderPolicy(),
                           mask_meta=True, append_eos=False)
    assert tokenizer.decode(enc.ids[enc.mask == 1]) == "".join(rows.column("text").to_pylist())
