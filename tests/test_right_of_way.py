"""Right of way at unsignalized junctions: the conflict model and the kernel's invariants.

The conflict model is checked against the geometry of a four-way junction (which movements
cross or merge, who gives way under each control); the kernel on a busy unsignalized grid,
every step: no two vehicles on conflicting movements are ever in a junction at once, every
vehicle behind a stop sign halts before it enters, and the kernel's own zone counts agree with
the vehicles' positions.
"""

import networkx as nx
import numpy as np
import pytest

from sim.network import compile_network, grid
from sim.traffic import layout as rows
from sim.traffic.codes import (
    FOE_CONFLICT,
    FOE_FIRST_COME,
    FOE_YIELD,
    RULE_FREE,
    RULE_STOP,
    RULE_YIELD,
    ST_ON_NETWORK,
    TURN_LEFT,
    TURN_RIGHT,
    TURN_THROUGH,
)
from sim.traffic.right_of_way import AT_LINE_M, STOPPED_MPS
from sim.traffic.state import CarFollowing, TrafficState


def crossroads(control: str, major_speed: float = 13.89, minor_speed: float = 13.89) -> nx.DiGraph:
    """One junction J with four 200 m legs (N, E, S, W fringe nodes); east-west at ``major_speed``."""
    graph = nx.DiGraph(name="crossroads")
    graph.add_node("J", x=0.0, y=0.0, signalized=control == "traffic_light", kind="intersection")
    if control != "traffic_light":
        graph.nodes["J"]["junction"] = control
    legs = {"N": (0.0, 200.0, minor_speed), "S": (0.0, -200.0, minor_speed)}
    legs |= {"E": (200.0, 0.0, major_speed), "W": (-200.0, 0.0, major_speed)}
    for leg, (x, y, speed) in legs.items():
        graph.add_node(leg, x=x, y=y, signalized=False, kind="fringe")
        graph.add_edge(leg, "J", length_m=200.0, lanes=1, speed_mps=speed)
        graph.add_edge("J", leg, length_m=200.0, lanes=1, speed_mps=speed)
    return graph


def movement(net, a: str, b: str) -> int:
    return net.conn_index[(net.edge_index[(a, "J")], net.edge_index[("J", b)])]


def foes_of(net, c: int) -> dict[int, int]:
    lo, hi = net.conn_foe_ptr[c], net.conn_foe_ptr[c + 1]
    return dict(zip(net.conn_foes[lo:hi].tolist(), net.conn_foe_kind[lo:hi].tolist(), strict=True))


# ----- the conflict model ---------------------------------------------------------------
def test_four_way_geometry_crossings_and_merges():
    net = compile_network(crossroads("priority"))
    s_n, s_e, s_w = movement(net, "S", "N"), movement(net, "S", "E"), movement(net, "S", "W")
    assert net.conn_turn[s_n] == TURN_THROUGH and net.conn_turn[s_e] == TURN_RIGHT
    assert net.conn_turn[s_w] == TURN_LEFT
    # a through movement crosses both cross-street throughs, both cross-street lefts and the
    # opposing left, and merges with the right turn from its left... six in all
    assert set(foes_of(net, s_n)) == {
        movement(net, "E", "W"),
        movement(net, "W", "E"),
        movement(net, "E", "S"),
        movement(net, "N", "E"),
        movement(net, "W", "N"),  # merges into J->N
        movement(net, "E", "N"),  # merges into J->N
    }
    # a right turn only merges: with the through from its left and the opposing left
    assert set(foes_of(net, s_e)) == {movement(net, "W", "E"), movement(net, "N", "E")}
    # opposing left turns pass in front of each other
    assert movement(net, "N", "E") not in foes_of(net, s_w)


def test_priority_minor_gives_way_to_major_and_major_left_to_opposing_through():
    net = compile_network(crossroads("priority", major_speed=16.7, minor_speed=8.3))
    minor_through, major_through = movement(net, "S", "N"), movement(net, "E", "W")
    assert foes_of(net, minor_through)[major_through] == FOE_YIELD
    assert foes_of(net, major_through)[minor_through] == FOE_CONFLICT
    assert net.conn_rule[major_through] == RULE_FREE and net.conn_rule[minor_through] == RULE_YIELD
    major_left = movement(net, "E", "S")
    assert foes_of(net, major_left)[movement(net, "W", "E")] == FOE_YIELD
    assert net.conn_rule[major_left] == RULE_YIELD


def test_priority_major_road_follows_the_edge_priority_attribute():
    graph = crossroads("priority")
    for u, v in (("N", "J"), ("S", "J"), ("J", "N"), ("J", "S")):
        graph.edges[u, v]["priority"] = 3
    try:
        net = compile_network(graph)
    except Exception as error:  # pragma: no cover - the schema change lands with the network side
        pytest.skip(f"edge priority not accepted yet: {error}")
    assert foes_of(net, movement(net, "E", "W"))[movement(net, "S", "N")] == FOE_YIELD


def test_stop_minor_movements_halt_first_and_right_before_left_yields_to_the_right():
    net = compile_network(crossroads("stop", major_speed=16.7, minor_speed=8.3))
    assert net.conn_rule[movement(net, "S", "N")] == RULE_STOP
    assert net.conn_rule[movement(net, "E", "W")] == RULE_FREE
    rbl = compile_network(crossroads("right_before_left"))
    # coming from the south, the east leg is on the right
    assert foes_of(rbl, movement(rbl, "S", "N"))[movement(rbl, "E", "W")] == FOE_YIELD
    assert foes_of(rbl, movement(rbl, "E", "W"))[movement(rbl, "S", "N")] == FOE_CONFLICT
    lbr = compile_network(crossroads("left_before_right"))
    assert foes_of(lbr, movement(lbr, "S", "N"))[movement(lbr, "E", "W")] == FOE_CONFLICT


def test_all_way_stop_is_first_come_and_unregulated_has_no_conflicts():
    net = compile_network(crossroads("allway_stop"))
    kinds = set(net.conn_foe_kind.tolist())
    assert kinds == {FOE_FIRST_COME}
    assert (net.conn_rule[net.conn_foe_ptr[1:] > net.conn_foe_ptr[:-1]] == RULE_STOP).all()
    assert len(compile_network(crossroads("unregulated")).conn_foes) == 0


def test_signal_permitted_left_gives_way_without_a_conflict_zone():
    net = compile_network(crossroads("traffic_light"))
    left, opposing = movement(net, "S", "W"), movement(net, "N", "S")
    assert foes_of(net, left)[opposing] == FOE_YIELD
    assert (net.conn_zone_m == 0.0).all()


# ----- the kernel on a busy unsignalized grid ---------------------------------------------
def busy_grid(control: str, n_vehicles: int, seed: int) -> TrafficState:
    graph = grid(3, 3, signalized=False)
    for _, attrs in graph.nodes(data=True):
        if attrs["kind"] == "intersection":
            attrs["junction"] = control
    state = TrafficState(compile_network(graph), CarFollowing(), dt_s=1.0, seed=seed)
    rng = np.random.default_rng(seed)
    fringe = [n for n, a in graph.nodes(data=True) if a["kind"] == "fringe"]
    edges, conns = [], []
    for _ in range(n_vehicles):
        a, b = rng.choice(len(fringe), size=2, replace=False)
        path = nx.shortest_path(graph, fringe[a], fringe[b], weight="length_m")
        e = state.net.route_edges(path)
        edges.append(e)
        conns.append(state.net.route_conns(e))
    spans = state.add_routes(edges, conns)
    ids = state.add_vehicles(spans[:, 0], spans[:, 1])
    state.schedule(ids, np.sort(rng.uniform(0.0, 900.0, n_vehicles)))
    return state


def in_junction(state: TrafficState) -> tuple[np.ndarray, np.ndarray]:
    """Vehicles whose rear is still in the conflict zone of the movement they last took, and that movement."""
    net = state.net
    n = state.n_vehicles
    vi, vf = state.vi[:, :n], state.vf[:, :n]
    on = np.flatnonzero(vi[rows.VI_STATUS] == ST_ON_NETWORK)
    rptr = vi[rows.VI_RPTR, on]
    came = np.where(rptr > 0, state.r_conn[np.maximum(rptr - 1, 0)], -1)
    # the previous route position belongs to the same route only if it leads to this edge
    same = (came >= 0) & (net.conn_to[np.maximum(came, 0)] == state.r_edge[rptr])
    rear = vf[rows.VF_POS, on] - vf[rows.VF_LEN, on]
    inside = same & (rear < net.conn_zone_m[np.maximum(came, 0)])
    return on[inside], came[inside]


@pytest.mark.parametrize("control", ["priority", "stop", "allway_stop", "right_before_left", "roundabout"])
def test_no_two_vehicles_on_conflicting_movements_are_in_a_junction_at_once(control):
    state = busy_grid(control, n_vehicles=900, seed=3)
    net = state.net
    conflicts = {
        (c, int(f))
        for c in range(len(net.conn_from))
        for f in net.conn_foes[net.conn_foe_ptr[c] : net.conn_foe_ptr[c + 1]]
    }
    most_inside = 0
    for _ in range(1500):
        state.advance(1)
        vids, came = in_junction(state)
        most_inside = max(most_inside, len(vids))
        pairs = {(int(a), int(b)) for a in came for b in came if a != b}
        assert not pairs & conflicts, f"step {state.step_no}: conflicting movements in a junction together"
        # the kernel's own count of vehicles in each zone agrees with their positions
        counted = np.bincount(came, minlength=len(net.conn_from))
        np.testing.assert_array_equal(state.conns.inside, counted)
    assert most_inside >= 5  # the junctions were busy
    assert state.n_arrived > 500  # and traffic flowed


def test_every_vehicle_stops_at_a_stop_sign_before_it_enters():
    state = busy_grid("stop", n_vehicles=400, seed=5)
    net = state.net
    n = state.n_vehicles
    must_stop = net.conn_rule == RULE_STOP
    halted_at_line = np.zeros(n, dtype=bool)
    checked = 0
    for _ in range(1300):
        vi, vf = state.vi[:, :n], state.vf[:, :n]
        on = vi[rows.VI_STATUS] == ST_ON_NETWORK
        conn = np.where(on, state.r_conn[vi[rows.VI_RPTR]], -1)
        before = conn.copy()
        edge = state.r_edge[vi[rows.VI_RPTR]]
        d = net.edge_length_m[edge] - vf[rows.VF_POS]
        halted_at_line |= on & (conn >= 0) & (d < AT_LINE_M) & (vf[rows.VF_SPEED] < STOPPED_MPS)
        state.advance(1)
        vi = state.vi[:, :n]
        now = np.where(vi[rows.VI_STATUS] == ST_ON_NETWORK, state.r_conn[vi[rows.VI_RPTR]], -1)
        crossed = on & (before >= 0) & (now != before) & must_stop[np.maximum(before, 0)]
        assert halted_at_line[crossed].all(), "a vehicle entered from a stop sign without halting"
        checked += int(crossed.sum())
        halted_at_line[crossed] = False
    assert checked > 100
