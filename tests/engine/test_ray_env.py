"""A local Ray leaves no trace in the process environment once the engine closes.

Ray 2.60's local `ray.init` sets RAY_AUTH_MODE=token in os.environ for the rest of the process;
a later driver in this process, or a child it starts, then joins a cluster without token auth
and fails with OwnerDiedError when a task runs on another node (seen in CI: a stage-5 test's
local Ray, then the Ray node-loss test)."""

import os

import pytest

from pipeline.config import load_config
from pipeline.engines.ray_engine import RayEngine

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("before", [None, "disabled"])
def test_a_local_ray_restores_the_auth_mode_it_found(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    else:
        monkeypatch.setenv("RAY_AUTH_MODE", before)
    engine = RayEngine(load_config(None, ["engine=ray", "ray.num_cpus=1"]))
    try:
        assert engine.map(len, ["ab", "abc"]) == [2, 3]
    finally:
        engine.close()
    assert os.environ.get("RAY_AUTH_MODE") == before
