"""Every shipped scenario loads, builds and steps."""

from pathlib import Path

import pytest

from sim.model import CityModel
from sim.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))


def test_there_are_scenarios():
    assert {p.stem for p in SCENARIOS} >= {"demo", "grid5", "grid10", "grid20", "grid20_r12000"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_builds_and_steps(path):
    model = CityModel(load_scenario(path))
    model.run(until_s=300.0)
    traffic = model.traffic
    assert model.time_s == pytest.approx(300.0)
    assert traffic.n_released > 0
    assert traffic.n_released == traffic.n_arrived + traffic.n_on_network + traffic.n_waiting
    assert traffic.n_on_network > 0
