"""A small profile of every partition's rows, summed into the manifest's `"profile"`.

The audit report charts it without ever reading the data: documents, text bytes and (where a
stage has them) tokens in and out; per drop reason the documents, bytes and a few excerpts; and
per value of the categorical columns a stage's rows carry (language, content type, domain, tier,
topic…) the documents and bytes in and out. Everything is a sum, so partitions merge by adding;
long-tailed columns (domains) keep their top values and fold the rest into `"(other)"`. A map
column (stage 3's `quality_buckets`) is counted per entry, as "name|value".

    {"in": {"docs", "text_bytes", "n_tokens"?, …}, "out": {…},
     "dropped": {reason: {"docs", "text_bytes", "samples": [{"id", "url", "excerpt"}]}},
     "by": {column: {value: {"docs_in", "docs_out", "bytes_in", "bytes_out"}}},   # also "a|b" pairs
     "samples": {column: {value: [{"id", "url", "kept", "excerpt"}]}}}
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

# Numeric columns summed in and out when a stage's rows have them (stage 1: fetched bytes;
# stage 8: tokens and the meta header's share of them).
SUM_COLUMNS = ("n_tokens", "n_header_tokens", "bytes")
OTHER = "(other)"
NONE = "(none)"
TOP_VALUES = 200          # values kept per column in the manifest (domains, hosts; 6 scorers x 20 buckets)
PARTITION_VALUES = 1000   # values kept per column in one partition's profile
SAMPLES = 3               # excerpts per drop reason and per sampled value
EXCERPT_CHARS = 400

Column = str | tuple[str, ...]


def column_key(column: Column) -> str:
    return column if isinstance(column, str) else "|".join(column)


def _text_bytes(table: pa.Table) -> np.ndarray:
    if "text" not in table.column_names:
        return np.zeros(table.num_rows, np.int64)
    lengths = pc.binary_length(table.column("text").cast(pa.binary()))
    return pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False).astype(np.int64)


def _totals(table: pa.Table, text_bytes: np.ndarray) -> dict[str, int]:
    totals = {"docs": table.num_rows}
    if "text" in table.column_names:
        totals["text_bytes"] = int(text_bytes.sum())
    for name in SUM_COLUMNS:
        if name in table.column_names:
            totals[name] = int(pc.sum(table.column(name)).as_py() or 0)
    return totals


def _excerpt(text: str | None) -> str:
    """The start of a text with its lines (code stays readable), blank-line runs and line-end
    spaces squeezed."""
    lines = [line.rstrip() for line in (text or "").strip().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rstrip() + " …"


def _sample_rows(table: pa.Table, rows: np.ndarray, keep: np.ndarray | None) -> list[dict]:
    """The SAMPLES rows with the smallest id hash: a deterministic sample that merges across partitions."""
    ids = table.column("id").take(pa.array(rows)).to_pylist()
    ranks = sorted(range(len(rows)), key=lambda i: (xxhash.xxh64_intdigest(str(ids[i]).encode()), i))[:SAMPLES]
    picked = rows[ranks]
    has = set(table.column_names)
    urls = table.column("url").take(pa.array(picked)).to_pylist() if "url" in has else [None] * len(picked)
    texts = table.column("text").take(pa.array(picked)).to_pylist() if "text" in has else [None] * len(picked)
    out = []
    for rank, row, url, text in zip(ranks, picked.tolist(), urls, texts, strict=True):
        sample = {"id": ids[rank], "url": url, "excerpt": _excerpt(text),
                  "_h": xxhash.xxh64_intdigest(str(ids[rank]).encode())}
        if keep is not None:
            sample["kept"] = bool(keep[row])
        out.append(sample)
    return out


def _keys(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray | None]:
    """String keys of a column, and for a map column (one key per entry: "name|value") the row of
    each entry."""
    column = column.combine_chunks()
    if pa.types.is_map(column.type):  # as a list of (key, value) structs: list kernels work on it
        entries = column.cast(pa.list_(pa.struct([("key", column.type.key_type),
                                                   ("value", column.type.item_type)])))
        rows = pc.list_parent_indices(entries).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(entries)
        names = pc.struct_field(flat, "key").cast(pa.string())
        values = pc.fill_null(pc.struct_field(flat, "value").cast(pa.string()), NONE)
        return pc.binary_join_element_wise(names, values, "|"), rows
    return pc.fill_null(column.cast(pa.string()), NONE), None


def _group(table: pa.Table, column: Column, keep: np.ndarray, text_bytes: np.ndarray) -> dict:
    names = [column] if isinstance(column, str) else list(column)
    keys, rows = [], None
    for name in names:
        key, entry_rows = _keys(table.column(name))
        if entry_rows is not None:
            if len(names) > 1:
                raise ValueError(f"profile: map column {name!r} cannot be crossed with another column")
            rows = entry_rows
        keys.append(key)
    if rows is not None:  # one row per map entry
        keep, text_bytes = keep[rows], text_bytes[rows]
    grouped = pa.table({**{f"k{i}": k for i, k in enumerate(keys)},
                        "keep": keep.astype(np.int64), "bytes": text_bytes,
                        "bytes_out": np.where(keep, text_bytes, 0)})
    result = grouped.group_by([f"k{i}" for i in range(len(names))]).aggregate(
        [("keep", "count"), ("keep", "sum"), ("bytes", "sum"), ("bytes_out", "sum")])
    values = ["|".join(parts) for parts in zip(*(result.column(f"k{i}").to_pylist()
                                                 for i in range(len(names))), strict=True)]
    return {value: {"docs_in": a, "docs_out": b, "bytes_in": c, "bytes_out": d}
            for value, a, b, c, d in zip(values, result.column("keep_count").to_pylist(),
                                         result.column("keep_sum").to_pylist(),
                                         result.column("bytes_sum").to_pylist(),
                                         result.column("bytes_out_sum").to_pylist(), strict=True)}


PROFILE_COLUMNS: tuple[Column, ...] = (
    "source", "content_type", "language", "domain", "tier", "topic", "format", "page_topic", "page_format",
    "code_language", "kind", ("tier", "content_type"), ("tier", "language"))


def partition_profile(table: pa.Table, reasons: pa.Array, keep: pa.Array, prefix: str,
                      columns: Sequence[Column], sample_columns: Sequence[str] = ()) -> dict:
    """The profile of one partition's scored rows (`reasons`: decide()'s, null where kept;
    `prefix` qualifies them: "quality:")."""
    keep_np = np.asarray(pc.fill_null(keep, False).to_numpy(zero_copy_only=False), dtype=bool)
    text_bytes = _text_bytes(table)
    kept = table.filter(pa.array(keep_np))
    profile: dict = {"in": _totals(table, text_bytes), "out": _totals(kept, text_bytes[keep_np]),
                     "dropped": {}, "by": {}, "samples": {}}
    if not keep_np.all():
        reason_values = np.asarray(pc.fill_null(reasons.cast(pa.string()), "").to_numpy(zero_copy_only=False),
                                   dtype=object)
        for reason in sorted(set(reason_values[~keep_np].tolist())):
            rows = np.flatnonzero((reason_values == reason) & ~keep_np)
            profile["dropped"][prefix + reason] = {"docs": int(len(rows)), "text_bytes": int(text_bytes[rows].sum()),
                                          "samples": _sample_rows(table, rows, None)}
    present = set(table.column_names)
    for column in columns:
        names = [column] if isinstance(column, str) else list(column)
        if all(n in present for n in names) and table.num_rows:
            profile["by"][column_key(column)] = _fold(_group(table, column, keep_np, text_bytes), PARTITION_VALUES)
    for name in sample_columns:
        if name in present and table.num_rows:
            values = np.asarray(pc.fill_null(table.column(name).cast(pa.string()), NONE)
                                .to_numpy(zero_copy_only=False), dtype=object)
            profile["samples"][name] = {value: _sample_rows(table, np.flatnonzero(values == value), keep_np)
                                        for value in sorted(set(values.tolist()))}
    return profile


def _fold(counts: dict[str, dict[str, int]], top: int) -> dict[str, dict[str, int]]:
    """The `top` values by documents in (ties by name), the rest summed into "(other)"."""
    if len(counts) <= top:
        return counts
    order = sorted(counts, key=lambda v: (v == OTHER, -counts[v]["docs_in"], v))
    kept = {v: counts[v] for v in order[:top] if v != OTHER}
    other = {"docs_in": 0, "docs_out": 0, "bytes_in": 0, "bytes_out": 0}
    for value in counts:
        if value not in kept:
            for k in other:
                other[k] += counts[value][k]
    kept[OTHER] = other
    return kept


def _add(total: dict, part: dict) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value


def _merge_samples(total: list[dict], part: list[dict]) -> list[dict]:
    return sorted(total + part, key=lambda s: (s["_h"], s["id"]))[:SAMPLES]


def merge(profiles: Sequence[dict]) -> dict:
    """Sum partition profiles (in partition order) into the manifest's profile."""
    total: dict = {"in": {}, "out": {}, "dropped": {}, "by": {}, "samples": {}}
    for part in profiles:
        _add(total["in"], part["in"])
        _add(total["out"], part["out"])
        for reason, figures in part["dropped"].items():
            merged = total["dropped"].setdefault(reason, {"docs": 0, "text_bytes": 0, "samples": []})
            merged["docs"] += figures["docs"]
            merged["text_bytes"] += figures["text_bytes"]
            merged["samples"] = _merge_samples(merged["samples"], figures["samples"])
        for column, counts in part["by"].items():
            _add(total["by"].setdefault(column, {}), counts)
        for column, values in part["samples"].items():
            merged_values = total["samples"].setdefault(column, {})
            for value, samples in values.items():
                merged_values[value] = _merge_samples(merged_values.get(value, []), samples)
    total["by"] = {c: dict(sorted(_fold(v, TOP_VALUES).items())) for c, v in sorted(total["by"].items())}
    for figures in total["dropped"].values():
        figures["samples"] = [_public(s) for s in figures["samples"]]
    total["samples"] = {c: {v: [_public(s) for s in ss] for v, ss in sorted(values.items())}
                        for c, values in sorted(total["samples"].items())}
    total["dropped"] = dict(sorted(total["dropped"].items()))
    return total


def _public(sample: dict) -> dict:
    return {k: v for k, v in sample.items() if k != "_h"}
