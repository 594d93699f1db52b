"""Stage-5 fixtures shared by its test modules (built once per session)."""

from __future__ import annotations

import pytest

from tests.rebalance.corpus import write_planted_corpus


@pytest.fixture(scope="session")
def planted(shared_data, tmp_path_factory) -> list:
    """Three parquet partitions: 400 real FineWeb pages and two planted templated groups."""
    return write_planted_corpus(shared_data, tmp_path_factory.mktemp("planted"))
