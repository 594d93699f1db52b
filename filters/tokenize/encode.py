"""Header strings, token ids and loss masks for a batch of documents, and packing.

A sample is [header][payload][eos]. The payload is cut at the stage-7 `no_loss_spans` (character
offsets) and the pieces are encoded separately, so a masked span covers exactly its characters and
no token straddles a boundary; decoding all payload ids still gives the text back exactly.
Everything per token happens in the tokenizer (Rust) or numpy; Python only loops per document.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from filters.tokenize.config import HeaderConfig
from filters.tokenize.tokenizer import ENDOFTEXT, TokenizerAdapter

BUILTIN_COLUMNS = {"type": "content_type", "lang": "language", "code": "code_language", "source": "source"}
# The subject domain, best first: stage 5's WebOrganizer topic, else stage 1's page topic.
TOPIC_COLUMNS = ("topic", "page_topic")
# The dataset a row came from (crawl category, Common Crawl dump, code, GitHub kind), else `source`.
SOURCE_COLUMNS = ("dataset", "source")
URL_HOST = r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/]*@)?(?P<host>[^/:?#]+)"


@dataclass(frozen=True)
class HeaderPolicy:
    """Which fields, in which format, with which markers, and how often each is dropped."""

    enabled: bool = True
    fields: tuple[str, ...] = ("type", "lang", "code", "domain", "source")
    columns: tuple[tuple[str, str], ...] = ()
    format: str = "{key}: {value}"
    separator: str = " | "
    prefix: str = "<|meta|>"
    suffix: str = "<|/meta|>"
    special_tokens: bool = True
    uppercase: tuple[str, ...] = ("lang",)
    dropout: tuple[tuple[str, float], ...] = ()
    domain_from: str = "topic"

    @classmethod
    def from_settings(cls, header: HeaderConfig) -> HeaderPolicy:
        return cls(
            enabled=header.enabled, fields=tuple(header.fields), columns=tuple(sorted(header.columns.items())),
            format=header.format, separator=header.separator, prefix=header.prefix, suffix=header.suffix,
            special_tokens=header.special_tokens, uppercase=tuple(header.uppercase),
            dropout=tuple(sorted(header.dropout.items())), domain_from=header.domain_from,
        )

    def markers(self) -> tuple[str, ...]:
        return (self.prefix, self.suffix) if self.enabled and self.special_tokens else ()


def _first_present(table: pa.Table, columns: tuple[str, ...]) -> pa.ChunkedArray:
    """Per row, the first non-empty value among these columns (null when none has one)."""
    values = pa.nulls(table.num_rows, pa.string())
    for name in reversed(columns):
        if name in table.column_names:
            column = table.column(name).cast(pa.string())
            values = pc.if_else(pc.fill_null(pc.not_equal(column, ""), False), column, values)
    return values


def _field_values(table: pa.Table, policy: HeaderPolicy, key: str) -> list[str | None]:
    if key in dict(policy.columns):
        values = _first_present(table, (dict(policy.columns)[key],))
    elif key == "domain" and policy.domain_from == "topic":
        values = _first_present(table, TOPIC_COLUMNS)
    elif key == "domain":  # the site: the domain column, else the url's host
        values = _first_present(table, ("domain",))
        if "url" in table.column_names:
            host = pc.struct_field(pc.extract_regex(table.column("url").cast(pa.string()), URL_HOST), "host")
            values = pc.coalesce(values, pc.utf8_lower(host))
    elif key == "source":
        values = _first_present(table, SOURCE_COLUMNS)
    elif key == "lang" and "code_language" in table.column_names:  # stage 6 rows: their programming
        values = _first_present(table, ("language",))                # language is the `code` field
        values = pc.if_else(pc.is_valid(table.column("code_language")), pa.scalar(None, pa.string()), values)
    else:
        values = _first_present(table, (BUILTIN_COLUMNS.get(key, key),))
    if key in policy.uppercase:
        values = pc.utf8_upper(values)
    return values.to_pylist()


def _keep_field(seed: int, sample: str, key: str, p: float) -> bool:
    """Seeded per-sample coin: the same sample keeps or drops the same fields on every run."""
    u = xxhash.xxh64_intdigest(f"{seed}\x00{sample}\x00{key}".encode()) / 2.0**64
    return u >= p


def build_headers(table: pa.Table, policy: HeaderPolicy, seed: int, sample_keys: list[str]) -> list[str]:
    """The meta string per row ("" when headers are off); fields without a value are left out."""
    if not policy.enabled:
        return [""] * table.num_rows
    values = {key: _field_values(table, policy, key) for key in policy.fields}
    dropout = dict(policy.dropout)
    headers = []
    for row, sample in enumerate(sample_keys):
        parts = [
            policy.format.format(key=key, value=values[key][row])
            for key in policy.fields
            if values[key][row] not in (None, "")
            and (key not in dropout or _keep_field(seed, sample, key, dropout[key]))
        ]
        headers.append(f"{policy.prefix}{policy.separator.join(parts)}{policy.suffix}")
    return headers


def payload_pieces(text: str, spans) -> list[tuple[str, int]]:
    """(piece, loss) pairs: spans (sorted, merged, clipped [start, end) char offsets) get loss 0."""
    if not spans:
        return [(text, 1)]
    pieces, cursor = [], 0
    for start, end in sorted((max(0, int(s)), min(len(text), int(e))) for s, e in spans):
        start = max(start, cursor)
        if end <= start:
            continue
        if start > cursor:
            pieces.append((text[cursor:start], 1))
        pieces.append((text[start:end], 0))
        cursor = end
    if cursor < len(text):
        pieces.append((text[cursor:], 1))
    return pieces


@dataclass
class Encoded:
    """Flat ids and masks of a batch plus per-document lengths (header included)."""

    ids: np.ndarray          # int32, all documents concatenated
    mask: np.ndarray         # uint8, same length
    lengths: np.ndarray      # int64, tokens per document
    header_lengths: np.ndarray
    payload_lengths: np.ndarray

    def list_arrays(self) -> tuple[pa.ListArray, pa.ListArray]:
        offsets = pa.array(np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64))
        return (pa.LargeListArray.from_arrays(offsets, pa.array(self.ids)).cast(pa.list_(pa.int32())),
                pa.LargeListArray.from_arrays(offsets, pa.array(self.mask)).cast(pa.list_(pa.uint8())))


def _encode_headers(tokenizer: TokenizerAdapter, headers: list[str], policy: HeaderPolicy) -> list[list[int]]:
    """Encode each distinct header once; markers become single special ids when configured."""
    distinct = sorted(set(headers))
    if policy.special_tokens and policy.enabled:
        bodies = [h[len(policy.prefix):len(h) - len(policy.suffix)] for h in distinct]
        start, end = tokenizer.special_id(policy.prefix), tokenizer.special_id(policy.suffix)
        encoded = [[start, *ids, end] for ids in tokenizer.encode_batch(bodies)]
    else:
        encoded = tokenizer.encode_batch(distinct)
    by_header = dict(zip(distinct, encoded, strict=True))
    return [by_header[h] if h else [] for h in headers]


def encode_documents(tokenizer: TokenizerAdapter, texts: list[str], spans: list | None,
                     headers: list[str], policy: HeaderPolicy, mask_meta: bool,
                     append_eos: bool) -> Encoded:
    """Header + payload pieces + eos per document, concatenated with a parallel loss mask."""
    n = len(texts)
    spans = spans or [None] * n
    piece_texts: list[str] = []
    piece_loss: list[int] = []
    piece_doc: list[int] = []
    for doc, (text, doc_spans) in enumerate(zip(texts, spans, strict=True)):
        for piece, loss in payload_pieces(text or "", doc_spans):
            piece_texts.append(piece)
            piece_loss.append(loss)
            piece_doc.append(doc)
    payload_ids = tokenizer.encode_batch(piece_texts)
    header_ids = _encode_headers(tokenizer, headers, policy)
    eos = [tokenizer.special_id(ENDOFTEXT)] if append_eos else []
    if append_eos and eos[0] is None:
        raise ValueError(f"tokenizer {tokenizer.name} has no {ENDOFTEXT} token; set tokenize.append_eos=false")

    pieces: list[list[int]] = []
    loss: list[int] = []
    owner: list[int] = []
    cursor = 0
    for doc in range(n):
        pieces.append(header_ids[doc])
        loss.append(0 if mask_meta else 1)
        owner.append(doc)
        while cursor < len(piece_doc) and piece_doc[cursor] == doc:
            pieces.append(payload_ids[cursor])
            loss.append(piece_loss[cursor])
            owner.append(doc)
            cursor += 1
        pieces.append(eos)
        loss.append(1)
        owner.append(doc)
    piece_lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    total = int(piece_lengths.sum())
    ids = np.fromiter(chain.from_iterable(pieces), np.int32, total)
    mask = np.repeat(np.array(loss, np.uint8), piece_lengths)
    owner_arr = np.array(owner, np.int64)
    lengths = np.bincount(owner_arr, weights=piece_lengths, minlength=n).astype(np.int64)
    header_lengths = np.fromiter(map(len, header_ids), np.int64, n)
    payload = np.bincount(np.array(piece_doc, np.int64),
                          weights=np.fromiter(map(len, payload_ids), np.int64, len(payload_ids)),
                          minlength=n).astype(np.int64)
    return Encoded(ids, mask, lengths, header_lengths, payload)


def pack(lengths: np.ndarray, header_lengths: np.ndarray, seq_len: int) -> dict[str, np.ndarray]:
    """Documents [header][payload] of these token lengths laid into rows of at most seq_len tokens.

    Packing keeps the conditioning s = [M; x]: a document continued into the next row carries its
    header there again, and a document (or continuation) never starts where its header and one
    payload token do not fit (that row ends short). Returns `index` (positions into the documents'
    concatenated tokens, in row order: repeated headers appear again), `row_offsets` into it, and per
    piece its row, document, start inside the row, tokens, header tokens and payload offset.
    """
    doc_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(lengths) else np.zeros(0, np.int64)
    too_long = np.flatnonzero(header_lengths + 1 > seq_len)
    if too_long.size:
        raise ValueError(f"a header of {int(header_lengths[too_long[0]])} tokens does not fit seq_len {seq_len}")
    pieces: list[tuple[int, int, int, int, int, int]] = []  # row, doc, start, header, payload from, payload to
    row, fill = 0, 0
    for doc in range(len(lengths)):
        header, payload = int(header_lengths[doc]), int(lengths[doc] - header_lengths[doc])
        done = 0
        while True:
            if fill and seq_len - fill < header + min(1, payload - done):
                row, fill = row + 1, 0
            take = min(payload - done, seq_len - fill - header)
            pieces.append((row, doc, fill, header, done, done + take))
            fill, done = fill + header + take, done + take
            if done >= payload:
                break
            row, fill = row + 1, 0
    table = np.array(pieces, dtype=np.int64).reshape(-1, 6)
    piece_row, piece_doc, piece_start, piece_header, start, end = table.T
    tokens = piece_header + end - start
    index = np.concatenate([
        np.concatenate([np.arange(doc_starts[d], doc_starts[d] + h),
                        np.arange(doc_starts[d] + h + a, doc_starts[d] + h + b)])
        for d, h, a, b in zip(piece_doc, piece_header, start, end, strict=True)
    ]).astype(np.int64) if len(table) else np.zeros(0, np.int64)
    n_rows = int(piece_row[-1]) + 1 if len(table) else 0
    row_tokens = np.bincount(piece_row, weights=tokens, minlength=n_rows).astype(np.int64)
    return {"index": index, "row_offsets": np.concatenate([[0], np.cumsum(row_tokens)]).astype(np.int64),
            "piece_row": piece_row, "piece_doc": piece_doc, "piece_start": piece_start,
            "piece_tokens": tokens, "piece_header": piece_header, "piece_offset": start}
