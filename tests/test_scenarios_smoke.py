"""Every shipped scenario loads, builds and steps."""

from pathlib import Path

import numpy as np
import pytest

from sim.model import CityModel
from sim.scenario import load_scenario
from sim.traffic.codes import ST_SCHEDULED

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))


def test_there_are_scenarios():
    assert {p.stem for p in SCENARIOS} >= {"demo", "grid5", "grid10", "grid20", "grid20_r12000"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_builds_and_steps(path):
    model = CityModel(load_scenario(path))
    model.run(until_s=300.0)
    traffic = model.traffic
    assert model.time_s == pytest.approx(300.0)
    released = int(np.count_nonzero(traffic.statuses() != ST_SCHEDULED))
    assert released > 0
    assert released == traffic.n_arrived + traffic.n_on_network + traffic.n_waiting
    assert traffic.n_on_network > 0
