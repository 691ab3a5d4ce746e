"""SUMO traffic-light programs: imported as SUMO runs them, and run phase by phase by the kernel.

The small hand-written net of ``tests/data/sumo_small`` has one light, C, with two programs;
SUMO runs the one loaded last, ``act`` (actuated). Its yellow transition keeps the P -> N right
turn green into a protected-left phase, and an all-red follows that phase's yellow.
"""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from sim.control.actuated import ActuatedController, ActuatedSettings
from sim.control.base import Decision, Intersection, SignalPlan, Stage
from sim.control.max_pressure import MaxPressureController, MaxPressureSettings
from sim.control.sotl import SotlController, SotlSettings
from sim.interop.demand import write_od_matrix
from sim.interop.sumo.net import read_sumo_net
from sim.interop.sumo.programs import TlsPhase, TlsProgram, read_programs, signal_plans
from sim.model import CityModel
from sim.network import compile_network, grid, save_network_json
from sim.scenario import scenario_from_dict
from sim.schema import MAX_GREEN_S
from sim.traffic.codes import GREEN, RED, STAGE_ALL_RED, STAGE_GREEN, STAGE_YELLOW, YELLOW

SMALL = Path(__file__).parent / "data" / "sumo_small" / "small.net.xml"


@pytest.fixture(scope="module")
def small():
    return read_sumo_net(SMALL)


def small_model(small, tmp_path, signals, rate_vph=300.0, duration_s=600.0):
    save_network_json(small.graph, tmp_path / "network.json")
    write_od_matrix(small.graph, tmp_path / "od.csv", rate_vph=rate_vph)
    scenario = {
        "name": "small",
        "network": {"type": "file", "path": str(tmp_path / "network.json")},
        "demand": {"type": "matrix", "matrix": str(tmp_path / "od.csv"), "duration_s": duration_s},
        "signals": signals,
        "simulation": {"max_time_s": duration_s, "dt_s": 1.0},
    }
    return CityModel(scenario_from_dict(scenario))


def stages(model, steps):
    """Signal 0's (phase index, stage, seconds) for each stretch of ``steps`` 1 s steps."""
    first = model.controllers[0].intersection.phases[0]
    out = []
    for _ in range(steps):
        model.step()
        states = model.traffic.signal_states()
        now = (int(states.phase[0]) - first, int(states.stage[0]))
        if out and tuple(out[-1][:2]) == now:
            out[-1][2] += 1
        else:
            out.append([*now, 1])
    return [tuple(stretch) for stretch in out]


# ----- import ----------------------------------------------------------------------------------
def test_the_default_program_imports_with_its_phases_intergreens_and_min_max_greens(small):
    program = small.programs["C"]
    assert (program.program_id, program.kind, program.offset_s) == ("act", "actuated", 5.0)
    plan = small.graph.nodes["C"]["signal_plan"]
    # 7 SUMO phases: three greens; the yellow that keeps P -> N green is an intergreen, not a phase
    assert [sorted(map(tuple, phase)) for phase in plan["phases"]] == [
        [("P", "N"), ("P", "W"), ("W", "P"), ("W", "S")],
        [("P", "N"), ("P", "S")],
        [("N", "P"), ("N", "S"), ("N", "W"), ("S", "N"), ("S", "P"), ("S", "W")],
    ]
    assert plan["greens_s"] == [30.0, 8.0, 20.0]
    assert plan["yellow_s"] == [3.0, 4.0, 3.0]
    assert plan["all_red_s"] == [0.0, 2.0, 0.0]
    assert plan["min_green_s"] == [10.0, 5.0, 8.0]
    assert plan["max_green_s"] == [45.0, 15.0, 30.0]
    assert plan["offset_s"] == 5.0
    cycle_s = sum(plan["greens_s"]) + sum(plan["yellow_s"]) + sum(plan["all_red_s"])
    assert cycle_s == program.cycle_s == 70.0


def tl_logics(xml):
    return ET.fromstring(f"<net>{xml}</net>").iter("tlLogic")


def test_the_last_program_loaded_runs_and_a_repeated_program_id_is_refused():
    links = {"J": {0: ("a", "b")}}
    logics = tl_logics(
        '<tlLogic id="J" type="static" programID="0" offset="0"><phase duration="9" state="G"/></tlLogic>'
        '<tlLogic id="J" type="actuated" programID="1" offset="2">'
        '<phase duration="8" minDur="4" maxDur="20" state="G"/><phase duration="3" state="y"/></tlLogic>'
        '<tlLogic id="J" type="static" programID="0" offset="0"><phase duration="7" state="G"/></tlLogic>'
        '<tlLogic id="J" type="static" programID="off" offset="0"/>'
        '<tlLogic id="K" type="static" programID="0" offset="0"><phase duration="5" state="G"/></tlLogic>'
    )
    programs, not_run = read_programs(logics, links)
    assert list(programs) == ["J"]
    assert programs["J"] == TlsProgram(
        "J", 2.0, (TlsPhase(8.0, "G", 4.0, 20.0), TlsPhase(3.0, "y")), links["J"], "actuated", "1"
    )
    assert not_run == 3


def one_crossing():
    """grid(1, 1) with every turn at n0_0 as a SUMO link: ``(graph, edge map, links, NS, EW)``.

    ``NS`` and ``EW`` turn a letter into a state string giving it to the north-south or the
    east-west approaches (the others red).
    """
    graph = grid(1, 1)
    edge_map = {f"{u}-{v}": ((u, v),) for u, v in graph.edges}
    ins = [f"{u}-n0_0" for u in ("S0", "N0", "W0", "E0")]
    links = {}
    for e_in in ins:
        for v in ("S0", "N0", "W0", "E0"):
            if not e_in.startswith(v):
                links[len(links)] = (e_in, f"n0_0-{v}")

    def giving(approaches):
        return lambda letter: "".join(
            letter if links[i][0][:2] in approaches else "r" for i in range(len(links))
        )

    return graph, edge_map, links, giving(("S0", "N0")), giving(("W0", "E0"))


def plan_of(phases, offset_s=0.0, kind="static"):
    graph, edge_map, links, _, _ = one_crossing()
    plans, _ = signal_plans(graph, edge_map, {"J": TlsProgram("J", offset_s, phases, links, kind)})
    (plan,) = plans.values()
    n_movements = [len(movements) for movements in plan.pop("phases")]
    return plan, n_movements


def test_a_set_served_twice_per_cycle_is_one_phase_and_the_cycle_keeps_its_length():
    _, _, _, ns, ew = one_crossing()
    durations = [20.0, 3.0, 10.0, 3.0, 15.0, 3.0, 12.0, 2.0, 1.0]
    states = [ns("G"), ns("y"), ew("G"), ew("y"), ns("G"), ns("y"), ew("G"), ew("y"), "r" * 12]
    plan, n_movements = plan_of(tuple(map(TlsPhase, durations, states)))
    assert n_movements == [6, 6]
    # later servings' greens and the transitions after them join the phase's green
    assert plan == {
        "greens_s": [38.0, 25.0],
        "yellow_s": [3.0, 3.0],
        "all_red_s": [0.0, 0.0],
        "offset_s": 0.0,
    }
    assert sum(plan["greens_s"]) + 6.0 == sum(durations)


def test_a_program_that_starts_in_a_transition_gives_it_to_its_last_phase():
    _, _, _, ns, ew = one_crossing()
    phases = (TlsPhase(3.0, ew("y")), TlsPhase(30.0, ns("G")), TlsPhase(4.0, ns("y")))
    phases += (TlsPhase(2.0, "r" * 12), TlsPhase(20.0, ew("G")))
    plan, _ = plan_of(phases, offset_s=10.0)
    # the north-south green starts 3 s into SUMO's cycle, which starts at 10 s
    assert plan == {
        "greens_s": [30.0, 20.0],
        "yellow_s": [4.0, 3.0],
        "all_red_s": [2.0, 0.0],
        "offset_s": 13.0,
    }


def test_a_green_that_runs_over_the_end_of_the_cycle_is_one_serving():
    _, _, _, ns, ew = one_crossing()
    phases = (TlsPhase(10.0, ns("G")), TlsPhase(3.0, ns("y")), TlsPhase(20.0, ew("G")))
    phases += (TlsPhase(3.0, ew("y")), TlsPhase(15.0, ns("G")))
    plan, _ = plan_of(phases)
    assert plan == {
        "greens_s": [25.0, 20.0],
        "yellow_s": [3.0, 3.0],
        "all_red_s": [0.0, 0.0],
        "offset_s": 36.0,
    }


def test_actuated_programs_give_min_and_max_greens_with_sumos_defaults():
    _, _, _, ns, ew = one_crossing()
    phases = (
        TlsPhase(20.0, ns("G"), 5.0),
        TlsPhase(3.0, ns("y")),
        TlsPhase(25.0, ew("G")),
        TlsPhase(3.0, ew("y")),
    )
    plan, _ = plan_of(phases, kind="actuated")
    # minDur without maxDur: no limit; neither: the duration
    assert (plan["min_green_s"], plan["max_green_s"]) == ([5.0, 25.0], [MAX_GREEN_S, 25.0])
    plan, _ = plan_of(phases, kind="static")
    assert "min_green_s" not in plan and "max_green_s" not in plan


# ----- running the imported plan -----------------------------------------------------------------
def test_a_fixed_time_run_shows_sumos_program_second_by_second(small, tmp_path):
    model = small_model(small, tmp_path, {"controller": "fixed_time", "min_green_s": 5.0})
    net, program = model.net, small.programs["C"]
    conn_of = {}
    for index, (sumo_from, sumo_to) in program.links.items():
        edges = (net.edge_index[small.edges[sumo_from][-1]], net.edge_index[small.edges[sumo_to][0]])
        conn_of[index] = net.conn_index[edges]
    starts = np.cumsum([0.0] + [phase.duration_s for phase in program.phases])
    letter = {GREEN: "G", YELLOW: "y", RED: "r"}
    for _ in range(3 * 70):
        now_s = model.time_s
        model.step()
        ours = "".join(letter[model.traffic.conn_state[conn_of[i]]] for i in sorted(conn_of))
        at = np.searchsorted(starts, (now_s - program.offset_s) % program.cycle_s, side="right") - 1
        assert ours == program.phases[at].state.replace("g", "G"), f"at {now_s} s"
    # the kernel's own view: phases in SUMO's order, each intergreen the phase's own, cycle 70 s
    cycle = stages(model, 140)[1:8]
    first = [s[0] for s in cycle].index(0)
    cycle = cycle[first:] + cycle[:first]
    assert cycle == [
        (0, STAGE_GREEN, 30),
        (0, STAGE_YELLOW, 3),
        (1, STAGE_GREEN, 8),
        (1, STAGE_YELLOW, 4),
        (1, STAGE_ALL_RED, 2),
        (2, STAGE_GREEN, 20),
        (2, STAGE_YELLOW, 3),
    ]


@pytest.mark.parametrize(("rate_vph", "bound"), [(300.0, "min"), (3000.0, "max")])
def test_actuated_runs_each_phases_own_min_and_max_green(small, tmp_path, rate_vph, bound):
    model = small_model(small, tmp_path, {"controller": "actuated"}, rate_vph, duration_s=1800.0)
    greens = {}
    for phase, stage, length in stages(model, 1800)[1:-1]:
        if stage == STAGE_GREEN:
            greens.setdefault(phase, []).append(length)
    assert model.config.signals.settings_of("actuated").max_green_s == 60.0
    if bound == "min":
        # light traffic gaps out: at each phase's own minimum green (SUMO's minDur), never before
        assert [min(greens[p]) for p in range(3)] == [10, 5, 8]
    else:
        # saturated approaches max out at each phase's own maximum (SUMO's maxDur), not at 60 s
        assert [max(greens[p]) for p in range(3)] == [45, 15, 30]


# ----- controllers and kernel on per-phase plans ---------------------------------------------------
def crossing(cls, settings, plan):
    """A started controller of grid(1, 1) (phase 0 north-south, phase 1 east-west; 1 s steps)."""
    ctrl = cls(Intersection.of(compile_network(grid(1, 1)), 0, plan, 7.5, 1.0), settings)
    ctrl.start()
    return ctrl


class View:
    """An IntersectionView in phase 0's green since t = 0, with fixed demand per phase."""

    def __init__(self, ctrl, now_s, ns, ew):
        crossing_ = ctrl.intersection
        self.now_s, self.phase, self.stage, self.stage_age_s = now_s, 0, Stage.GREEN, now_s
        self.queue = crossing_.phase_movements.T.astype(float) @ np.array([ns, ew], dtype=float)
        self.approaching = self.queue.copy()
        self.downstream_occupancy = np.zeros(len(self.queue))
        self.downstream_vehicles = np.zeros(len(self.queue))
        self.downstream_queue_occupancy = np.zeros(len(self.queue))


def first_request(ctrl, ns, ew, until_s=90.0):
    """(time, phase) of the controller's first request under steady demand, deciding when due."""
    t, due_s = 0.0, 0.0
    while t <= until_s:
        if t >= due_s - 1e-9:
            choice, due_s = ctrl.decide(View(ctrl, t, ns, ew))
            if choice is not None:
                return t, choice
        t += 1.0
    return None


@pytest.mark.parametrize(
    ("cls", "settings"),
    [
        (ActuatedController, ActuatedSettings(max_green_s=100.0, passage_time_s=2.0)),
        (MaxPressureController, MaxPressureSettings(decision_interval_s=5.0)),
        (SotlController, SotlSettings(threshold_veh_s=1e5, platoon_veh=3)),
    ],
)
def test_controllers_end_a_green_at_its_phases_own_max_green(cls, settings):
    # the north-south phase is busier, so without a maximum none of them would leave it
    assert first_request(crossing(cls, settings, SignalPlan((30.0, 30.0), 3.0, 1.0, 0.0, 5.0)), 6, 2) is None
    plan = SignalPlan((30.0, 30.0), 3.0, 1.0, 0.0, 5.0, max_green_s=(12.0, None))
    assert first_request(crossing(cls, settings, plan), 6, 2) == (12.0, 1)


def test_controllers_wait_out_each_phases_own_min_green():
    plan = SignalPlan((30.0, 30.0), 3.0, 1.0, 0.0, (9.0, 2.0))
    ctrl = crossing(MaxPressureController, MaxPressureSettings(decision_interval_s=1.0), plan)
    assert first_request(ctrl, 0, 5) == (9.0, 1)


def test_the_kernel_runs_each_phases_own_min_green_and_intergreen(small, tmp_path):
    model = small_model(small, tmp_path, {"controller": "fixed_time"})
    traffic, phases = model.traffic, model.controllers[0].intersection.phases
    model.controllers[0].decide = lambda view: Decision(None, view.now_s + 1000.0)
    traffic.set_signal(0, phases[1], 0.0, (3.0, 4.0, 3.0), (0.0, 2.0, 0.0), (10.0, 6.0, 8.0))
    traffic.request_phases(np.array([0]), np.array([phases[2]]))
    assert traffic.min_green_s(0) == 6.0 and traffic.intergreen_s(0) == 6.0
    assert stages(model, 25)[:4] == [
        (1, STAGE_GREEN, 6),
        (1, STAGE_YELLOW, 4),
        (1, STAGE_ALL_RED, 2),
        (2, STAGE_GREEN, 13),
    ]


def test_links_a_program_never_gives_green_are_counted_and_run_with_their_approach():
    graph, edge_map, links, ns, ew = one_crossing()
    never = next(i for i, (e_in, _) in links.items() if e_in.startswith("W0"))
    ew_but_one = "".join("r" if i == never else letter for i, letter in enumerate(ew("G")))
    phases = (
        TlsPhase(20.0, ns("G")),
        TlsPhase(3.0, ns("y")),
        TlsPhase(20.0, ew_but_one),
        TlsPhase(3.0, ew("y")),
    )
    plans, never_green = signal_plans(graph, edge_map, {"J": TlsProgram("J", 0.0, phases, links)})
    assert never_green == 1
    (plan,) = plans.values()
    e_in, e_out = links[never]
    movement = [e_in.split("-")[0], e_out.split("-")[1]]
    assert [movement in phase for phase in plan["phases"]] == [False, True]
