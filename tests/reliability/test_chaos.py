"""SIGKILL every stage at seeded random points (commit points and timed), resume, compare with an
uninterrupted run: identical rows, none lost, none duplicated, manifest consistent."""

from __future__ import annotations

import json

import pytest

from tests.reliability.harness import kill_chains, reference_points

KILLS = {2: 20, 3: 20, 4: 20, 6: 20, 8: 20}


@pytest.mark.parametrize("stage", sorted(KILLS))
def test_kill_anywhere_and_resume(forks, configs, tmp_path, stage):
    config = configs[stage]
    reference = tmp_path / "reference"
    points, duration = reference_points(forks, stage, reference, config, tmp_path)
    chaos = kill_chains(forks, stage, config, tmp_path / "chaos", reference, seed=stage, kills=KILLS[stage],
                        points=points, duration=duration, real_kills=2)
    print(f"cpu {forks.cpu:.1f}s in {forks.runs} runs")
    print(json.dumps(chaos.as_dict()))
    assert chaos.kills >= KILLS[stage]
