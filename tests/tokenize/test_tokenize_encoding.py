"""Tokenizers, headers, loss masks and packing on real text (no engine involved)."""

import numpy as np
import pyarrow as pa
import pytest

from filters.tokenize.config import MixtureConfig
from filters.tokenize.encode import HeaderPolicy, build_headers, encode_documents, pack
from filters.tokenize.plan import copies_from_weights, make_plan
from filters.tokenize.tokenizer import (
    ENDOFTEXT,
    HFAdapter,
    hf_tokenizer_from_bpe,
    load_tokenizer,
    packaged_bpe,
)
from tests.tokenize.corpus import code_rows, page_rows, web_rows

MARKERS = ("<|meta|>", "<|/meta|>")


@pytest.fixture(scope="module")
def rows(shared_data):
    return web_rows(shared_data) + page_rows(shared_data) + code_rows()


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "cl100k.json"
    hf_tokenizer_from_bpe(packaged_bpe("default")).save(str(path))
    return str(path)


@pytest.mark.parametrize("name", ["default", "qwen"])
def test_converted_tokenizer_json_gives_tiktoken_ids_on_real_pages(rows, name, tmp_path):
    texts = [r["text"] for r in rows]
    reference = load_tokenizer(name).encoding  # tiktoken, the reference implementation
    path = tmp_path / f"{name}.json"
    hf_tokenizer_from_bpe(packaged_bpe(name)).save(str(path))
    converted = load_tokenizer(str(path))
    assert isinstance(converted, HFAdapter)
    assert converted.encode_batch(texts) == reference.encode_ordinary_batch(texts)
    assert converted.special_id(ENDOFTEXT) == reference.eot_token


def _policy(**kw) -> HeaderPolicy:
    return HeaderPolicy(**kw)


@pytest.mark.parametrize("setting", ["default", "json"])
def test_loss_bearing_ids_decode_to_the_payload_in_every_language_and_code(rows, setting, tokenizer_json):
    tokenizer = load_tokenizer(tokenizer_json if setting == "json" else "default", MARKERS)
    table = pa.Table.from_pylist(rows)
    assert {"en", "de", "fr", "zh", "pl", "python"} <= set(table.column("language").to_pylist())
    policy = _policy()
    headers = build_headers(table, policy, seed=1, sample_keys=table.column("id").to_pylist())
    texts = table.column("text").to_pylist()
    enc = encode_documents(tokenizer, texts, None, headers, policy, mask_meta=True, append_eos=True)
    ends = np.cumsum(enc.lengths)
    eos = tokenizer.special_id(ENDOFTEXT)
    for i, text in enumerate(texts):
        ids = enc.ids[ends[i] - enc.lengths[i]:ends[i]]
        mask = enc.mask[ends[i] - enc.lengths[i]:ends[i]]
        assert len(ids) == len(mask)
        h = enc.header_lengths[i]
        assert not mask[:h].any() and mask[h:].all()
        assert tokenizer.decode(ids[:h]) == headers[i]
        assert ids[-1] == eos
        assert tokenizer.decode(ids[mask == 1][:-1]) == text
    assert headers[0].startswith("<|meta|>type: Web | lang: EN | source: cc-text")  # no topic: no domain
    code = texts.index(next(r["text"] for r in rows if r["content_type"] == "Code"))
    assert headers[code].startswith("<|meta|>type: Code | lang: PYTHON | source: files")
    assert tokenizer.decode([tokenizer.special_id("<|meta|>")]) == "<|meta|>"


def test_unmasked_phase_trains_on_the_header_and_page_specials_stay_plain(rows):
    tokenizer = load_tokenizer("default", MARKERS)
    text = rows[0]["text"] + " <|endoftext|> <|meta|> tail"
    policy = _policy(dropout=())
    enc = encode_documents(tokenizer, [text], None, ["<|meta|>type: Web<|/meta|>"], policy,
                           mask_meta=False, append_eos=False)
    assert enc.mask.all()
    payload = enc.ids[enc.header_lengths[0]:]
    assert tokenizer.special_id(ENDOFTEXT) not in payload.tolist()
    assert tokenizer.special_id("<|meta|>") not in payload.tolist()
    assert tokenizer.decode(payload) == text


def test_no_loss_spans_mask_exactly_their_characters(rows):
    tokenizer = load_tokenizer("default", MARKERS)
    text = rows[0]["text"]
    spans = [[10, 200], [150, 260], [len(text) - 40, len(text) + 99]]  # overlapping, past the end
    enc = encode_documents(tokenizer, [text], [spans], [""], _policy(enabled=False),
                           mask_meta=True, append_eos=False)
    kept = text[:10] + text[260:len(text) - 40]
    masked = text[10:260] + text[len(text) - 40:]
    assert tokenizer.decode(enc.ids[enc.mask == 1]) == kept
    assert tokenizer.decode(enc.ids[enc.mask == 0]) == masked
    assert tokenizer.decode(enc.ids) == text


def test_header_dropout_is_seeded_per_sample(rows):
    table = pa.Table.from_pylist(rows * 20)
    keys = [f"{i}:{n}" for n, i in enumerate(table.column("id").to_pylist())]
    policy = _policy(dropout=(("domain", 0.5), ("source", 1.0)), domain_from="host")
    first = build_headers(table, policy, 7, keys)
    assert first == build_headers(table, policy, 7, keys)
    assert first != build_headers(table, policy, 8, keys)
    with_domain = sum("domain: " in h for h in first) / len(first)
    assert 0.3 < with_domain < 0.7
    assert not any("source: " in h for h in first)
    assert all("type: " in h for h in first)


def test_packing_carries_the_header_into_every_row_a_document_continues_in(rows):
    """s = [M; x] holds in every row: real documents longer than seq_len are cut, and each cut-off
    piece starts with its document's header again; the payload pieces put together are the
    document's payload exactly; no row holds a header without any payload after it."""
    tokenizer = load_tokenizer("default", MARKERS)
    texts = [r["text"] for r in rows]
    policy = _policy(dropout=())
    headers = build_headers(pa.Table.from_pylist(rows), policy, 1, [r["id"] for r in rows])
    enc = encode_documents(tokenizer, texts, None, headers, policy, mask_meta=True, append_eos=True)
    seq_len = 512
    assert (enc.lengths > seq_len).sum() >= 3  # real documents longer than a row
    layout = pack(enc.lengths, enc.header_lengths, seq_len)
    flat = enc.ids[layout["index"]]
    row_lengths = np.diff(layout["row_offsets"])
    assert (row_lengths <= seq_len).all() and row_lengths.sum() == len(flat)
    starts = np.concatenate([[0], np.cumsum(enc.lengths)[:-1]])
    payload: dict[int, list[int]] = {}
    for row, doc, start, tokens, header, offset in zip(
            layout["piece_row"], layout["piece_doc"], layout["piece_start"], layout["piece_tokens"],
            layout["piece_header"], layout["piece_offset"], strict=True):
        piece = flat[layout["row_offsets"][row] + start: layout["row_offsets"][row] + start + tokens]
        own_header = enc.ids[starts[doc]: starts[doc] + enc.header_lengths[doc]]
        assert header == len(own_header) > 0 and (piece[:header] == own_header).all()
        assert tokens > header  # never a header alone
        assert offset == len(payload.setdefault(doc, []))
        payload[doc].extend(piece[header:].tolist())
    for doc in range(len(texts)):
        own = enc.ids[starts[doc] + enc.header_lengths[doc]: starts[doc] + enc.lengths[doc]]
        assert payload[doc] == own.tolist()
    continued = np.flatnonzero(layout["piece_offset"] > 0)
    assert len(continued) >= 3


def test_mixture_weights_give_expected_copies_and_a_seeded_shuffle():
    ids = [f"doc-{i}" for i in range(4000)]
    copies = copies_from_weights(np.full(4000, 1.5), ids, seed=3)
    assert set(copies.tolist()) == {1, 2} and 0.45 < (copies == 2).mean() < 0.55
    meta = pa.table({"id": ids, "file": [0] * 4000, "row": list(range(4000)),
                     "source": ["web"] * 2000 + ["github"] * 2000, "est_tokens": [100] * 4000})
    mixture = MixtureConfig(source={"github": 2.0, "web": 0.0})
    plan = make_plan(meta, mixture, seed=3, shard_tokens=10_000)
    assert plan.equals(make_plan(meta, mixture, seed=3, shard_tokens=10_000))
    assert not plan.equals(make_plan(meta, mixture, seed=4, shard_tokens=10_000))
    dropped = plan.filter(pa.compute.is_valid(plan.column("drop")))
    assert dropped.num_rows == 2000 and set(dropped.column("drop").to_pylist()) == {"mixture"}
    live = plan.filter(pa.compute.is_null(plan.column("drop")))
    assert live.num_rows == 4000 and set(live.column("copy").to_pylist()) == {0, 1}
    assert live.column("row").to_pylist() != sorted(live.column("row").to_pylist())  # shuffled
    shard_sizes = np.bincount(live.column("shard").to_numpy())
    assert (shard_sizes[:-1] == 100).all()


def test_header_domain_is_the_subject_topic_and_source_the_dataset(rows):
    """The report's header: domain = the subject (stage 5's topic, else stage 1's page topic; the
    site only when asked for), source = the dataset the row came from (else its source)."""
    table = pa.Table.from_pylist([
        dict(rows[0], page_topic="Science & Tech.", topic=None, dataset="commoncrawl/CC-MAIN-2024-22"),
        dict(rows[1], page_topic="Health", topic="Science & Tech.", dataset=None),
        dict(rows[2], page_topic="", topic=None, dataset="crawl/Software Development"),
    ])
    keys = table.column("id").to_pylist()
    by_topic = build_headers(table, _policy(), 1, keys)
    assert "domain: Science & Tech. | source: commoncrawl/CC-MAIN-2024-22" in by_topic[0]
    assert "domain: Science & Tech. | source: cc-text" in by_topic[1]  # stage 5's topic wins
    assert "domain: " not in by_topic[2] and "source: crawl/Software Development" in by_topic[2]
    by_host = build_headers(table, _policy(domain_from="host"), 1, keys)
    host = rows[0]["url"].split("/")[2].lower() if "://" in rows[0]["url"] else None
    assert ("domain: " + host) in by_host[0] if host else "domain: " not in by_host[0]
