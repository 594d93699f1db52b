"""The clustering steps in numpy, in the driver, when the candidate set is small (the usual case: a
few percent of documents share a bucket with another).

It holds only the candidate nodes, at most DRIVER_MAX_NODES of them and
dedup.driver_components_max_edges pairs, never the corpus. It applies the rules of rules.py, as
spark_path.py does for larger candidate sets, and gives the same clusters (a test compares them).
Both read and write the same step files (steps.py): nodes are numbered in survivor order, so a
component's smallest node is its survivor.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from filters.dedup.cluster_settings import ClusterSettings
from filters.dedup.components import components_of
from filters.dedup.minhash import exact_jaccards
from filters.dedup.precision import precision_census, texts_at
from filters.dedup.rules import SURVIVOR_ORDER, merges, node_rows, regrouped, resembles, similar
from filters.dedup.signatures import unpacked_rows
from filters.dedup.work import WorkDir
from pipeline import io

DRIVER_MAX_NODES = 500_000  # candidate nodes held in the driver (signatures: ≤ 256 MB at 128 permutations)
CHUNK_PAIRS = 100_000  # pairs compared at a time (bounds the gathered signature rows)
TEXT_BYTES = 512 << 20  # texts read at a time by the exact survivor check (each input row group once
# when the candidates' texts fit, as they do up to ~250k candidate nodes of 2 KB)


def read_pairs(folder: str, limit: int) -> np.ndarray | None:
    """The distinct candidate pairs written by the reducers, or None when they are more than
    `limit` rows or hold more than DRIVER_MAX_NODES nodes (then Spark reads them)."""
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
    pairs = np.unique(pairs, axis=0) if len(pairs) else pairs
    return pairs if len(np.unique(pairs)) <= DRIVER_MAX_NODES else None


def _node_table(nodes: np.ndarray, files: dict[int, str]) -> pa.Table:
    """Candidate nodes' signature rows in survivor order, numbered: row i is node i."""
    parts = nodes >> 32
    tables = [node_rows(files[int(p)], int(p), nodes[parts == p] & 0xFFFFFFFF) for p in np.unique(parts)]
    table = pa.concat_tables(tables).combine_chunks()
    keys = [(name, "ascending" if ascending else "descending") for name, ascending in SURVIVOR_ORDER]
    table = table.take(pc.sort_indices(table, sort_keys=keys))
    return table.add_column(0, "node", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _compare(a: np.ndarray, b: np.ndarray, exact: np.ndarray, sig: np.ndarray):
    """similar() for node pairs, a chunk of pairs at a time."""
    same, similarity = np.zeros(len(a), dtype=bool), np.zeros(len(a))
    for start in range(0, len(a), CHUNK_PAIRS):
        i, j = a[start:start + CHUNK_PAIRS], b[start:start + CHUNK_PAIRS]
        same[start:start + len(i)], similarity[start:start + len(i)] = similar(exact[i], exact[j], sig[i], sig[j])
    return same, similarity


def _signatures(nodes: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    return (unpacked_rows(nodes.column("exact").combine_chunks(), np.int64),
            unpacked_rows(nodes.column("sig").combine_chunks(), np.uint32))


def components(pairs: np.ndarray, files: dict[int, str], work: WorkDir, settings: ClusterSettings) -> dict:
    """Number the candidate nodes, verify the pairs, and write each component member's survivor."""
    if not len(pairs):
        work.write_links("components", np.zeros(0, np.int64), np.zeros(0, np.int64))
        return {"candidate_pairs": 0, "verified_pairs": 0, "components_rounds": 0}
    table = _node_table(np.unique(pairs), files)
    work.write_nodes(table)
    pr = table.column("pr").to_numpy()
    by_pr = np.argsort(pr)
    a, b = (by_pr[np.searchsorted(pr, pairs[:, k], sorter=by_pr)] for k in (0, 1))
    exact, sig = _signatures(table)
    shingles = table.column("shingles").to_numpy()
    keep = merges(*_compare(a, b, exact, sig), shingles[a], shingles[b], settings)
    work.write_links("components", *components_of(a[keep], b[keep]))
    return {"candidate_pairs": int(len(pairs)), "verified_pairs": int(keep.sum()), "components_rounds": 0}


def _checked_by_text(node: np.ndarray, root: np.ndarray, same: np.ndarray, table: pa.Table,
                     inputs: dict[int, str], ngram: int, tokens: str = "words") -> np.ndarray:
    """True Jaccard of the (node, root) pairs that are not the same text (1.0 for those), reading
    their texts from the input files in chunks of pairs whose texts total at most TEXT_BYTES."""
    part, row = table.column("part").to_numpy(), table.column("row").to_numpy()
    length = table.column("length").to_numpy()
    similarity = np.ones(len(node))
    todo = np.flatnonzero(~same)
    if not todo.size:  # only exact copies: nothing to read
        return similarity
    held = np.cumsum(length[node[todo]] + length[root[todo]])  # an upper bound: survivors repeat
    bounds = np.searchsorted(held, np.arange(1, int(held[-1] // TEXT_BYTES) + 2) * TEXT_BYTES)
    for start, end in zip([0, *bounds[:-1]], bounds, strict=True):
        pick = todo[start:max(end, start + 1)]
        wanted = np.unique(np.concatenate([node[pick], root[pick]]))  # node indexes, sorted
        wanted = wanted[np.lexsort((row[wanted], part[wanted]))]
        texts = pa.concat_arrays([texts_at(inputs[int(p)], row[wanted[part[wanted] == p]]).cast(pa.string())
                                  for p in np.unique(part[wanted])])
        order = np.argsort(wanted)
        at = (order[np.searchsorted(wanted, node[pick], sorter=order)],
              order[np.searchsorted(wanted, root[pick], sorter=order)])
        similarity[pick] = exact_jaccards(texts, *at, ngram, tokens)
    return similarity


def survivor_check(work: WorkDir, inputs: dict[int, str], settings: ClusterSettings) -> dict:
    """Members that resemble their survivor itself stay its duplicates; the others leave, with
    their exact copies (see spark_path.survivor_check)."""
    node, root = work.read_links("components")
    if settings.survivor_check is None or not node.size:
        work.write_links("checked", node, root)
        return {"separated_from_survivor": 0} if settings.survivor_check is not None else {}
    table = work.read_nodes()
    exact, sig = _signatures(table)
    if settings.survivor_check_ngram is not None:  # the texts decide; the signatures are not needed
        same = (exact[node] == exact[root]).all(axis=1)
        similarity = _checked_by_text(node, root, same, table, inputs, settings.survivor_check_ngram,
                                      settings.tokens)
    else:
        same, similarity = _compare(node, root, exact, sig)
    passes = resembles(same, similarity, settings.survivor_check)
    stats = {}
    if settings.survivor_check_ngram is not None:  # every removal measured: a census
        stats["precision"] = precision_census(similarity[passes & ~same], settings.survivor_check)
    extra = regrouped(node[~passes], exact[node[~passes]])
    work.write_links("checked", np.concatenate([node[passes], extra[0]]), np.concatenate([root[passes], extra[1]]))
    return {"separated_from_survivor": int((~passes).sum()), **stats}


def assignment(work: WorkDir) -> dict:
    """Every cluster member's row: its survivor's id, the cluster size and the duplicate type,
    written per input partition as spark_path.assignment does."""
    node, root = work.read_links("checked")
    if not node.size:
        return {"clusters": 0, "members": 0, "exact_duplicates": 0, "near_duplicates": 0, "largest_cluster": 0}
    table = work.read_nodes()
    exact, _ = _signatures(table)
    roots, counts = np.unique(root, return_counts=True)
    member, of = np.concatenate([node, roots]), np.concatenate([root, roots])
    size = (counts + 1)[np.searchsorted(roots, of)]
    kind = np.where(member == of, "survivor",
                    np.where((exact[member] == exact[of]).all(axis=1), "exact_duplicate", "near_duplicate"))
    part, row, ids = table.column("part").to_numpy(), table.column("row").to_numpy(), table.column("id")
    rows = pa.table({"row": pa.array(row[member]), "id": ids.take(member), "dup_cluster_id": ids.take(of),
                     "dup_cluster_size": pa.array(size.astype(np.int64)),
                     "dup_type": pa.array(kind.astype(object), pa.string())})
    for p in np.unique(part[member]):
        mine = np.flatnonzero(part[member] == p)
        work.write_assignment(int(p), rows.take(mine[np.argsort(row[member][mine])]))
    return {"clusters": int(len(roots)), "members": int(len(member)),
            "exact_duplicates": int((kind == "exact_duplicate").sum()),
            "near_duplicates": int((kind == "near_duplicate").sum()), "largest_cluster": int(size.max())}
