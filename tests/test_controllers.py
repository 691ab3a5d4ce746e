"""Signal controllers: a contract every registered controller passes, and each one's behaviour.

The contract runs a controller in a real model and watches the kernel's connection states:
its constructor only stores the intersection and the settings; the controller never requests
a phase that does not exist and always names a later decision time; every green lasts at
least the minimum green, yellow and all-red run exactly as long as configured, conflicting
phases never show green or yellow together; the same seed gives the same trips. Behaviour
tests drive one controller with hand-made observations.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from sim.control.actuated import ActuatedController, ActuatedSettings
from sim.control.base import (
    SATURATION_HEADWAY_S,
    Decision,
    Intersection,
    IntersectionView,
    NoSettings,
    SignalController,
    SignalPlan,
    Stage,
)
from sim.control.max_pressure import MaxPressureController, MaxPressureSettings
from sim.control.registry import controller_class, controller_names
from sim.control.sotl import SotlController, SotlSettings
from sim.model import CityModel
from sim.network import compile_network, grid
from sim.scenario import scenario_from_dict
from sim.traffic.codes import GREEN, RED, YELLOW

YELLOW_S, ALL_RED_S, MIN_GREEN_S = 3, 2, 7


def contract_scenario(controller: str, seed: int = 5):
    return scenario_from_dict(
        {
            "name": "contract",
            "seed": seed,
            "network": {"type": "grid", "rows": 2, "cols": 2},
            "demand": {"type": "uniform", "rate_vph": 1500.0, "duration_s": 600.0},
            "signals": {
                "controller": controller,
                "timing": "webster",
                "yellow_s": float(YELLOW_S),
                "all_red_s": float(ALL_RED_S),
                "min_green_s": float(MIN_GREEN_S),
            },
            "simulation": {"max_time_s": 900.0},
        }
    )


def runs(sequence: np.ndarray) -> list[tuple[int, int, int]]:
    """``(value, start, length)`` per maximal run of equal values."""
    change = np.flatnonzero(np.diff(sequence)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(sequence)]
    return [(int(sequence[s]), int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def watch(controller: str) -> tuple[CityModel, dict[int, np.ndarray], list[tuple[int, int | None, float]]]:
    """Run the contract scenario step by step.

    Returns:
        The model; per signal, the state of each phase at every step (steps x phases);
        every decision as (signal, returned value, next decision time - now).
    """
    model = CityModel(contract_scenario(controller))
    net, traffic = model.net, model.traffic
    decisions = []
    for ctrl in model.controllers:

        def recorded(view, signal=ctrl.intersection.signal, decide=ctrl.decide):
            decision = decide(view)
            decisions.append((signal, decision.phase, decision.next_decision_s - view.now_s))
            return decision

        ctrl.decide = recorded
    members = {
        p: net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]]
        for p in range(len(net.phase_axis))
    }
    log: dict[int, list[np.ndarray]] = {c.intersection.signal: [] for c in model.controllers}
    while model.running and model.time_s < 900.0:
        model.step()
        for ctrl in model.controllers:
            states = []
            for p in ctrl.intersection.phases:
                phase_states = np.unique(traffic.conn_state[members[p]])
                assert len(phase_states) == 1, "a phase's movements disagree"
                states.append(phase_states[0])
            log[ctrl.intersection.signal].append(np.array(states))
    return model, {s: np.array(v) for s, v in log.items()}, decisions


@pytest.fixture(scope="module", params=controller_names())
def watched(request):
    return request.param, watch(request.param)


def test_contract_constructor_stores_its_arguments_only(watched):
    name, (model, _, _) = watched
    crossing = model.controllers[0].intersection
    settings = model.config.signals.settings_of(name)
    assert isinstance(settings, controller_class(name).settings_class)
    ctrl = controller_class(name)(crossing, settings)
    assert vars(ctrl) == {"intersection": crossing, "settings": settings}


def test_contract_requests_only_valid_phases_and_always_a_later_decision(watched):
    _, (model, _, decisions) = watched
    n_phases = {c.intersection.signal: len(c.intersection.phases) for c in model.controllers}
    assert decisions, "the controller never decided"
    for signal, choice, ahead_s in decisions:
        assert choice is None or (isinstance(choice, int) and 0 <= choice < n_phases[signal])
        assert ahead_s > 0.0, "next_decision_s must lie in the future"


def test_contract_min_green_yellow_and_all_red_always_hold(watched):
    name, (model, log, _) = watched
    n_steps = len(next(iter(log.values())))
    switches = 0
    for states in log.values():
        open_ = states != RED
        assert np.all(open_.sum(axis=1) <= 1), f"{name}: conflicting phases open together"
        for p in range(states.shape[1]):
            sequence = runs(states[:, p])
            for i, (value, start, length) in enumerate(sequence):
                complete = start + length < n_steps
                if value == GREEN and complete:
                    assert length >= MIN_GREEN_S, f"{name}: green of {length} s"
                    assert sequence[i + 1][0] == YELLOW
                    switches += 1
                if value == YELLOW and complete:
                    assert length == YELLOW_S
                    assert sequence[i + 1][0] == RED
        # all-red: from the end of one phase's yellow to the next green, every phase is red
        closed = runs((~open_.any(axis=1)).astype(int))
        for value, start, length in closed:
            if value == 1 and start > 0 and start + length < n_steps:
                assert length == ALL_RED_S
    assert switches >= len(log), f"{name}: too few phase changes to test the contract"


def test_contract_same_seed_gives_identical_trips():
    for name in controller_names():
        first = CityModel(contract_scenario(name, seed=9)).run().trip_records()
        second = CityModel(contract_scenario(name, seed=9)).run().trip_records()
        pd.testing.assert_frame_equal(first, second)


# ----- hand-driven controllers ------------------------------------------------------------
@dataclass
class View:
    """The parts of an IntersectionView a controller reads, set by hand."""

    now_s: float
    phase: int
    stage_age_s: float
    queue: np.ndarray
    approaching: np.ndarray
    downstream_occupancy: np.ndarray
    stage: Stage = Stage.GREEN
    phase_movements: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    downstream_vehicles: np.ndarray | None = None  # None: nobody downstream
    downstream_queue_occupancy: np.ndarray | None = None  # None: no standing queue downstream

    def __post_init__(self):
        if self.downstream_vehicles is None:
            self.downstream_vehicles = np.zeros(len(self.queue))
        if self.downstream_queue_occupancy is None:
            self.downstream_queue_occupancy = np.zeros(len(self.queue))


def junction(cls, settings, min_green_s=5.0):
    """A controller of one signalized grid(1, 1) intersection (phase 0 north-south, phase 1
    east-west; intergreen 4 s, 1 s steps, jam spacing 7.5 m), built alone and started."""
    plan = SignalPlan((30.0, 30.0), 3.0, 1.0, 0.0, min_green_s)
    ctrl = cls(Intersection.of(compile_network(grid(1, 1)), 0, plan, 7.5, 1.0), settings)
    ctrl.start()
    return ctrl


def drive(ctrl, observe, until_s: float) -> tuple[float, int] | None:
    """Call ``decide`` whenever due, stepping 1 s; the first (time, phase) request, or None.

    ``observe(t)`` returns (queue, approaching) per movement; phase 0 is green from t = 0.
    """
    t, due_s = 0.0, 0.0
    phase_movements = ctrl.intersection.phase_movements
    while t <= until_s:
        if t >= due_s - 1e-9:
            queue, approaching = observe(t)
            n = len(queue)
            view = View(t, 0, t, queue, approaching, np.zeros(n), phase_movements=phase_movements)
            choice, due_s = ctrl.decide(view)
            if choice is not None:
                return t, choice
        t += 1.0
    return None


def vehicles(ctrl, ns: float = 0.0, ew: float = 0.0) -> np.ndarray:
    """``ns`` vehicles on the first north-south movement and ``ew`` on the first east-west one."""
    crossing = ctrl.intersection
    out = np.zeros(len(crossing.movements))
    out[np.flatnonzero(crossing.phase_movements[0])[0]] = ns
    out[np.flatnonzero(crossing.phase_movements[1])[0]] = ew
    return out


def actuated(min_green_s=5.0, max_green_s=20.0, passage_s=2.0):
    return junction(ActuatedController, ActuatedSettings(max_green_s, passage_s), min_green_s)


def test_actuated_gaps_out_at_min_green_on_an_empty_approach():
    ctrl = actuated()
    assert drive(ctrl, lambda t: (vehicles(ctrl, ew=3), vehicles(ctrl)), 60.0) == (5.0, 1)


def test_actuated_extends_on_a_busy_approach_until_max_green():
    ctrl = actuated()
    assert drive(ctrl, lambda t: (vehicles(ctrl, ew=3), vehicles(ctrl, ns=2)), 60.0) == (20.0, 1)


def test_actuated_gaps_out_a_passage_time_after_the_last_vehicle():
    ctrl = actuated()
    busy_until = 11.0
    observe = lambda t: (vehicles(ctrl, ew=3), vehicles(ctrl, ns=1 if t <= busy_until else 0))  # noqa: E731
    assert drive(ctrl, observe, 60.0) == (busy_until + 2.0, 1)


def test_actuated_max_green_runs_from_the_conflicting_call():
    ctrl = actuated()
    observe = lambda t: (vehicles(ctrl, ew=3 if t >= 30 else 0), vehicles(ctrl, ns=2))  # noqa: E731
    assert drive(ctrl, observe, 100.0) == (50.0, 1)


def test_actuated_rests_in_green_without_a_conflicting_call():
    ctrl = actuated()
    assert drive(ctrl, lambda t: (vehicles(ctrl), vehicles(ctrl)), 200.0) is None


def test_actuated_gives_the_busy_direction_longer_greens_in_a_real_run(tmp_path):
    matrix = tmp_path / "od.csv"
    matrix.write_text("origin,destination,rate_vph\nS0,N0,900\nN0,S0,900\nW0,E0,120\n")
    scenario = scenario_from_dict(
        {
            "name": "busy-ns",
            "network": {"type": "grid", "rows": 1, "cols": 1},
            "demand": {"type": "matrix", "matrix": str(matrix), "duration_s": 900.0},
            "signals": {
                "controller": "actuated",
                "observation_horizon_m": 40.0,
                "actuated": {"max_green_s": 40.0},
            },
            "simulation": {"max_time_s": 900.0},
        }
    )
    model = CityModel(scenario)
    net = model.net
    conns = [net.phase_conns[net.phase_conn_ptr[p]] for p in (0, 1)]
    log = []
    for _ in range(900):
        model.step()
        log.append([model.traffic.conn_state[c] == GREEN for c in conns])
    states = np.array(log, dtype=int)
    greens = [[length for value, _, length in runs(states[:, p])[1:-1] if value == 1] for p in (0, 1)]
    assert net.phase_axis[0] == "NS" and greens[0] and greens[1]
    assert np.mean(greens[0]) > 2.0 * np.mean(greens[1])


def max_pressure(interval_s=5.0, spillback_weight=30.0, entry_metering=2.0):
    return junction(MaxPressureController, MaxPressureSettings(interval_s, spillback_weight, entry_metering))


@pytest.mark.parametrize(("weight", "expected"), [(0.0, 6 - 2), (30.0, 6 - 2 * (1 + 30 * 0.5))])
def test_max_pressure_weighs_a_building_queue_downstream_by_its_spillback_weight(weight, expected):
    ctrl = max_pressure(spillback_weight=weight)
    crossing = ctrl.intersection
    queue, approaching = vehicles(ctrl, ns=4, ew=6), vehicles(ctrl)
    downstream, standing = np.zeros(len(queue)), np.zeros(len(queue))
    east_west = np.flatnonzero(crossing.phase_movements[1])[0]
    downstream[east_west] = 2.0  # two vehicles bound on from its exit, within a queue filling half of it
    standing[east_west] = 0.5
    view = View(10.0, 0, 10.0, queue, approaching, np.zeros(len(queue)),
                phase_movements=crossing.phase_movements, downstream_vehicles=downstream,
                downstream_queue_occupancy=standing)  # fmt: skip
    np.testing.assert_allclose(ctrl.pressures(view), [4, expected])


def test_max_pressure_counts_the_vehicles_each_movement_feeds_and_nothing_into_a_full_exit():
    ctrl = max_pressure()
    crossing = ctrl.intersection
    # exit links of grid(1, 1) are 200 m stubs to fringe nodes, whose only way on is back
    assert np.all(crossing.exit_capacity_veh == 26) and np.all(crossing.onward_share == 1.0)
    assert len(crossing.onward_conns) == len(crossing.movements)
    queue, approaching = vehicles(ctrl, ns=4, ew=6), vehicles(ctrl, ns=1)
    downstream, occupancy = np.zeros(len(queue)), np.zeros(len(queue))
    east_west = np.flatnonzero(crossing.phase_movements[1])
    downstream[east_west[0]] = 2.0  # two vehicles queued at the far end of its exit
    view = View(10.0, 0, 10.0, queue, approaching, occupancy, phase_movements=crossing.phase_movements,
                downstream_vehicles=downstream)  # fmt: skip
    np.testing.assert_allclose(ctrl.pressures(view), [4 + 1, 6 - 2])
    occupancy[east_west] = 0.95  # every east-west exit full: those movements cannot move anyone
    view = View(10.0, 0, 10.0, queue, approaching, occupancy, phase_movements=crossing.phase_movements,
                downstream_vehicles=downstream)  # fmt: skip
    # every approach of grid(1, 1) enters the network: its 6 vehicles weigh (1 - 0.95) ** 2 each
    np.testing.assert_allclose(ctrl.pressures(view), [4 + 1, 6 * 0.05**2 - 2])
    ctrl = max_pressure(entry_metering=0.0)
    np.testing.assert_allclose(ctrl.pressures(view), [4 + 1, 0])  # at most zero: none positive


def test_entry_metering_weighs_only_vehicles_entering_the_network_by_the_room_left_for_them():
    net = compile_network(grid(2, 2))
    plan = SignalPlan((30.0, 30.0), 3.0, 1.0, 0.0, 5.0)
    crossing = Intersection.of(net, 0, plan, 7.5, 1.0)
    # each corner of a 2x2 grid has two approaches from fringe stubs and two from its neighbours
    from_fringe = [not net.node_ids[net.edge_from[e]].startswith("n") for e in crossing.movement_in_edges]
    np.testing.assert_array_equal(crossing.movement_enters, from_fringe)
    assert 0 < crossing.movement_enters.sum() < len(crossing.movements)
    n = len(crossing.movements)
    vehicles, occupancy = np.full(n, 4.0), np.full(n, 0.5)
    lanes = crossing.movement_lanes
    np.testing.assert_allclose(
        crossing.pressure(vehicles, np.zeros(n), np.zeros(n), occupancy, metering=2.0),
        lanes * np.where(crossing.movement_enters, 4.0 * 0.25, 4.0),
    )
    np.testing.assert_allclose(crossing.pressure(vehicles, np.zeros(n), np.zeros(n), occupancy), lanes * 4.0)


def test_downstream_vehicles_are_those_queued_for_the_exit_links_onward_connections():
    scenario = scenario_from_dict(
        {
            "name": "three",
            "network": {"type": "grid", "rows": 1, "cols": 3},
            "demand": {"type": "uniform", "rate_vph": 1.0},
        }
    )
    model = CityModel(scenario)
    crossing = Intersection.of(model.net, 1, SignalPlan((30.0, 30.0), 3.0, 1.0, 0.0, 5.0), 7.5, 1.0)
    net = model.net
    n_conns = len(net.conn_from)
    queue, approaching = np.arange(n_conns, dtype=float), np.ones(n_conns)
    obs = type("Obs", (), {"queue": queue, "approaching": approaching})()
    view = IntersectionView.__new__(IntersectionView)
    view._crossing, view._obs = crossing, obs
    for i, exit_edge in enumerate(crossing.movement_out_edges.tolist()):
        onward = np.flatnonzero(net.conn_from == exit_edge)
        expected = (queue[onward] + 1.0).mean() if len(onward) else 0.0
        assert view.downstream_vehicles[i] == pytest.approx(expected)
        standing = queue[onward].sum() / crossing.exit_capacity_veh[i]  # only the halted ones
        assert view.downstream_queue_occupancy[i] == pytest.approx(standing)


@pytest.mark.parametrize(("ns", "ew", "expected"), [(2, 5, (5.0, 1)), (5, 2, None), (3, 3, None)])
def test_max_pressure_serves_the_phase_of_larger_pressure(ns, ew, expected):
    ctrl = max_pressure()
    assert drive(ctrl, lambda t: (vehicles(ctrl, ns=ns, ew=ew), vehicles(ctrl)), 30.0) == expected


def test_max_pressure_decides_every_interval_after_the_minimum_green():
    ctrl = max_pressure(interval_s=7.0)
    observe = lambda t: (vehicles(ctrl, ns=3, ew=5 if t >= 13 else 0), vehicles(ctrl))  # noqa: E731
    assert drive(ctrl, observe, 60.0) == (19.0, 1)  # decisions at 0, 5, 12, 19


def test_max_pressure_holds_a_green_it_switches_to_until_its_vehicles_can_clear():
    ctrl = max_pressure()
    crossing = ctrl.intersection
    east_west = np.flatnonzero(crossing.phase_movements[1])
    one_approach = east_west[
        crossing.movement_in_edges[east_west] == crossing.movement_in_edges[east_west[0]]
    ]
    assert len(one_approach) > 1 and (crossing.movement_lanes[one_approach] == 1).all()  # a shared lane
    queue = np.zeros(len(crossing.movements))
    queue[one_approach] = 20.0 / len(one_approach)  # 20 vehicles queued in one lane
    queue[np.flatnonzero(crossing.phase_movements[0])[0]] = 3.0
    view = View(5.0, 0, 5.0, queue, np.zeros(len(queue)), np.zeros(len(queue)),
                phase_movements=crossing.phase_movements)  # fmt: skip
    assert crossing.clearing_s(1, queue) == pytest.approx(20 * SATURATION_HEADWAY_S)
    # switch at 5 s; 4 s intergreen; the next decision once 20 vehicles had 2 s each
    assert ctrl.decide(view) == (1, pytest.approx(5.0 + 4.0 + 40.0))
    queue[one_approach] = 2.0 / len(one_approach)  # two vehicles against one: the 5 s interval rules
    queue[np.flatnonzero(crossing.phase_movements[0])[0]] = 1.0
    assert ctrl.decide(view) == (1, pytest.approx(5.0 + 4.0 + 5.0))


def sotl(theta=40.0, mu=3, min_green_s=5.0):
    return junction(SotlController, SotlSettings(theta, mu), min_green_s)


def test_sotl_switches_when_the_red_demand_passes_its_threshold():
    ctrl = sotl()
    # 4 vehicles wait at the red: kappa = 4 veh x t s reaches 40 veh.s at t = 10 s
    assert drive(ctrl, lambda t: (vehicles(ctrl, ew=4), vehicles(ctrl, ns=5)), 60.0) == (10.0, 1)
    assert ctrl.kappa_veh_s[1] == pytest.approx(40.0)


def test_sotl_waits_for_the_min_green_even_past_the_threshold():
    ctrl = sotl(min_green_s=15.0)
    assert drive(ctrl, lambda t: (vehicles(ctrl, ew=4), vehicles(ctrl, ns=5)), 60.0) == (15.0, 1)


def test_sotl_lets_a_short_platoon_cross_but_cuts_a_long_one():
    ctrl = sotl()
    short = lambda t: (vehicles(ctrl, ew=4), vehicles(ctrl, ns=2 if t < 17 else 0))  # noqa: E731
    assert drive(ctrl, short, 60.0) == (17.0, 1)
    ctrl = sotl()
    long_ = lambda t: (vehicles(ctrl, ew=4), vehicles(ctrl, ns=4))  # noqa: E731
    assert drive(ctrl, long_, 60.0) == (10.0, 1)


# ----- the scenario keys of the controllers -----------------------------------------------------
def test_controller_tables_have_defaults_and_named_range_errors(tmp_path):
    from sim.scenario import ScenarioError

    base = contract_scenario("fixed_time")
    assert base.signals.settings == (("fixed_time", NoSettings()),)
    tables = base.with_overrides({"signals.actuated.passage_time_s": 3.0, "signals.sotl": {}}).signals
    assert tables.settings_of("actuated") == ActuatedSettings(60.0, 3.0)
    assert tables.settings_of("sotl") == SotlSettings(40.0, 3)
    learned = base.with_overrides({"signals.controller": "learned"}).signals.settings_of("learned")
    assert (learned.decision_interval_s, learned.policy) == (2.0, "builtin")
    with pytest.raises(
        ScenarioError, match=r"signals.actuated.max_green_s: expected a green >= signals.min_green_s \(7\)"
    ):
        base.with_overrides({"signals.actuated.max_green_s": 6.0})
    with pytest.raises(ScenarioError, match="signals.sotl.platoon_veh: expected an integer >= 0"):
        base.with_overrides({"signals.sotl.platoon_veh": -1})
    with pytest.raises(
        ScenarioError, match="signals.max_pressure.decision_interval_s: expected a number > 0"
    ):
        base.with_overrides({"signals.max_pressure.decision_interval_s": 0.0})
    with pytest.raises(ScenarioError, match="signals.max_pressure.green_s: unknown key"):
        base.with_overrides({"signals.max_pressure.green_s": 10.0})
    with pytest.raises(ScenarioError, match=r"signals.sotl: expected a table \[signals.sotl\]"):
        base.with_overrides({"signals.sotl": 3})
    with pytest.raises(ScenarioError, match="signals.learned.policy: expected a file ending in .npz"):
        base.with_overrides({"signals.learned.policy": "policy.pt"})
    with pytest.raises(ScenarioError, match="signals.learned.policy: expected an existing file"):
        base.with_overrides({"signals.learned.policy": str(tmp_path / "missing.npz")})
    policy = tmp_path / "policy.npz"
    policy.write_bytes(b"")
    assert (
        base.with_overrides({"signals.learned.policy": str(policy)}).signals.settings_of("learned").policy
        == policy
    )


@pytest.mark.parametrize(
    ("key", "place"),
    [
        ("decision_interval_s", "signals.max_pressure.decision_interval_s or signals.learned"),
        ("max_green_s", "signals.actuated.max_green_s"),
        ("sotl_platoon_veh", "signals.sotl.platoon_veh"),
        ("policy", "signals.learned.policy"),
    ],
)
def test_a_key_that_moved_to_a_controller_table_names_its_new_place(key, place):
    from sim.scenario import ScenarioError

    with pytest.raises(
        ScenarioError, match=rf"signals.{key}: unknown key \(set by override\); it moved to {place}"
    ):
        contract_scenario("fixed_time").with_overrides({f"signals.{key}": 10})


class _HoldFirstPhase(SignalController):
    """Requests its first phase at every decision: that signal never leaves it once there."""

    def decide(self, view):
        return Decision(0, view.now_s + 1.0)


def test_replace_controller_hands_one_signal_to_another_controller():
    # without the safety envelope, which would serve the held signal's other phase in time
    model = CityModel(contract_scenario("fixed_time").with_overrides({"safety.enabled": False}))
    model.run(until_s=60.0)
    held = model.controllers[0]
    replacement = _HoldFirstPhase(held.intersection, NoSettings())
    assert model.replace_controller(replacement) is held
    assert model.controllers[0] is replacement and model.next_decision_s(0) == model.time_s
    first_phase, other = held.intersection.phases[0], model.controllers[1].intersection
    phases = {0: set(), other.signal: set()}
    while model.time_s < 400.0:
        model.step()
        for signal in phases:
            phase = model.traffic.green_phase(signal)
            if phase is not None:
                phases[signal].add(phase)
    assert phases[0] == {first_phase}
    assert len(phases[other.signal]) == 2
