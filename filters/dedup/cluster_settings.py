"""What the clustering steps need to know, derived once from the `dedup:` config by the stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterSettings:
    exact: bool = True
    near: bool = True
    verify_threshold: float | None = None  # None: merge every LSH candidate pair
    survivor_check: float | None = None  # None: every component member is its survivor's duplicate
    survivor_check_ngram: int | None = None  # n-gram: the survivor check reads texts (exact Jaccard)
    driver_components_max_edges: int = 0  # verified edges up to this many: components in the driver
    precision_sample: int = 0  # removals sampled for the precision estimate (0 with the exact check)
    seed: int = 1  # of the precision sample
    ngram: int = 5  # of the precision estimate's true Jaccard
    similarity_cut: float = 0.0  # the precision figures' bar
    tokens: str = "words"  # of every true Jaccard: as the signatures' MinhashParams.tokens
