"""Stage 4 config: the `dedup:` section (exact and MinHash-LSH near-duplicate removal)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config import InputList, Section


class DedupConfig(Section):
    """Stage 4: exact + MinHash-LSH near-dedup (filters/dedup/)."""

    renamed = {"input": "inputs"}

    inputs: InputList = Field(None, description="parquet file(s)/globs with at least id and text, read instead of stage 3's parts")
    threshold: float | None = Field(None, gt=0, lt=1, description="Jaccard to deduplicate at; when set it picks bands × rows (≤ max_perm) and the verify cut")
    ngram: int = Field(5, ge=1, description="words per shingle, after normalisation (FineWeb: 5)")
    bands: int = Field(14, ge=1, description="LSH bands when threshold is null (FineWeb: 14)")
    rows: int = Field(8, ge=1, description="signature values per band when threshold is null (FineWeb: 8); num_perm = bands × rows")
    max_perm: int = Field(128, ge=1, description="permutation budget with a threshold: bands × rows ≤ max_perm feed LSH, all max_perm the Jaccard checks")
    seed: int = Field(1, description="seed of the MinHash permutations")
    exact: bool = Field(True, description="merge documents whose normalised text is identical (reason exact_duplicate)")
    near: bool = Field(True, description="merge MinHash-LSH near-duplicates (reason near_duplicate)")
    verify: bool = Field(True, description="check each LSH candidate pair's estimated Jaccard before merging it")
    verify_threshold: float | None = Field(None, ge=0, le=1, description="estimated-Jaccard cut; null: (threshold, else (1/bands)^(1/rows)) − 2σ of the estimate")
    survivor_check: Literal["exact", "estimate", "disabled"] = Field(
        "exact", description="remove a near-duplicate only if it passes the same cut against its survivor itself (no chain "
                             "removals): exact = true shingle-set Jaccard from the texts of cluster members (no false merges); "
                             "estimate = from signatures; disabled")
    driver_components_max_edges: int = Field(
        2000000, ge=0, description="verified pairs up to this many (16 B each): components in the driver (scipy); more: "
                                   "distributed large-star/small-star rounds; 0: always distributed")
    tier_order: list[str] = Field(["high", "medium_high", "medium", "medium_low", "low"],
                                  description="survivor: best tier, then longest text, then smallest id")
    precision_sample: int = Field(200, ge=0, description="removed near-duplicates whose true Jaccard with their survivor is measured "
                                                         "(manifest), when survivor_check is not exact (exact measures every removal: a census)")
