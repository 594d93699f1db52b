"""Shared fixtures: where ../shared/data is, and a fresh run folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PIPELINE_SHARED", ROOT.parent / "shared"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, read in place; tests needing it skip only when ../shared is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        if os.environ.get("PIPELINE_CI"):  # set by .ci/run: CI always has ../shared, a skip would hide tests
            pytest.fail(f"../shared/data is missing under CI (looked at {data})")
        pytest.skip(f"needs ../shared/data (not found at {data})")
    return data


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory) -> str:
    """A real Spark standalone cluster (master + one worker) on loopback, for the whole session."""
    from tests.clusters import spark_standalone

    with spark_standalone(tmp_path_factory.mktemp("spark-cluster")) as url:
        yield url


@pytest.fixture(scope="session")
def ray_cluster() -> str:
    """A real Ray head (`ray start --head`) on loopback, for the whole session: HOST:PORT."""
    from tests.clusters import ray_head

    with ray_head() as address:
        yield address
