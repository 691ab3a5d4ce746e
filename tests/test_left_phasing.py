"""Protected and permitted-protected left-turn phases in the plans derived from geometry.

The node is grid(1, 1)'s n0_0 with two lanes each way. "Exclusive" approaches give their left
turns the leftmost lane (lane 1) and through and right turns lane 0, through the edges'
``turns``; without them, the geometric rule lets through traffic use every lane, so the left
turns share lane 1 with it.
"""

import itertools
from pathlib import Path

import numpy as np
import pytest

from sim.control.timing import DemandFlows, critical_lane_flows_vphpl, signal_plans
from sim.model import CityModel
from sim.network import compile_network, grid
from sim.network.graph import TURNS
from sim.network.io import save_network_json
from sim.network.phasing import LeftTurnPhasing
from sim.scenario import ScenarioError, scenario_from_dict
from sim.traffic.codes import TURN_LEFT

NODE = "n0_0"
LEGS = ("N0", "S0", "E0", "W0")
AXIS_OF = {"N0": "NS", "S0": "NS", "E0": "EW", "W0": "EW"}
OPTIONS = list(itertools.product(("protected", "permitted_protected"), ("leading", "lagging")))


def with_left_lanes(graph, approaches=LEGS):
    """Give the left turns of the approaches from ``approaches`` the leftmost lane, the rest the others."""
    net = compile_network(graph)
    for c in range(len(net.conn_from)):
        u, v = net.edge_keys[net.conn_from[c]]
        if v != NODE or u not in approaches:
            continue
        top = int(net.edge_lanes[net.conn_from[c]]) - 1
        out = net.edge_keys[net.conn_to[c]][1]
        lanes = [top, top] if net.conn_turn[c] == TURN_LEFT else [0, top - 1]
        graph.edges[u, v].setdefault(TURNS, {})[out] = lanes
    return graph


def phases(net):
    """``(axis, {(from, to) movements})`` per phase of the network's one signal."""
    return [
        (
            net.phase_axis[p],
            {
                (net.edge_keys[net.conn_from[c]][0], net.edge_keys[net.conn_to[c]][1])
                for c in net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]].tolist()
            },
        )
        for p in range(len(net.phase_axis))
    ]


def lefts_of(net, approaches):
    return {
        (net.edge_keys[net.conn_from[c]][0], net.edge_keys[net.conn_to[c]][1])
        for c in np.flatnonzero(net.conn_turn == TURN_LEFT).tolist()
        if net.edge_keys[net.conn_from[c]][0] in approaches
    }


# ----- phase structure ------------------------------------------------------------------
def test_permitted_is_the_default_two_phase_plan():
    graph = with_left_lanes(grid(1, 1, lanes=2))
    default, permitted = (
        compile_network(graph),
        compile_network(graph, LeftTurnPhasing("permitted", "lagging")),
    )
    assert default.phase_axis == permitted.phase_axis == ("NS", "EW")
    assert phases(default) == phases(permitted)
    np.testing.assert_array_equal(default.phase_conns, permitted.phase_conns)


@pytest.mark.parametrize(("left_turns", "left_phase"), OPTIONS)
def test_exclusive_left_lanes_get_a_left_phase_per_axis(left_turns, left_phase):
    graph = with_left_lanes(grid(1, 1, lanes=2))
    net = compile_network(graph, LeftTurnPhasing(left_turns, left_phase))
    pair = {"leading": ("{}-left", "{}"), "lagging": ("{}", "{}-left")}[left_phase]
    assert net.phase_axis == tuple(label.format(axis) for axis in ("NS", "EW") for label in pair)
    every = set().union(*(movements for _, movements in phases(compile_network(graph))))
    served = set()
    for axis, movements in phases(net):
        served |= movements
        base = axis.removesuffix("-left")
        approaches = [leg for leg in LEGS if AXIS_OF[leg] == base]
        lefts = lefts_of(net, approaches)
        assert len(lefts) == 2
        if axis.endswith("-left"):
            # both approaches' left turns together, nothing else
            assert movements == lefts
        else:
            assert {a for a, _ in movements} == set(approaches)
            # the left turns are permitted in the through phase too, or not there at all
            assert movements & lefts == (lefts if left_turns == "permitted_protected" else set())
    assert served == every


@pytest.mark.parametrize(("left_turns", "left_phase"), OPTIONS)
def test_left_turns_sharing_a_lane_with_through_traffic_stay_permitted(left_turns, left_phase):
    shared = grid(1, 1, lanes=2)
    net = compile_network(shared, LeftTurnPhasing(left_turns, left_phase))
    assert net.phase_axis == ("NS", "EW")
    assert phases(net) == phases(compile_network(shared))


def test_only_the_exclusive_approach_of_an_axis_gets_the_left_phase():
    net = compile_network(with_left_lanes(grid(1, 1, lanes=2), ("S0",)), LeftTurnPhasing("protected"))
    assert net.phase_axis == ("NS-left", "NS", "EW")
    (_, left), (_, through), (_, east_west) = phases(net)
    assert left == lefts_of(net, ["S0"])
    # the north approach's left turn shares its lane, so it stays permitted in the through phase
    assert lefts_of(net, ["N0"]) <= through
    assert not left & through and not lefts_of(net, ["E0", "W0"]) - east_west


def test_a_left_turn_that_gives_way_to_nobody_gets_no_phase():
    # a T junction: the stem (from N0) has nobody opposite, the east-west road does
    tee = grid(1, 1, lanes=2)
    tee.remove_node("S0")
    net = compile_network(with_left_lanes(tee), LeftTurnPhasing("protected"))
    assert net.phase_axis == ("NS", "EW-left", "EW")
    assert phases(net)[1][1] == lefts_of(net, ["W0"]) == {("W0", "N0")}


def test_bad_phasing_values_name_the_key_and_the_choices():
    for key, value, allowed in (
        ("left_turns", "protect", "'permitted', 'protected', 'permitted_protected'"),
        ("left_phase", "early", "'leading', 'lagging'"),
    ):
        with pytest.raises(ScenarioError, match=f"signals.{key}: expected one of {allowed}"):
            scenario_from_dict(
                {"name": "t", "network": {"type": "grid", "rows": 1, "cols": 1}, "signals": {key: value}}
            )
        with pytest.raises(ValueError, match=f"{key}: expected one of {allowed}"):
            LeftTurnPhasing(**{key: value})


# ----- the scenario and the run -----------------------------------------------------------
@pytest.fixture(scope="module")
def exclusive_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("net") / "exclusive.json"
    save_network_json(with_left_lanes(grid(1, 1, lanes=2)), path)
    return path


def scenario(folder: Path, network: Path, flows: dict[tuple[str, str], float], duration_s: float, **signals):
    matrix = folder / "od.csv"
    matrix.write_text(
        "origin,destination,rate_vph\n" + "".join(f"{a},{b},{q}\n" for (a, b), q in flows.items())
    )
    return scenario_from_dict(
        {
            "name": "left",
            "network": {"type": "file", "path": str(network)},
            "demand": {"type": "matrix", "matrix": str(matrix), "duration_s": duration_s},
            "signals": signals,
            "simulation": {"max_time_s": 3 * duration_s, "report_interval_s": duration_s},
        }
    )


GREEN_S, YELLOW_S, HOUR_S = 25.0, 3.0, 3600.0


def lefts_per_hour_of_green(folder, network, left_turns, opposing_vph):
    """S0 -> W0 left turns (900 veh/h: always queued) per hour of the green they may use, against
    N0 -> S0 through traffic; and the number of phases of the cycle (each as long)."""
    sc = scenario(
        folder,
        network,
        {("S0", "W0"): 900.0, ("N0", "S0"): opposing_vph},
        HOUR_S,
        green_s=GREEN_S,
        yellow_s=YELLOW_S,
        left_turns=left_turns,
    )
    model = CityModel(sc, seed=0).run(until_s=HOUR_S)
    links = model.results().links
    # the approach from S0 carries the left turners only: its exits cross the stop line
    left_vph = float(links[(links["u"] == "S0") & (links["v"] == NODE)]["flow_vph"].iloc[0])
    n_phases = len(model.net.phase_axis)
    return left_vph * n_phases * (GREEN_S + YELLOW_S) / GREEN_S, n_phases


def test_a_protected_left_discharges_at_saturation_flow_and_a_permitted_one_is_gap_limited(
    tmp_path, exclusive_file
):
    protected, n_phases = lefts_per_hour_of_green(tmp_path, exclusive_file, "protected", 1500.0)
    assert n_phases == 4
    # the same left turns with nobody opposite, permitted: their saturation flow
    alone, _ = lefts_per_hour_of_green(tmp_path, exclusive_file, "permitted", 0.0)
    assert protected == pytest.approx(alone, rel=0.1)
    # Bounds: at most the kinematic limit, a queue crossing the line at the turn speed with
    # Krauss's spacing (front to front: length + min gap + speed * tau) over green + yellow; at
    # least 80 % of the HCM 2010's (1,900 veh/h/lane base saturation flow, times 0.95 for a
    # protected left from an exclusive lane, over displayed green + yellow - 4 s of lost time)
    vehicles = scenario(tmp_path, exclusive_file, {}, HOUR_S).vehicles
    spacing_m = vehicles.length_m + vehicles.min_gap_m
    kinematic_vph = (
        3600.0 / (vehicles.tau_s + spacing_m / vehicles.turn_speed_mps) * (GREEN_S + YELLOW_S) / GREEN_S
    )
    hcm_vph = 1900.0 * 0.95 * (GREEN_S + YELLOW_S - 4.0) / GREEN_S
    assert 0.8 * hcm_vph <= protected <= kinematic_vph
    # permitted, the same left turns wait for gaps in 1,500 veh/h of opposing traffic, which fills
    # its greens: a small share of the protected rate
    permitted, _ = lefts_per_hour_of_green(tmp_path, exclusive_file, "permitted", 1500.0)
    assert permitted < 0.4 * protected
    # permitted-protected: the protected rate, and the gaps of the through phase on top
    both, _ = lefts_per_hour_of_green(tmp_path, exclusive_file, "permitted_protected", 1500.0)
    assert both > protected


ALL_MOVEMENTS = {pair: 120.0 for pair in itertools.permutations(LEGS, 2)}
CONTROLLERS = [
    ("fixed_time", "fixed"),
    ("fixed_time", "webster"),
    ("actuated", "fixed"),
    ("max_pressure", "fixed"),
    ("sotl", "fixed"),
    ("learned", "fixed"),
]


@pytest.mark.parametrize(("left_turns", "left_phase"), OPTIONS)
@pytest.mark.parametrize(("controller", "timing"), CONTROLLERS)
def test_every_controller_serves_every_movement_of_a_plan_with_left_phases(
    tmp_path, exclusive_file, controller, timing, left_turns, left_phase
):
    sc = scenario(
        tmp_path,
        exclusive_file,
        ALL_MOVEMENTS,
        1800.0,
        controller=controller,
        timing=timing,
        left_turns=left_turns,
        left_phase=left_phase,
    )
    model = CityModel(sc, seed=1)
    assert len(model.controllers[0].intersection.phases) == 4
    greens = set()
    while not model.finished and model.time_s < 5400.0:
        model.run(until_s=model.time_s + 1.0)
        greens.add(model.traffic.green_phase(0))
    trips = model.results().trips
    assert trips["arrive_s"].notna().all(), f"{trips['arrive_s'].isna().sum()} of {len(trips)} trips stranded"
    assert len(trips) == model.traffic.n_vehicles > 600
    if left_turns == "protected":  # lefts move only in their own phases; permitted-protected ones need not
        assert {0, 1, 2, 3} <= greens


# ----- Webster --------------------------------------------------------------------------
def demand_flows(net, through_vph, right_vph, left_vph):
    """Every approach of n0_0: its through, right and left flows (veh/h)."""
    conn = np.zeros(len(net.conn_from))
    kinds = {0: through_vph, 1: right_vph, TURN_LEFT: left_vph}
    for c in range(len(conn)):
        if net.edge_keys[net.conn_from[c]][1] == NODE:
            conn[c] = kinds[int(net.conn_turn[c])]
    edge = np.bincount(net.conn_from, weights=conn, minlength=net.n_edges)
    return DemandFlows(edge, conn)


def webster_greens(graph, left_turns, left_vph):
    net = compile_network(graph, LeftTurnPhasing(left_turns))
    signals = scenario_from_dict(
        {"name": "t", "network": {"type": "grid", "rows": 1, "cols": 1}, "signals": {"timing": "webster"}}
    ).signals
    flows = demand_flows(net, 500.0, 100.0, left_vph)
    (plan,) = signal_plans(signals, graph, net, flows)
    return net, plan, critical_lane_flows_vphpl(net, 0, flows)


@pytest.mark.parametrize("left_turns", ["protected", "permitted_protected"])
def test_webster_counts_left_turns_on_their_own_lanes_in_their_protected_phase(left_turns):
    graph = with_left_lanes(grid(1, 1, lanes=2))
    net, _, critical = webster_greens(graph, left_turns, 200.0)
    assert net.phase_axis == ("NS-left", "NS", "EW-left", "EW")
    # left phases: 200 veh/h on one lane; through phases: through and right (600) on lane 0,
    # the permitted-protected lefts counted in their protected phase only
    assert critical == pytest.approx([200.0, 600.0, 200.0, 600.0])
    # the two-phase plan: each approach's whole flow over its two lanes, as before
    _, _, two_phase = webster_greens(graph, "permitted", 200.0)
    assert two_phase == pytest.approx([400.0, 400.0])


@pytest.mark.parametrize("left_turns", ["protected", "permitted_protected"])
def test_webster_gives_the_left_phase_a_share_that_grows_with_left_demand(left_turns):
    graph = with_left_lanes(grid(1, 1, lanes=2))
    shares = []
    for left_vph in (50.0, 150.0, 300.0, 450.0):
        net, plan, _ = webster_greens(graph, left_turns, left_vph)
        left = net.phase_axis.index("NS-left")
        shares.append(plan.greens_s[left] / plan.cycle_s)
        assert plan.cycle_s == pytest.approx(sum(plan.greens_s) + sum(plan.intergreens_s))
    assert all(b > a for a, b in itertools.pairwise(shares)), shares
    assert shares[-1] > 2 * shares[0]
