"""Session fixtures of the reliability tests: the fork server and every stage's small real input."""

from __future__ import annotations

import pytest

from tests.reliability.harness import Forks
from tests.reliability.inputs import stage_inputs

STAGE_MODULES = ["pipeline.runner", "crawl.stage", "filters.extract.stage", "filters.quality.stage",
                 "filters.dedup.stage", "filters.rebalance.stage", "filters.code.stage", "filters.github.stage", "filters.tokenize.stage", "--warm"]


@pytest.fixture(scope="session")
def forks():
    server = Forks(STAGE_MODULES)
    yield server
    server.close()


@pytest.fixture(scope="session")
def configs(shared_data, tmp_path_factory) -> dict[int, list[str]]:
    return stage_inputs(shared_data, tmp_path_factory.mktemp("inputs"))
