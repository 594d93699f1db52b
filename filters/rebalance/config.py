"""Stage 5 config: the `rebalance:` section (embedding clusters, topic/format, knowledge mining)."""

from __future__ import annotations

from pydantic import Field

from pipeline.config import InputList, Section


class RebalanceConfig(Section):
    """Stage 5: embedding k-means rebalancing (not built yet; its keys are reserved)."""

    renamed = {"input": "inputs"}

    inputs: InputList = Field(None, description="parquet table(s) to rebalance instead of the stage-4 output")
