"""Lane changing on multi-lane links: strategic (to the lane of the next turn) and tactical
(around a vehicle waiting to turn), safe (no overlap, no hard braking forced on the new
follower) and conserving vehicles at every step.
"""

import networkx as nx
import numpy as np

from sim.network import compile_network
from sim.network.validate import validate_network
from sim.traffic.codes import ST_ON_NETWORK
from sim.traffic.state import CarFollowing, TrafficState

DT_S = 1.0


def approach(left_lanes: tuple[int, int] = (1, 1)) -> nx.DiGraph:
    """A signalized junction J (shown green throughout) with a two-lane approach from W.

    From W: left to N from ``left_lanes``, through to E from both lanes, right to S from lane 0.
    The opposing approach from E has two lanes as well; the side legs one.
    """
    graph = nx.DiGraph(name="approach")
    graph.add_node("J", x=0.0, y=0.0, signalized=True, kind="intersection")
    for leg, (x, y) in {"W": (-400.0, 0.0), "E": (400.0, 0.0), "N": (0.0, 300.0), "S": (0.0, -300.0)}.items():
        graph.add_node(leg, x=x, y=y, signalized=False, kind="fringe")
        lanes = 2 if leg in "WE" else 1
        length = abs(x) + abs(y)
        graph.add_edge(leg, "J", length_m=length, lanes=lanes, speed_mps=13.89)
        graph.add_edge("J", leg, length_m=length, lanes=lanes, speed_mps=13.89)
    graph.edges["W", "J"]["turns"] = {"N": left_lanes, "E": (0, 1), "S": (0, 0)}
    validate_network(graph)
    return graph


def schedule(
    state: TrafficState, streams: dict[tuple[str, ...], np.ndarray]
) -> dict[tuple[str, ...], np.ndarray]:
    """Schedule one vehicle per departure time of each path's stream; returns each stream's ids."""
    ids, times = {}, []
    for path, depart_s in streams.items():
        edges = state.net.route_edges(path)
        first, last = state.add_routes([edges], [state.net.route_conns(edges)])[0]
        ids[path] = state.add_vehicles(np.full(len(depart_s), first), np.full(len(depart_s), last))
        times.append(depart_s)
    all_ids, all_s = np.concatenate(list(ids.values())), np.concatenate(times)
    order = np.argsort(all_s, kind="stable")
    state.schedule(all_ids[order], all_s[order])
    return ids


def test_through_traffic_passes_a_left_turner_waiting_for_a_gap(check_state):
    """Cause 2 of the arterial's delay: through vehicles stuck behind a waiting left turner.

    A steady two-lane opposing stream (2,400 veh/h, a vehicle every 1.5 s) leaves a left turner
    no 4.5 s gap, so the left turners queue in lane 1 for the whole run; the through vehicles
    behind them change to lane 0 and drive on, each within a few seconds of its free-flow time.
    """
    state = TrafficState(compile_network(approach()), CarFollowing(sigma=0.0), dt_s=DT_S, seed=0)
    run_s = 600
    through_s = np.arange(4.0, 400.0, 8.0)
    ids = schedule(
        state,
        {
            ("E", "J", "W"): np.arange(0.0, run_s, 1.5),
            ("W", "J", "N"): np.array([0.0, 30.0]),
            ("W", "J", "E"): through_s,
        },
    )
    for _ in range(run_s):
        state.advance(1)
        check_state(state)
    through = ids[("W", "J", "E")]
    travel_s = state.trip_columns(state.n_vehicles)["arrive_s"][through] - through_s
    free_s = 800.0 / 13.89
    assert not np.isnan(travel_s).any(), "a through vehicle is still stuck behind the left turners"
    assert travel_s.max() < free_s + 20.0
    left = ids[("W", "J", "N")]
    assert np.all(state.statuses()[left] == ST_ON_NETWORK), "the left turners had a gap after all"
    assert state.lane_changes(through).sum() > 0


def test_left_turners_merge_into_their_lane_when_it_is_full(check_state):
    """Strategic changes: a left turner that finds the left lane full enters on the other lane
    and merges into the left-turn queue further on; the changes are safe (the state's
    invariants hold at every step: no overlap) and every vehicle crosses J from a lane that
    serves its turn.

    U -> W -> J, both links two lanes, W a plain continuation; the left turners from W (600
    veh/h) outnumber the gaps in a 1,500 veh/h opposing stream, so their queue fills W -> J.
    """
    graph = approach()
    graph.remove_edges_from([("W", "J"), ("J", "W")])
    graph.add_node("U", x=-700.0, y=0.0, signalized=False, kind="fringe")
    graph.nodes["W"]["kind"] = "intersection"
    for a, b, length in (("U", "W", 300.0), ("W", "U", 300.0), ("W", "J", 100.0), ("J", "W", 100.0)):
        graph.add_edge(a, b, length_m=length, lanes=2, speed_mps=13.89)
    graph.edges["W", "J"]["turns"] = {"N": (1, 1), "E": (0, 1), "S": (0, 0)}
    validate_network(graph)
    net = compile_network(graph)
    state = TrafficState(net, CarFollowing(), dt_s=DT_S, seed=3)
    rng = np.random.default_rng(3)
    run_s = 900
    ids = schedule(
        state,
        {
            ("E", "J", "W", "U"): np.sort(rng.uniform(0.0, run_s, 1_500 * run_s // 3600)),
            ("U", "W", "J", "N"): np.sort(rng.uniform(0.0, run_s, 600 * run_s // 3600)),
            ("U", "W", "J", "E"): np.sort(rng.uniform(0.0, run_s, 600 * run_s // 3600)),
        },
    )
    approach_edge = net.edge_index[("W", "J")]
    lefts = ids[("U", "W", "J", "N")]
    left_from = set()
    for _ in range(run_s):
        on = lefts[state.edges_of(lefts) == approach_edge]
        lanes, changes = state.lanes_of(on), state.lane_changes(on)
        state.advance(1)
        check_state(state)
        # (a vehicle may change lanes and cross in one step: its lane before the step is not its last)
        crossed = (state.edges_of(on) != approach_edge) & (state.lane_changes(on) == changes)
        left_from |= set((lanes[crossed] - net.edge_lane0[approach_edge]).tolist())
    assert left_from == {1}, "a left turner crossed from the through lane"
    assert state.lane_changes(lefts).sum() >= 5, "no left turner had to merge into the full left lane"
    assert np.count_nonzero(state.statuses()[lefts] == ST_ON_NETWORK) > 10, "the left lane never filled up"


def test_lane_changing_is_deterministic():
    def run() -> np.ndarray:
        state = TrafficState(compile_network(approach()), CarFollowing(), dt_s=DT_S, seed=5)
        rng = np.random.default_rng(5)
        depart = np.sort(rng.uniform(0.0, 500.0, 200))
        schedule(
            state,
            {("W", "J", "N"): depart[::3], ("W", "J", "E"): depart[1::3], ("E", "J", "W"): depart[2::3]},
        )
        state.advance(900)
        trips = state.trip_columns(state.n_vehicles)
        return np.r_[trips["arrive_s"], state.lane_changes(np.arange(state.n_vehicles))]

    np.testing.assert_array_equal(run(), run())
