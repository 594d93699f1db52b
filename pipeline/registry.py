"""Stage number → implementation. A stage whose module is not there yet says so clearly."""

from __future__ import annotations

import importlib

from pipeline.errors import StageNotBuilt
from pipeline.stage import Stage

STAGES: dict[int, tuple[str, str]] = {
    1: ("crawl", "crawl.stage:CrawlStage"),
    2: ("extract", "filters.extract.stage:ExtractStage"),
    3: ("quality", "filters.quality.stage:QualityStage"),
    4: ("dedup", "filters.dedup.stage:DedupStage"),
    5: ("rebalance", "filters.rebalance.stage:RebalanceStage"),
    6: ("code", "filters.code.stage:CodeStage"),
    7: ("github", "filters.github.stage:GithubStage"),
    8: ("tokenize", "filters.tokenize.stage:TokenizeStage"),
}

# Config section → its model (a light module beside the stage; see pipeline/config.py).
SECTIONS: dict[str, str] = {
    "crawl": "crawl.config:CrawlConfig",
    "extract": "filters.extract.config:ExtractConfig",
    "quality": "filters.quality.config:QualityConfig",
    "dedup": "filters.dedup.config:DedupConfig",
    "rebalance": "filters.rebalance.config:RebalanceConfig",
    "code": "filters.code.config:CodeConfig",
    "github": "filters.github.config:GithubConfig",
    "tokenize": "filters.tokenize.config:TokenizeConfig",
}

# What `make demo` serves on loopback for stage 1 to crawl (a context manager yielding the site).
DEMO_SITE = "crawl.testsite:serve_folder"


def load(target: str):
    """The object a "module:name" target names."""
    module_name, name = target.split(":")
    return getattr(importlib.import_module(module_name), name)


def stage_class(number: int) -> type[Stage]:
    if number not in STAGES:
        raise StageNotBuilt(f"there is no stage {number}; stages are 1..8")
    name, target = STAGES[number]
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise StageNotBuilt(f"stage {number} ({name}) is not built yet") from None
        raise
    return getattr(module, class_name)


def is_built(number: int) -> bool:
    try:
        stage_class(number)
    except StageNotBuilt:
        return False
    return True
