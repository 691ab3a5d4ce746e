"""The learned policy's search (ARS over a linear phase scorer) and the shipped policy it gave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sim.rl.search as search
from sim.compare import compare_controllers
from sim.control.learned.features import PHASE_FEATURES
from sim.control.learned.policy import BUILTIN_POLICY, load_policy
from sim.interop.imports import import_sumo
from sim.rl.search import SearchConfig, SearchError, search_policy
from sim.scenario import load_scenario, scenario_from_dict

sumo = pytest.importorskip("sumo")
CROSS = Path(sumo.SUMO_HOME) / "tools" / "game" / "cross"


def _tiny(name: str, rate_vph: float) -> object:
    return scenario_from_dict(
        {
            "name": name,
            "network": {"type": "grid", "rows": 1, "cols": 2, "block_m": 150.0},
            "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": 300.0},
            "signals": {"timing": "webster", "yellow_s": 3.0, "all_red_s": 1.0, "min_green_s": 5.0},
            "simulation": {"max_time_s": 900.0},
        }
    )


def test_a_search_is_deterministic_for_its_seed_whatever_the_worker_processes():
    train, validate = [_tiny("a", 900.0)], [_tiny("b", 1100.0)]
    config = SearchConfig(iterations=2, directions=2, top=1, validate_every=1, seed=4)
    one = search_policy(train, validate, config, jobs=1)
    two = search_policy(train, validate, config, jobs=2)
    assert one == two
    assert len(one.checkpoints) == 3 and one.runs == 2 * 2 * 2 + 3 * 2
    assert one.best == min(one.checkpoints, key=lambda c: c.validation_log_delay)
    assert np.linalg.norm(one.best.weights) == pytest.approx(1.0)
    other = search_policy(train, validate, SearchConfig(iterations=2, directions=2, top=1, seed=5))
    assert other.checkpoints[-1].weights != one.checkpoints[-1].weights


def test_the_update_climbs_the_reward(monkeypatch):
    """ARS on a known reward (runs replaced by a function of the weights) finds its best direction."""
    target = np.zeros(len(PHASE_FEATURES))
    target[[0, 1]] = [0.6, 0.8]  # queue and approaching: orthogonal to the start (pressure)

    def runs(self, weights, cases):
        scores = [1.0 - float(np.dot(w / np.linalg.norm(w), target)) for w in weights]
        return np.array([[[score, 100.0 * score, 1.0]] * len(cases) for score in scores])

    monkeypatch.setattr(search._Scorer, "runs", runs)
    report = search_policy([_tiny("a", 1.0)], [_tiny("b", 1.0)], SearchConfig(iterations=60, seed=1))
    start = np.dot(report.checkpoints[0].weights, target)
    assert start == pytest.approx(0.0)
    assert np.dot(report.best.weights, target) > 0.95
    assert report.training_log_delay[-1] < report.training_log_delay[0]


def test_bad_search_settings_are_refused():
    with pytest.raises(SearchError, match="top <= directions"):
        search_policy([_tiny("a", 1.0)], [_tiny("b", 1.0)], SearchConfig(directions=2, top=3))
    with pytest.raises(SearchError, match="at least one training and one validation"):
        search_policy([], [_tiny("b", 1.0)])


def test_the_shipped_policy_is_the_linear_scorer_its_record_describes():
    assert BUILTIN_POLICY.stat().st_size < 10_000
    record = json.loads(BUILTIN_POLICY.with_suffix(".json").read_text(encoding="utf-8"))
    policy = load_policy("builtin")
    shipped = next(s for s in record["searches"] if s["seed"] == record["shipped_seed"])
    assert len(record["searches"]) >= 3 and len({s["seed"] for s in record["searches"]}) == len(
        record["searches"]
    )
    ((w, b),) = policy.weights
    np.testing.assert_allclose(w[: len(PHASE_FEATURES), 0], shipped["best"]["weights"], rtol=1e-6)
    assert not w[len(PHASE_FEATURES) :].any() and not b.any()
    assert set(shipped["training"]).isdisjoint(shipped["validation"])
    assert policy.decision_interval_s == shipped["config"]["decision_interval_s"]


def test_the_shipped_policy_beats_fixed_time_on_a_grid_it_never_saw():
    scenario = scenario_from_dict(
        {
            "name": "unseen",
            "network": {"type": "grid", "rows": 3, "cols": 5, "block_m": 180.0, "lanes": 1},
            "demand": {"type": "uniform", "rate_vph": 3000.0, "duration_s": 900.0},
            "signals": {"timing": "webster", "yellow_s": 3.0, "all_red_s": 1.0, "min_green_s": 5.0},
            "simulation": {"max_time_s": 3600.0},
        }
    )
    result = compare_controllers(scenario, ["fixed_time", "learned"], [11, 12])
    delay = result.table[result.table["metric"] == "mean_delay_all_s"].set_index("controller")
    assert delay.loc["learned", "mean"] < 0.9 * delay.loc["fixed_time", "mean"]
    assert delay.loc["learned", "unfinished_share"] == 0.0


def test_the_shipped_policy_runs_a_real_multi_phase_program(tmp_path):
    """SUMO's cross: one signal with its own four-phase program (protected lefts), never trained on."""
    imported = import_sumo(
        CROSS / "cross.net.xml", tmp_path / "cross", [CROSS / "cross.rou.xml"], end_s=900.0
    )
    scenario = load_scenario(imported.scenario, {"simulation.max_time_s": 2400.0})
    result = compare_controllers(scenario, ["fixed_time", "learned"], [1])
    runs = result.runs.set_index("controller")
    assert runs.loc["learned", "completion_rate"] == 1.0
    assert runs.loc["learned", "mean_delay_all_s"] < 1.1 * runs.loc["fixed_time", "mean_delay_all_s"]
