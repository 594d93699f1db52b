"""The steps after LSH in numpy: the merge rules both paths use, and the whole tail (verification,
components, survivor check, assignment, precision sample) in the driver when the candidate set is
small (the usual case: a few percent of documents share a bucket with another).

The driver path gives exactly the Spark path's result (a test compares them); it holds only the
candidate nodes, at most DRIVER_MAX_NODES of them and dedup.driver_components_max_edges pairs, never
the corpus. Above either limit clusters.py runs the same rules as Spark joins.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup.components import components_of
from filters.dedup.minhash import exact_jaccards
from filters.dedup.precision import precision_census, texts_at
from filters.dedup.signatures import unpacked_rows
from pipeline import io

if TYPE_CHECKING:
    from filters.dedup.clusters import ClusterSettings

DRIVER_MAX_NODES = 500_000  # candidate nodes held in the driver (signatures: ≤ 256 MB at 128 permutations)
NODE_FIELDS = ("part", "row", "id", "exact", "length", "tier_rank", "shingles", "sig")
# (column, ascending): best tier, longest text, smallest id; part and row only break exact ties
SURVIVOR_ORDER = (("tier_rank", True), ("length", False), ("id", True), ("part", True), ("row", True))
CHUNK_PAIRS = 100_000  # pairs compared at a time (bounds the gathered signature rows)
TEXT_BYTES = 512 << 20  # texts read at a time by the exact survivor check (each input row group once
# when the candidates' texts fit, as they do up to ~250k candidate nodes of 2 KB)


# ---- rules (both paths) ---------------------------------------------------------------------
def similar(exact_l: np.ndarray, exact_r: np.ndarray, sig_l: np.ndarray, sig_r: np.ndarray):
    """(same normalised text, estimated Jaccard) of aligned rows of exact hashes and signatures."""
    similarity = (sig_l == sig_r).mean(axis=1) if sig_l.size else np.zeros(len(sig_l))
    return (exact_l == exact_r).all(axis=1), similarity


def merges(same: np.ndarray, similarity: np.ndarray, shingles_l: np.ndarray, shingles_r: np.ndarray,
           settings: ClusterSettings) -> np.ndarray:
    """A candidate pair merges on the same normalised text (exact), or when both have shingles and
    the estimated Jaccard passes the cut (near; every LSH pair when unverified)."""
    near = (shingles_l > 0) & (shingles_r > 0)
    if settings.verify_threshold is not None:
        near &= similarity >= settings.verify_threshold
    return (same & settings.exact) | (near & settings.near)


def resembles(same: np.ndarray, similarity: np.ndarray, cut: float) -> np.ndarray:
    """Survivor check: a member stays in its cluster when it is the survivor's text or close to it."""
    return same | (similarity >= cut)


def text_similarity(same: np.ndarray, texts_l: pa.Array, texts_r: pa.Array, ngram: int) -> np.ndarray:
    """Exact survivor check: true shingle-set Jaccard of each aligned pair of texts that are not
    the same normalised text (1.0 for those)."""
    similarity = np.ones(len(same))
    other = np.flatnonzero(~same)
    if other.size:
        texts = pa.concat_arrays([texts_l.cast(pa.string()), texts_r.cast(pa.string())])
        similarity[other] = exact_jaccards(texts, other, other + len(same), ngram)
    return similarity


def regrouped(failed: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Members that failed the survivor check stay, but exact copies among them stay together:
    (node, root) with root the smallest node of each group of equal texts."""
    if not failed.size:
        return failed, failed
    _, group = np.unique(exact, axis=0, return_inverse=True)
    group = group.ravel()
    smallest = np.full(group.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, group, failed)
    root = smallest[group]
    return failed[failed != root], root[failed != root]


def node_rows(path: str, part: int, rows: np.ndarray) -> pa.Table:
    """The signature rows of one input partition's candidate nodes, with `pr` = part << 32 | row."""
    picked = io.read_parquet(path, columns=list(NODE_FIELDS)).take(pa.array(rows))
    return picked.add_column(0, "pr", pa.array((np.int64(part) << 32) | rows.astype(np.int64)))


def spark_xxhash64(text: str, seed: int) -> int:
    """Spark's xxhash64(text, lit(seed)) (default seed 42), so both paths sample the same rows."""
    import xxhash

    h = xxhash.xxh64_intdigest(text.encode(), 42)
    packed = struct.pack("<i", seed) if -2**31 <= seed < 2**31 else struct.pack("<q", seed)
    h = xxhash.xxh64_intdigest(packed, h)
    return h - 2**64 if h >= 2**63 else h


# ---- the driver path ------------------------------------------------------------------------
def read_pairs(folder: str, limit: int) -> np.ndarray | None:
    """The distinct candidate pairs written by the reducers, or None when they are more than
    `limit` rows (then the Spark path reads them)."""
    import pyarrow.parquet as pq

    names = sorted(n for n in io.listdir(folder) if n.endswith(".parquet"))
    total = 0
    for name in names:
        with io.open_input(io.join(folder, name)) as fh:
            total += pq.ParquetFile(fh).metadata.num_rows
    if total > limit:
        return None
    tables = [io.read_parquet(io.join(folder, n)) for n in names]
    pairs = np.column_stack([np.concatenate([t.column(c).to_numpy() for t in tables] or [np.zeros(0, np.int64)])
                             for c in ("a", "b")])
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def _node_table(nodes: np.ndarray, files: dict[int, str]) -> pa.Table:
    """Candidate nodes' signature rows, sorted in survivor order (row i is node i)."""
    parts = nodes >> 32
    tables = [node_rows(files[int(p)], int(p), nodes[parts == p] & 0xFFFFFFFF) for p in np.unique(parts)]
    table = pa.concat_tables(tables).combine_chunks()
    keys = [(name, "ascending" if ascending else "descending") for name, ascending in SURVIVOR_ORDER]
    return table.take(pc.sort_indices(table, sort_keys=keys))


def _compare(a: np.ndarray, b: np.ndarray, exact: np.ndarray, sig: np.ndarray):
    """similar() for node pairs, a chunk of pairs at a time."""
    same, similarity = np.zeros(len(a), dtype=bool), np.zeros(len(a))
    for start in range(0, len(a), CHUNK_PAIRS):
        i, j = a[start:start + CHUNK_PAIRS], b[start:start + CHUNK_PAIRS]
        same[start:start + len(i)], similarity[start:start + len(i)] = similar(exact[i], exact[j], sig[i], sig[j])
    return same, similarity


def _checked_by_text(node: np.ndarray, root: np.ndarray, same: np.ndarray, table: pa.Table,
                     inputs: dict[int, str], ngram: int) -> np.ndarray:
    """True Jaccard of the (node, root) node-index pairs that are not the same text (1.0 for those),
    reading their texts from the input files in chunks of pairs whose texts total at most TEXT_BYTES (bounds the texts held)."""
    part, row = table.column("part").to_numpy(), table.column("row").to_numpy()
    length = table.column("length").to_numpy()
    similarity = np.ones(len(node))
    todo = np.flatnonzero(~same)
    held = np.cumsum(length[node[todo]] + length[root[todo]])  # an upper bound: survivors repeat
    bounds = np.searchsorted(held, np.arange(1, int(held[-1] // TEXT_BYTES) + 2) * TEXT_BYTES) if todo.size else []
    for start, end in zip([0, *bounds[:-1]], bounds, strict=True):
        pick = todo[start:max(end, start + 1)]
        wanted = np.unique(np.concatenate([node[pick], root[pick]]))  # node indexes, sorted
        wanted = wanted[np.lexsort((row[wanted], part[wanted]))]
        texts = pa.concat_arrays([texts_at(inputs[int(p)], row[wanted[part[wanted] == p]]).cast(pa.string())
                                  for p in np.unique(part[wanted])])
        order = np.argsort(wanted)
        at = order[np.searchsorted(wanted, node[pick], sorter=order)], order[np.searchsorted(wanted, root[pick],
                                                                                              sorter=order)]
        similarity[pick] = exact_jaccards(texts, *at, ngram)
    return similarity


def cluster_in_driver(pairs: np.ndarray, files: dict[int, str], inputs: dict[int, str], documents: int,
                      assign_dir: str, settings: ClusterSettings, sample: tuple[int, int],
                      stats: dict) -> list[dict]:
    """Verify, cluster, check and assign the candidate pairs (of nodes part << 32 | row) in numpy;
    write `assign_dir/part=P/` as the Spark path does; fill `stats`; return the precision sample
    (`sample` = (size, seed)). `files` and `inputs`: signature and input file of each part."""
    stats.update({"verified_pairs": 0, "components_rounds": 0, "clusters": 0, "unique": documents,
                  "exact_duplicates": 0, "near_duplicates": 0, "largest_cluster": min(documents, 1)})
    if not len(pairs):
        return []
    table = _node_table(np.unique(pairs), files)
    pr = table.column("pr").to_numpy()
    by_pr = np.argsort(pr)
    a, b = (by_pr[np.searchsorted(pr, pairs[:, k], sorter=by_pr)] for k in (0, 1))
    exact = unpacked_rows(table.column("exact").chunk(0), np.int64)
    sig = unpacked_rows(table.column("sig").chunk(0), np.uint32)
    shingles = table.column("shingles").to_numpy()

    keep = merges(*_compare(a, b, exact, sig), shingles[a], shingles[b], settings)
    stats["verified_pairs"] = int(keep.sum())
    node, root = components_of(a[keep], b[keep])
    stats["components_rounds"] = 0
    if settings.survivor_check is not None:
        if settings.survivor_check_ngram is not None:  # the texts decide; the signatures are not needed
            same = (exact[node] == exact[root]).all(axis=1)
            similarity = _checked_by_text(node, root, same, table, inputs, settings.survivor_check_ngram)
        else:
            same, similarity = _compare(node, root, exact, sig)
        passes = resembles(same, similarity, settings.survivor_check)
        stats["separated_from_survivor"] = int((~passes).sum())
        if settings.survivor_check_ngram is not None:
            stats["precision"] = precision_census(similarity[passes & ~same], settings.survivor_check)
        extra = regrouped(node[~passes], exact[node[~passes]])
        node, root = np.concatenate([node[passes], extra[0]]), np.concatenate([root[passes], extra[1]])

    roots, counts = np.unique(root, return_counts=True)
    member, of = np.concatenate([node, roots]), np.concatenate([root, roots])
    size = (counts + 1)[np.searchsorted(roots, of)]
    kind = np.where(member == of, "survivor",
                    np.where((exact[member] == exact[of]).all(axis=1), "exact_duplicate", "near_duplicate"))
    part, row, ids = table.column("part").to_numpy(), table.column("row").to_numpy(), table.column("id")
    rows = pa.table({"row": pa.array(row[member]), "id": ids.take(member), "dup_cluster_id": ids.take(of),
                     "dup_cluster_size": pa.array(size.astype(np.int64)), "dup_type": pa.array(kind.astype(object),
                                                                                              pa.string())})
    for p in np.unique(part[member]):
        mine = np.flatnonzero(part[member] == p)
        mine = mine[np.argsort(row[member][mine])]
        io.write_parquet_atomic(io.join(assign_dir, f"part={p}", "part-00000.parquet"), rows.take(mine))
    stats.update({"clusters": int(len(roots)), "unique": documents - int(len(member)),
                  "exact_duplicates": int((kind == "exact_duplicate").sum()),
                  "near_duplicates": int((kind == "near_duplicate").sum()),
                  "largest_cluster": int(size.max()) if size.size else min(documents, 1)})

    size_wanted, seed = sample
    removed = np.flatnonzero(kind == "near_duplicate")
    if size_wanted <= 0 or not removed.size:
        return []
    names = ids.take(member[removed]).to_pylist()
    keys = sorted((spark_xxhash64(name, seed), name, int(part[member[i]]), int(row[member[i]]), int(of[i]))
                  for name, i in zip(names, removed, strict=True))
    return [{"id": name, "part": p, "row": r, "survivor_part": int(part[s]), "survivor_row": int(row[s])}
            for _, name, p, r, s in keys[:size_wanted]]
