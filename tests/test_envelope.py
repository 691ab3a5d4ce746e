"""The safety envelope (``[safety]``): broken controllers are caught, the fallback runs, the log says so.

Three deliberately broken controllers are registered for a test each (one never serves its
second phase, one raises, one returns garbage): the envelope bounds the wait for green or hands
the intersection to the fixed-time plan, every trip still completes, and the decision log
records the override with its reason. Failed detectors run the fixed-time plan for their
window; well-behaved controllers are never overridden (their trips are identical with the
envelope on and off).
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.control import registry
from sim.control.base import Decision, IntersectionView, NoSettings, SignalController, Stage
from sim.control.envelope import DECISIONS, LOG_COLUMNS, SignalControllerError
from sim.control.observe import Observation
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

YELLOW_S, ALL_RED_S = 3.0, 1.0
INTERGREEN_S = YELLOW_S + ALL_RED_S
MAX_RED_S = 60.0


LEFT_PHASES = {"network": {"left_bay_m": 50.0}, "signals": {"left_turns": "protected"}}
"""Left-turn bays and a protected left phase per axis: four phases per signal."""


def scenario(controller: str = "fixed_time", safety: dict | None = None, **signals):
    """A 2x2 grid of two-phase signals, 10 minutes of demand, 30 minutes to finish it."""
    return scenario_from_dict(
        {
            "name": "envelope",
            "seed": 3,
            "network": {"type": "grid", "rows": 2, "cols": 2},
            "demand": {"type": "uniform", "rate_vph": 900.0, "duration_s": 600.0},
            "signals": {"controller": controller, "yellow_s": YELLOW_S, "all_red_s": ALL_RED_S, **signals},
            "simulation": {"max_time_s": 1800.0},
            "safety": {"max_red_s": MAX_RED_S, "log": True, **(safety or {})},
        }
    )


class Starving(SignalController):
    """Never serves its second phase: asks for the first one every 5 s."""

    def decide(self, view: IntersectionView) -> Decision:
        return Decision(0, view.now_s + 5.0)


class Raising(SignalController):
    """Switches every 20 s like a plain plan, then raises from t = 300 s on."""

    def decide(self, view: IntersectionView) -> Decision:
        if view.now_s >= 300.0:
            raise RuntimeError("lost its model")
        return Decision(1 - view.phase, view.now_s + 20.0)


GARBAGE = {
    "phase out of range": Decision(7, math.inf),
    "phase not an int": Decision(1.0, 0.0),
    "phase a string": Decision("north", 0.0),
    "a bool for a phase": Decision(True, 0.0),
    "NaN next time": Decision(None, math.nan),
    "next time not later": Decision(None, -5.0),
    "not a decision": "green please",
    "nothing": None,
}


class Garbage(SignalController):
    """Runs like :class:`Raising` until t = 200 s, then returns ``garbage`` (its times relative to now)."""

    garbage = None

    def decide(self, view: IntersectionView):
        if view.now_s < 200.0:
            return Decision(1 - view.phase, view.now_s + 20.0)
        garbage = type(self).garbage
        if isinstance(garbage, Decision) and isinstance(garbage.next_decision_s, float):
            return Decision(garbage.phase, view.now_s + garbage.next_decision_s)
        return garbage


@pytest.fixture
def registered(monkeypatch):
    """Register the broken controllers for one test (the contract tests never see them)."""
    for cls in (Starving, Raising, Garbage):
        monkeypatch.setitem(registry.CONTROLLERS, cls.__name__.lower(), cls)


def flatten(tables: dict) -> dict:
    """``{"network": {"left_bay_m": 50}}`` as overrides: ``{"network.left_bay_m": 50}``."""
    return {f"{table}.{key}": value for table, keys in tables.items() for key, value in keys.items()}


def run(spec) -> tuple[CityModel, pd.DataFrame, dict]:
    model = CityModel(spec).run()
    results = model.results()
    return model, results.extras.get(DECISIONS, pd.DataFrame()), results.info["safety"]


@pytest.mark.parametrize("plan", [{}, LEFT_PHASES], ids=["two phases", "protected lefts"])
def test_a_controller_that_starves_a_phase_is_overridden_within_the_max_red(registered, plan):
    model, log, info = run(scenario("starving").with_overrides(flatten(plan)))
    assert len(model.controllers[0].intersection.phases) == 4 if plan else 2
    assert model.status == "completed"
    # every trip crossed, and nobody waited at a red longer than the bound (plus one intergreen)
    assert summarize(model.results())["max_green_wait_s"] <= MAX_RED_S + INTERGREEN_S
    forced = log[log["override"] == "max_red"]
    assert info["overrides"]["max_red"] == (forced["detail"] != "").sum() > 0
    # every phase but the controller's own is forced (its own too, where chains of forced phases delay it)
    n_phases = len(model.controllers[0].intersection.phases)
    assert set(forced.loc[forced["detail"] != "", "decision"]) >= set(range(1, n_phases))
    assert forced["detail"].str.contains("phase 1 forced: a movement may have waited").any()
    assert set(log["node"]) == {"n0_0", "n0_1", "n1_0", "n1_1"}
    # the same controller without the envelope leaves the other phases' trips waiting to the end
    bare = CityModel(scenario("starving", {"enabled": False}).with_overrides(flatten(plan))).run()
    assert bare.status == "time_limit"
    assert summarize(bare.results())["max_green_wait_s"] > 10 * MAX_RED_S


def test_a_controller_that_raises_falls_back_to_the_fixed_time_plan(registered, caplog):
    model, log, info = run(scenario("raising"))
    assert model.status == "completed"
    assert info["overrides"] == {"fallback:error": 4}
    assert {f["node"] for f in info["fallbacks"]} == {"n0_0", "n0_1", "n1_0", "n1_1"}
    assert all(f["time_s"] >= 300.0 for f in info["fallbacks"])
    assert all(f["detail"] == "decide() raised RuntimeError: lost its model" for f in info["fallbacks"])
    assert "the fixed-time plan runs until" in caplog.text
    late = log[log["time_s"] >= 320.0]
    assert set(late["override"]) == {"fallback:error"}
    # the plan keeps switching: both phases get green, every 30 s (the plan's green) plus an intergreen
    node = late[late["node"] == "n1_1"]
    assert set(node["decision"].dropna()) == {0, 1}
    assert np.diff(node["time_s"].to_numpy()) == pytest.approx(30.0 + INTERGREEN_S, abs=1.0)
    # rows before the error are the controller's own
    assert set(log.loc[log["time_s"] < 300.0, "override"]) == {"none"}


@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
def test_a_controller_that_returns_garbage_falls_back_to_fixed_time(registered, monkeypatch, garbage):
    monkeypatch.setattr(Garbage, "garbage", GARBAGE[garbage])
    model, log, info = run(scenario("garbage"))
    assert model.status == "completed"
    assert info["overrides"] == {"fallback:invalid_decision": 4}
    started = log[log["override"] == "fallback:invalid_decision"].groupby("node").first()
    assert (started["time_s"] >= 200.0).all()
    assert started["detail"].str.contains("requested phase|next_decision_s|not a Decision").all()
    assert not log["decision"].dropna().isin([7]).any()


def test_on_error_raise_stops_the_run_naming_the_controller_node_and_time(registered):
    message = r"'raising' at node 'n0_0', t = 300 s: decide\(\) raised RuntimeError: lost its model"
    with pytest.raises(SignalControllerError, match=message):
        CityModel(scenario("raising", {"on_error": "raise"})).run()


def test_failed_detectors_run_the_fixed_time_plan_for_their_window():
    # the neighbours' max-pressure weighs nothing for queues downstream (Varaiya's pressure): with
    # its spillback weight it may hold a movement into the failed node's queue until the maximum
    # red steps in, which is the envelope's other duty, not this test's
    failures = {"detector_failures": [{"node": "n1_0", "from_s": 200.0, "to_s": 500.0}]}
    spec = scenario("max_pressure", failures, max_pressure={"spillback_weight": 0.0})
    model = CityModel(spec)
    asked = []
    controller = next(c for c in model.controllers if c.intersection.node == "n1_0")

    def spy(view, decide=controller.decide):
        asked.append(view.now_s)
        return decide(view)

    controller.decide = spy
    model.run()
    log = model.results().extras[DECISIONS]
    assert model.status == "completed"
    asked = np.array(asked)
    assert not ((asked >= 200.0) & (asked < 500.0)).any(), "a controller without detectors was asked"
    assert (asked < 200.0).any() and (asked >= 500.0).any()
    node = log[log["node"] == "n1_0"]
    window = node[(node["time_s"] >= 200.0) & (node["time_s"] < 500.0)]
    assert set(window["override"]) == {"fallback:detectors"}
    assert window["detail"].iloc[0] == "detectors failed until 500 s"
    assert node.loc[node["time_s"] >= 500.0, "override"].iloc[0] == "resume"
    others = log[log["node"] != "n1_0"]
    assert set(others["override"]) == {"none"}


@pytest.mark.parametrize("controller", ["fixed_time", "actuated", "max_pressure", "sotl"])
def test_a_well_behaved_controller_is_never_overridden(controller):
    on, log, info = run(scenario(controller, {"max_red_s": 120.0}))
    off = CityModel(scenario(controller, {"enabled": False})).run()
    assert on.trip_records().equals(off.trip_records())
    assert on.time_s == off.time_s
    assert info["overrides"] == {} and set(log["override"]) == {"none"}
    assert list(log.columns) == list(LOG_COLUMNS)


def test_a_long_wait_the_controller_is_already_ending_is_left_to_it():
    # max-pressure on the training grid lets a side street wait 90 s, then asks for its phase
    # itself, before a 115 s bound: the envelope must not take that over (with a bound of 110 s
    # the controller's next decision, after a green's clearing time, would come too late)
    path = Path(__file__).resolve().parents[1] / "scenarios" / "train_grid.toml"
    spec = load_scenario(
        path, {"signals.controller": "max_pressure", "safety.log": True, "safety.max_red_s": 115.0}
    )
    on, log, info = run(spec)
    off = CityModel(spec.with_overrides({"safety.enabled": False})).run()
    assert summarize(off.results())["max_green_wait_s"] > 0.75 * info["max_red_s"]
    assert info["overrides"] == {} and on.trip_records().equals(off.trip_records())


def test_a_controller_installed_later_runs_inside_the_envelope_too(registered):
    model = CityModel(scenario())
    model.run(until_s=120.0)
    fixed = model.controllers[2]
    model.replace_controller(Starving(fixed.intersection, NoSettings()))
    model.run()
    log = model.results().extras[DECISIONS]
    assert model.status == "completed"
    node = log[log["node"] == fixed.intersection.node]
    assert set(node.loc[node["time_s"] > 120.0, "controller"]) == {"Starving"}
    assert (node["override"] == "max_red").any()
    assert set(log.loc[log["node"] != fixed.intersection.node, "override"]) == {"none"}


def test_a_forced_phase_keeps_its_planned_green_and_then_hands_the_signal_back(registered):
    model = CityModel(scenario("starving"))
    greens = []
    while model.running and model.time_s < 600.0:
        model.step()
        obs = Observation(model.traffic, model.config.signals.observation_horizon_m)
        view = IntersectionView(model.controllers[0].intersection, obs)
        greens.append(view.phase if view.stage is Stage.GREEN else -1)
    greens = np.array(greens)
    starts = np.flatnonzero((greens[1:] == 1) & (greens[:-1] != 1)) + 1
    ends = np.flatnonzero((greens[:-1] == 1) & (greens[1:] != 1)) + 1
    assert len(starts) >= 3
    # each forced green of phase 1 runs the plan's 30 s green, then the controller's phase 0 returns
    assert ends[: len(starts)] - starts[: len(ends)] == pytest.approx(30.0, abs=1.0)


def test_run_and_compare_write_the_decision_log(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        'name = "grid"\nseed = 2\n[network]\ntype = "grid"\nrows = 2\ncols = 2\n'
        "[demand]\nrate_vph = 600.0\nduration_s = 300.0\n[simulation]\nmax_time_s = 900.0\n"
        "[safety]\nlog = true\n"
    )
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet", "--no-plots"]) == 0
    decisions = pd.read_csv(tmp_path / "run" / "decisions.csv")
    assert list(decisions.columns) == list(LOG_COLUMNS) and len(decisions) > 0
    args = [str(path), "--out", str(tmp_path / "cmp"), "--controllers", "fixed_time,max_pressure"]
    args += ["--seeds", "2", "--jobs", "1", "--no-plots", "--quiet"]
    assert main(["compare", *args]) == 0
    logs = pd.read_csv(tmp_path / "cmp" / "decisions.csv")
    assert list(logs.columns) == ["seed", *LOG_COLUMNS]
    assert set(zip(logs["controller"], logs["seed"], strict=True)) == {
        (name, seed) for name in ("fixed_time", "max_pressure") for seed in (2, 3)
    }
    # without the log, no file (and none left over from an earlier comparison)
    assert main(["compare", *args, "--set", "safety.log=false"]) == 0
    assert not (tmp_path / "cmp" / "decisions.csv").exists()


@pytest.mark.parametrize(
    ("safety", "key", "fragment"),
    [
        ({"max_red_s": 5.0}, "safety.max_red_s", "expected a number >= 10"),
        ({"on_error": "ignore"}, "safety.on_error", "one of 'fallback', 'raise'"),
        ({"log": "yes"}, "safety.log", "expected true or false"),
        (
            {"detector_failures": [{"node": "n0_0", "from_s": 50.0, "to_s": 20.0}]},
            "safety.detector_failures[0].to_s",
            "a time after from_s (50)",
        ),  # fmt: skip
        ({"detector_failures": [{"nod": "n0_0"}]}, "safety.detector_failures[0].nod", "did you mean 'node'"),
        ({"max_red": 60.0}, "safety.max_red", "did you mean 'max_red_s'"),
    ],
)
def test_invalid_safety_keys_name_the_key_and_what_is_allowed(safety, key, fragment):
    with pytest.raises(ScenarioError) as error:
        scenario(safety=safety)
    assert error.value.key == key and fragment in str(error.value)


def test_a_detector_failure_at_an_unsignalized_node_names_the_key_and_the_signals():
    message = r"detector_failures\[0\]\.node: expected a signalized node .* 'n0_0'"
    with pytest.raises(ScenarioError, match=message):
        CityModel(scenario(safety={"detector_failures": [{"node": "W0"}]}))


def test_the_default_envelope_leaves_the_scenario_and_its_key_as_they_were():
    plain = scenario_from_dict({"name": "x", "network": {"type": "grid", "rows": 2, "cols": 2}})
    assert "safety" not in plain.to_dict() and plain.section("safety").max_red_s == 120.0
    tight = plain.with_overrides({"safety.max_red_s": 90.0})
    assert tight.to_dict()["safety"]["max_red_s"] == 90.0 and tight.key() != plain.key()
    assert scenario_from_dict(tight.to_dict()) == tight
