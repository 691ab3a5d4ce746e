"""Every shipped sweep file (``scenarios/sweeps/*.toml``) plans: every combination validates."""

import math
from pathlib import Path

import pytest

from sim.sweep import load_sweep, plan_sweep

SWEEPS = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "sweeps").glob("*.toml"))


def test_there_are_sweep_files():
    assert {path.stem for path in SWEEPS} >= {"junction_control"}


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_sweep_file_plans(path):
    spec = load_sweep(path)
    plan = plan_sweep(spec)
    combinations = math.prod(len(axis.values) for axis in spec.grid)
    assert len(plan.runs) == combinations * len(plan.seeds) > 0


def test_junction_control_compares_every_control_on_one_network():
    plan = plan_sweep(load_sweep(next(path for path in SWEEPS if path.stem == "junction_control")))
    params = [dict(run.params) for run in plan.runs]
    controls = {(p["network.junction"], p["signals.controller"]) for p in params}
    assert {junction for junction, _ in controls} == {
        "traffic_light", "priority", "stop", "allway_stop", "roundabout"
    }  # fmt: skip
    assert {("traffic_light", "fixed_time"), ("traffic_light", "max_pressure")} <= controls
    assert len({dict(run.scenario.network.params)["rows"] for run in plan.runs}) == 1
    assert min(p["demand.rate_vph"] for p in params) < 1000 < 3000 < max(p["demand.rate_vph"] for p in params)
    assert len(plan.seeds) == 3
