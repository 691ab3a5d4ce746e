"""Fixed-time plans, offsets and Webster timing."""

import numpy as np
import pytest

from sim.control.base import Decision, Intersection, NoSettings, SignalPlan, Start
from sim.control.fixed_time import FixedTimeController
from sim.control.timing import (
    MAX_CYCLE_S,
    green_wave_offsets_s,
    signal_plans,
    webster_delay_s,
    webster_timing,
)
from sim.network import compile_network, grid
from sim.network.graph import SIGNAL_PLAN
from sim.scenario import scenario_from_dict


class _View:
    def __init__(self, now_s):
        self.now_s = now_s


def fixed_time(greens_s, yellow_s, offset_s=0.0):
    """A fixed-time controller of a grid(1, 1) intersection (no all-red), built alone and started."""
    plan = SignalPlan(greens_s, yellow_s, 0.0, offset_s, 5.0)
    ctrl = FixedTimeController(Intersection.of(compile_network(grid(1, 1)), 0, plan, 7.5, 1.0), NoSettings())
    return ctrl, ctrl.start()


def test_webster_cycle_matches_the_textbook_example():
    # Two phases, critical flow ratios 0.25 and 0.35, lost time 4 s each: L = 8 s, Y = 0.6,
    # C0 = (1.5 * 8 + 5) / (1 - 0.6) = 42.5 s; effective green 34.5 s split 0.25:0.35.
    cycle, greens = webster_timing([475.0, 665.0], 4.0, 1900.0, intergreen_s=4.0, min_green_s=5.0)
    assert cycle == pytest.approx(42.5)
    assert greens[0] == pytest.approx(34.5 * 0.25 / 0.6)
    assert greens[1] == pytest.approx(34.5 * 0.35 / 0.6)


def test_webster_caps_an_oversaturated_cycle_and_keeps_min_green():
    cycle, greens = webster_timing([1900.0, 10.0], 4.0, 1900.0, intergreen_s=3.0, min_green_s=7.0)
    assert cycle == MAX_CYCLE_S
    assert min(greens) == 7.0
    assert sum(greens) + 2 * 3.0 == pytest.approx(cycle)


def test_webster_delay_rises_with_saturation():
    delays = [webster_delay_s(60.0, 27.0, q, 1900.0 * 27.0 / 60.0) for q in (200.0, 400.0, 700.0)]
    assert delays[0] < delays[1] < delays[2]
    assert delays[0] > 0.0


def test_fixed_time_cycle_and_decisions():
    ctrl, start = fixed_time((30.0, 20.0), 3.0)
    assert ctrl.intersection.plan.cycle_s == 56.0
    assert start == Start(0, 0.0, 30.0)
    assert ctrl.decide(_View(30.0)) == Decision(1, 30.0 + 3.0 + 20.0)
    assert ctrl.decide(_View(53.0)) == Decision(0, 53.0 + 3.0 + 30.0)


@pytest.mark.parametrize(
    ("offset_s", "phase", "elapsed_s", "next_s"),
    [
        # cycle 56 s: phase 0 green [0, 30), intergreen [30, 33), phase 1 green [33, 53), intergreen
        (0.0, 0, 0.0, 30.0),  # t=0 is cycle position 0
        (10.0, 1, 13.0, 7.0),  # position 46: phase 1 green since 33
        (51.0, 0, 5.0, 25.0),  # position 5
        (25.0, 1, 0.0, 22.0),  # position 31, in the intergreen: phase 1 starts early, ends on plan
    ],
)
def test_offset_sets_the_starting_phase(offset_s, phase, elapsed_s, next_s):
    _, start = fixed_time((30.0, 20.0), 3.0, offset_s)
    assert start == (phase, pytest.approx(elapsed_s), pytest.approx(next_s))


def test_decisions_follow_the_plan_not_the_rounded_step_times():
    ctrl, _ = fixed_time((11.5, 11.5), 3.5)
    assert ctrl.decide(_View(12.0)) == Decision(1, 11.5 + 3.5 + 11.5)  # due at 11.5, called at the next step
    assert ctrl.decide(_View(27.0)) == Decision(0, 26.5 + 3.5 + 11.5)
    # called long after its time: planned from now
    assert ctrl.decide(_View(500.0)) == Decision(1, 500.0 + 3.5 + 11.5)


def test_the_intersection_lists_its_movements_and_exits():
    crossing = Intersection.of(
        compile_network(grid(1, 1)), 0, SignalPlan((30.0, 30.0), 3.0, 0.0, 0.0, 5.0), 7.5, 1.0
    )
    assert crossing.node == "n0_0" and crossing.phases == (0, 1)
    # every movement belongs to one phase of two; exit stubs of 200 m hold 26 standing vehicles
    assert crossing.phase_movements.shape == (2, len(crossing.movements))
    np.testing.assert_array_equal(crossing.phase_movements.sum(axis=0), 1)
    assert np.all(crossing.exit_capacity_veh == 26) and np.all(crossing.movement_lanes == 1)
    with pytest.raises(ValueError, match="read-only"):
        crossing.movements[0] = 0


def _signals(**keys):
    return scenario_from_dict(
        {"name": "t", "network": {"type": "grid", "rows": 1, "cols": 3}, "signals": keys}
    ).signals


def test_plans_take_the_scenario_timing_a_green_wave_or_a_nodes_own_plan():
    graph = grid(1, 3)
    net = compile_network(graph)
    wave_s = green_wave_offsets_s(net)
    # the signals stand at x = 200, 400, 600 m: the wave starts at x = 0
    assert wave_s == pytest.approx(np.array([200.0, 400.0, 600.0]) / 13.89)
    plans = signal_plans(_signals(offset_s="green_wave", yellow_s=4.0, all_red_s=1.0), graph, net, None)
    assert [plan.offset_s for plan in plans] == pytest.approx(list(wave_s))
    assert plans[0] == SignalPlan((30.0, 30.0), 4.0, 1.0, wave_s[0], 5.0)
    ends = net.node_ids
    movements = [
        [[ends[net.edge_from[net.conn_from[c]]], ends[net.edge_to[net.conn_to[c]]]] for c in conns.tolist()]
        for conns in np.split(net.phase_conns, net.phase_conn_ptr[1:-1])[
            net.signal_phase_ptr[1] : net.signal_phase_ptr[2]
        ]
    ]
    own = {"phases": movements, "greens_s": [20.0, 3.0], "yellow_s": [3.0, 4.0], "all_red_s": 2.0}
    graph.nodes[ends[net.signal_nodes[1]]][SIGNAL_PLAN] = {**own, "offset_s": 7.0, "max_green_s": [40.0, 9.0]}
    plans = signal_plans(_signals(), graph, compile_network(graph), None)
    # the node's plan replaces the scenario's, phase by phase where it gives per-phase values;
    # each minimum green is capped at its phase's green
    assert plans[1] == SignalPlan((20.0, 3.0), (3.0, 4.0), 2.0, 7.0, (5.0, 3.0), (40.0, 9.0))
    assert plans[1].cycle_s == 20.0 + 3.0 + 3.0 + 4.0 + 2.0 * 2
    assert plans[0] == plans[2] == SignalPlan((30.0, 30.0), 3.0, 0.0, 0.0, 5.0)


@pytest.mark.parametrize(
    ("signals", "cycle_s"),
    [
        # the case: greens and yellow that are not whole steps, planned cycle 30 s
        ({"green_s": 11.5, "yellow_s": 3.5, "all_red_s": 0.0}, 30.0),
        ({"green_s": 12.25, "yellow_s": 2.5, "all_red_s": 0.25, "min_green_s": 5.0}, 30.0),
        # Webster greens are fractional too: their cycle must hold as well
        ({"timing": "webster", "yellow_s": 3.0, "all_red_s": 1.0}, None),
    ],
)
def test_fixed_time_cycle_runs_as_planned_in_a_model(signals, cycle_s):
    from sim.model import CityModel
    from sim.scenario import scenario_from_dict
    from sim.traffic.codes import STAGE_GREEN

    scenario = scenario_from_dict(
        {
            "name": "cycle",
            "network": {"type": "grid", "rows": 1, "cols": 1},
            "demand": {"rate_vph": 300.0, "duration_s": 600.0},
            "signals": {"controller": "fixed_time", **signals},
            "simulation": {"max_time_s": 900.0},
        }
    )
    model = CityModel(scenario)
    plan_cycle_s = model.controllers[0].intersection.plan.cycle_s
    planned_s = plan_cycle_s if cycle_s is None else cycle_s
    assert plan_cycle_s == pytest.approx(planned_s)
    onsets: dict[int, list[float]] = {}

    def phase_and_stage() -> tuple[int, int]:
        states = model.traffic.signal_states()
        return int(states.phase[0]), int(states.stage[0])

    previous = phase_and_stage()
    while model.time_s < 900.0 - 1e-9:
        model.step()
        state = phase_and_stage()
        if state != previous and state[1] == STAGE_GREEN:
            # the kernel switches at the start of a step: the green began one step ago
            onsets.setdefault(state[0], []).append(model.time_s - model.dt_s)
        previous = state
    for phase, times in onsets.items():
        cycles = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert len(cycles) >= 900.0 / planned_s - 3, phase
        # whole-step rounding may move single onsets by a step; over many cycles none is lost
        assert (times[-1] - times[0]) / len(cycles) == pytest.approx(planned_s, abs=1.0 / len(cycles))
        assert max(cycles) <= planned_s + model.dt_s
