"""Left-turn bays (builders), turn lanes kept by the OSM import and the SUMO export and import."""

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sim.interop.osm_tags import WayDirections, turn_lanes
from sim.interop.osm_turns import lane_kinds
from sim.interop.sumo.export import ExportOptions, SignalTiming, lane_pairs, write_plain_xml
from sim.model import CityModel
from sim.network import build_network, compile_network, load_network, save_graphml, save_network_json
from sim.network.bays import MIN_UPSTREAM_M, add_left_bays, bay_node
from sim.network.builders import arterial, grid
from sim.network.graph import NetworkError
from sim.network.validate import validate_network
from sim.scenario import scenario_from_dict
from sim.traffic.codes import (
    RULE_FREE,
    ST_ON_NETWORK,
    TURN_LEFT,
    TURN_RIGHT,
    TURN_THROUGH,
    TURN_UTURN,
)

FIXTURE = Path(__file__).parent / "data" / "turn_lanes.osm"


def movements(net):
    """Every connection as ((from edge), (to edge), turn, lane_lo, lane_hi)."""
    return {
        (net.edge_keys[f], net.edge_keys[t], int(turn), int(lo), int(hi))
        for f, t, turn, lo, hi in zip(
            net.conn_from, net.conn_to, net.conn_turn, net.conn_lane_lo, net.conn_lane_hi, strict=True
        )
    }


def roads(net):
    """Each connection at an intersection as (from node, node, to node, turn), bays read through.

    A road is named by the node at its far end (the bay node ``"v.bay.u"`` of road ``u -> v``
    stands for ``u`` going in and for ``v`` coming out), so a network with bays and one
    without give the same set when the bays change no movement.
    """
    found = set()
    for f, t, turn in zip(net.conn_from, net.conn_to, net.conn_turn, strict=True):
        (u, v), (_, w) = net.edge_keys[f], net.edge_keys[t]
        if ".bay." not in v:
            found.add((u.split(".bay.")[-1], v, w.split(".bay.")[0], int(turn)))
    return found


# ----- builders ------------------------------------------------------------------------------
def test_an_arterial_bay_splits_every_approach_into_a_link_and_a_wider_short_edge():
    graph = arterial(3, left_bay_m=60.0)
    validate_network(graph)
    bays = [n for n in graph if ".bay." in n]
    assert len(bays) == 12  # four approaches at each of three intersections
    node = bay_node("n0_0", "n1_0")
    assert node == "n1_0.bay.n0_0"
    assert graph.nodes[node] == {
        "x": 340.0,
        "y": 200.0,
        "signalized": False,
        "kind": "intersection",
        "junction": "unregulated",
    }
    assert not graph.has_edge("n0_0", "n1_0")
    assert graph.edges["n0_0", node] == {"length_m": 140.0, "lanes": 2, "speed_mps": 13.89}
    assert graph.edges[node, "n1_0"] == {
        "length_m": 60.0,
        "lanes": 3,
        "speed_mps": 13.89,
        "turns": {"n2_0.bay.n1_0": [0, 1], "S1": [0, 0], "N1": [2, 2]},
    }
    # a side street from the south: right to the east, left to the west, through to the north
    assert graph.edges["n1_0.bay.S1", "n1_0"]["turns"] == {
        "n2_0.bay.n1_0": [0, 0],
        "n0_0.bay.n1_0": [1, 1],
        "N1": [0, 0],
    }
    assert graph.nodes["n1_0.bay.S1"]["y"] == 140.0 and graph.edges["S1", "n1_0.bay.S1"]["length_m"] == 140.0
    # the links out to the fringe end at a dead end: no bay, and their turn back (from the
    # leftmost lane, as without bays) leads to the bay node of the way back
    assert graph.edges["n2_0", "E0"] == {
        "length_m": 200.0,
        "lanes": 2,
        "speed_mps": 13.89,
        "turns": {"n2_0.bay.E0": [1, 1]},
    }
    assert not any(".bay." in u for v in ("W0", "E0", "S0", "N0") for u in graph.predecessors(v))


def test_a_two_lane_bay_on_a_two_lane_grid_serves_left_turns_from_lanes_2_and_3():
    graph = grid(2, 2, lanes=2, left_bay_m=50.0, left_bay_lanes=2, junction="priority")
    validate_network(graph)
    edge = graph.edges["n0_0.bay.W0", "n0_0"]
    assert edge["lanes"] == 4 and edge["priority"] == 2
    assert edge["turns"] == {"n1_0.bay.n0_0": [0, 1], "S0": [0, 0], "n0_1.bay.n0_0": [2, 3]}
    assert graph.edges["n0_0.bay.S0", "n0_0"]["priority"] == 1


def test_bays_change_lanes_but_no_movement():
    for build in (lambda **k: arterial(3, **k), lambda **k: grid(3, 2, lanes=2, junction="stop", **k)):
        plain, bayed = build(), build(left_bay_m=40.0)
        before, after = roads(compile_network(plain)), roads(compile_network(bayed))
        assert {m[:3] for m in after} == {m[:3] for m in before}
        # with their kinds, except the U-turn at a dead end onto a link with a bay, which the
        # compiler, seeing it lead to the bay node and not back where it came from, calls a
        # left turn (alone at a fringe node, it gives way to nobody either way)
        dead_ends = {m for m in before if plain.nodes[m[1]]["kind"] == "fringe"}
        assert after - before == {(*m[:3], TURN_LEFT) for m in dead_ends}
        assert {m[3] for m in dead_ends} == {TURN_UTURN}


def test_at_a_t_junction_bays_leave_the_turns_of_the_approaches_without_a_left_turn():
    plain = arterial(2)
    plain.remove_nodes_from(["N0", "N1"])
    bayed = add_left_bays(plain, 50.0)
    validate_network(bayed)
    # eastbound at n1_0 there is no left turn, so no bay; westbound at n0_0 there is one
    assert bayed.has_edge("n0_0", "n1_0") and not bayed.has_edge("n1_0", "n0_0")
    # the eastbound link keeps its turns; the way back, now to a bay node, stays no U-turn
    assert bayed.edges["n0_0", "n1_0"]["turns"] == {"E0": [0, 1], "S1": [0, 0]}
    before, after = roads(compile_network(plain)), roads(compile_network(bayed))
    assert {m[:3] for m in after} == {m[:3] for m in before}


def test_bay_nodes_give_way_to_nobody():
    graph = arterial(2, left_bay_m=50.0, junction="priority")
    net = compile_network(graph)
    at_bay = [c for c in range(len(net.conn_from)) if ".bay." in net.edge_keys[net.conn_from[c]][1]]
    assert len(at_bay) == 8
    for c in at_bay:
        assert net.conn_rule[c] == RULE_FREE and net.conn_zone_m[c] == 0.0
        assert net.conn_foe_ptr[c] == net.conn_foe_ptr[c + 1]
        assert net.conn_turn[c] == TURN_THROUGH
        # every lane of the approach leads into the bay edge, whose lane the vehicle then chooses
        lanes = int(net.edge_lanes[net.conn_from[c]])
        assert (net.conn_lane_lo[c], net.conn_lane_hi[c]) == (0, lanes - 1)
        assert net.edge_lanes[net.conn_to[c]] == lanes + 1


def test_without_a_bay_the_builders_build_what_they_always_did():
    for build in (lambda **k: grid(3, 4, **k), lambda **k: arterial(3, junction="stop", **k)):
        default, explicit = build(), build(left_bay_m=0.0, left_bay_lanes=2)
        assert list(default.nodes(data=True)) == list(explicit.nodes(data=True))
        assert list(default.edges(data=True)) == list(explicit.edges(data=True))


def test_a_grid_without_fringe_stubs_puts_bays_only_before_its_inner_intersections():
    graph = grid(3, 3, fringe=False, left_bay_m=50.0)
    validate_network(graph)
    assert sorted(n for n in graph if ".bay." in n) == sorted(
        bay_node(u, "n1_1") for u in ("n0_1", "n2_1", "n1_0", "n1_2")
    )


# ----- running ---------------------------------------------------------------------------------
def test_an_arterial_with_bays_runs_every_trip_to_its_end_and_left_turners_use_the_bay():
    scenario = scenario_from_dict(
        {
            "name": "bays",
            "seed": 5,
            "network": {"type": "arterial", "n_intersections": 3, "left_bay_m": 60.0},
            "demand": {"type": "uniform", "rate_vph": 1500.0, "duration_s": 600.0},
            "simulation": {"max_time_s": 3600.0},
        }
    )
    model = CityModel(scenario)
    net, traffic = model.net, model.traffic
    bay_edges = np.array([".bay." in u for u, _ in net.edge_keys])
    in_bay = Counter()
    while not model.finished and model.time_s < 3600.0:
        model.run(until_s=model.time_s + 2.0)
        on = np.flatnonzero(traffic.statuses() == ST_ON_NETWORK)
        lanes, conns = traffic.lanes_of(on), traffic.next_connections(on)
        edges = net.lane_edge[lanes]
        keep = bay_edges[edges] & (conns >= 0)
        # one bay lane: the bay edge's leftmost
        bay_lane = lanes[keep] - net.edge_lane0[edges[keep]] == net.edge_lanes[edges[keep]] - 1
        in_bay.update(zip(net.conn_turn[conns[keep]].tolist(), bay_lane.tolist(), strict=True))
    assert model.traffic.n_arrived == len(model.trips) > 200
    # a vehicle may be seen in another lane while it changes lanes, hence the shares
    assert in_bay[TURN_LEFT, True] > 100, "left turners queue in the bays"
    assert in_bay[TURN_LEFT, True] > 0.95 * (in_bay[TURN_LEFT, True] + in_bay[TURN_LEFT, False])
    for turn in (TURN_THROUGH, TURN_RIGHT):
        assert in_bay[turn, False] > 100
        assert in_bay[turn, True] < 0.01 * in_bay[turn, False], "the bays serve only left turns"


# ----- files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".json", ".graphml"])
def test_a_network_with_bays_round_trips_through_json_and_graphml(tmp_path, suffix):
    graph = arterial(2, left_bay_m=45.0, left_bay_lanes=2)
    path = tmp_path / f"bays{suffix}"
    (save_network_json if suffix == ".json" else save_graphml)(graph, path)
    loaded = load_network(path)
    assert list(loaded.nodes(data=True)) == list(graph.nodes(data=True))
    assert list(loaded.edges(data=True)) == list(graph.edges(data=True))
    assert movements(compile_network(loaded)) == movements(compile_network(graph))


@pytest.fixture(scope="module")
def sumo_tools():
    pytest.importorskip("sumo")
    from sim.interop import sumo

    return sumo


def timings_for(graph):
    net = compile_network(graph)
    return {net.node_ids[n]: SignalTiming((30.0, 30.0), 3.0, 0.0) for n in net.signal_nodes.tolist()}


@pytest.mark.parametrize(
    ("from_lanes", "to_lanes", "turn", "pairs"),
    [
        (range(0, 2), 2, TURN_THROUGH, [(0, 0), (1, 1)]),
        (range(0, 2), 3, TURN_THROUGH, [(0, 0), (1, 1), (1, 2)]),  # into a bay: the left lane fans out
        (range(0, 3), 2, TURN_THROUGH, [(0, 0), (1, 1), (2, 1)]),
        (range(2, 3), 2, TURN_LEFT, [(2, 0), (2, 1)]),
        (range(2, 4), 1, TURN_LEFT, [(2, 0), (3, 0)]),
        (range(3, 4), 3, TURN_UTURN, [(3, 0), (3, 1), (3, 2)]),
        (range(0, 1), 2, TURN_RIGHT, [(0, 0), (0, 1)]),
        (range(1, 2), 1, TURN_THROUGH, [(1, 0)]),
    ],
)
def test_lane_pairs_connect_every_lane_of_a_movement(from_lanes, to_lanes, turn, pairs):
    assert lane_pairs(from_lanes, to_lanes, turn) == pairs


def test_the_export_writes_lane_connections_from_turns_only(sumo_tools, tmp_path):
    graph = arterial(1, left_bay_m=50.0)
    plain = [tmp_path / name for name in ("n.nod.xml", "e.edg.xml", "c.con.xml")]
    write_plain_xml(graph, *plain, ExportOptions())
    lanes = {}
    for c in ET.parse(plain[2]).getroot().iter("connection"):
        lanes.setdefault((c.get("from"), c.get("to")), []).append((c.get("fromLane"), c.get("toLane")))
    assert sorted(lanes["n0_0.bay.W0-n0_0", "n0_0-N0"]) == [("2", "0")]
    assert sorted(lanes["n0_0.bay.W0-n0_0", "n0_0-E0"]) == [("0", "0"), ("1", "1")]
    assert lanes["W0-n0_0.bay.W0", "n0_0.bay.W0-n0_0"] == [(None, None)]  # no turns: netconvert chooses


@pytest.mark.parametrize(
    "build",
    [
        lambda: arterial(2, lanes_main=1, left_bay_m=40.0, left_bay_lanes=2),
        lambda: grid(2, 2, lanes=3, left_bay_m=80.0, left_bay_lanes=2),
    ],
)
def test_bays_survive_sumo_export_and_import(sumo_tools, tmp_path, build):
    graph = build()
    sumo_tools.build_net(graph, tmp_path / "bays.net.xml", timings_for(graph))
    back = sumo_tools.read_sumo_net(tmp_path / "bays.net.xml").graph
    assert {n: (a["x"], a["y"]) for n, a in back.nodes(data=True)} == {
        n: (a["x"], a["y"]) for n, a in graph.nodes(data=True)
    }
    assert {n: back.nodes[n]["junction"] for n in graph if ".bay." in n} == {
        n: "unregulated" for n in graph if ".bay." in n
    }
    assert {e: back.edges[e]["lanes"] for e in graph.edges} == {e: a["lanes"] for e, a in graph.edges.items()}
    # the same turns from the same lanes (netconvert alone puts a two-lane bay's left turns
    # in its leftmost lane only)
    assert movements(compile_network(back)) == movements(compile_network(graph))


def test_turns_of_an_imported_edge_survive_sumo_export_and_import(sumo_tools, tmp_path):
    graph = grid(2, 2, lanes=3)
    graph.edges["W0", "n0_0"]["turns"] = {"n1_0": [1, 2], "n0_1": [0, 1]}
    sumo_tools.build_net(graph, tmp_path / "odd.net.xml", timings_for(graph))
    back = sumo_tools.read_sumo_net(tmp_path / "odd.net.xml").graph
    assert back.edges["W0", "n0_0"]["turns"] == {"n1_0": [1, 2], "n0_1": [0, 1]}
    assert movements(compile_network(back)) == movements(compile_network(graph))


# ----- OpenStreetMap turn:lanes ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        ("left|through;right", [{TURN_THROUGH, TURN_RIGHT}, {TURN_LEFT, TURN_UTURN}]),
        ("none|none", [{TURN_THROUGH}, {TURN_THROUGH}]),
        ("reverse;left||slight_right", [{TURN_RIGHT, TURN_THROUGH}, {TURN_THROUGH}, {TURN_UTURN, TURN_LEFT}]),
        ("left|straight", None),
    ],
)
def test_turn_lanes_values_read_right_to_left(value, kinds):
    parsed = lane_kinds(value)
    assert (None if parsed is None else [set(k) for k in parsed]) == kinds


def test_which_turn_lanes_tag_each_direction_reads():
    both, one_way, reverse = WayDirections(True, True), WayDirections(True, False), WayDirections(False, True)
    tags = {"turn:lanes": "left|through", "turn:lanes:backward": "through|right"}
    assert turn_lanes(tags, both) == (None, "through|right")  # plain turn:lanes is ambiguous on a two-way way
    assert turn_lanes(tags, one_way) == ("left|through", None)
    assert turn_lanes({"turn:lanes": "left|through"}, reverse) == (None, "left|through")
    assert turn_lanes({"turn:lanes:forward": "left|through"}, both) == ("left|through", None)


def test_the_osm_import_keeps_consistent_turn_lanes_and_counts_the_others():
    pytest.importorskip("osmium")
    from sim.interop.osm import read_osm

    imported = read_osm(FIXTURE)
    graph, report = imported.graph, imported.report
    assert graph.nodes["5"]["signalized"]
    # from the west: through and right from lane 0, left from lane 1
    assert graph.edges["1", "5"]["turns"] == {"3": [0, 0], "6": [0, 0], "8": [1, 1]}
    # from the east: through from the left lane, with the left turn
    assert graph.edges["3", "5"]["turns"] == {"1": [1, 1], "6": [1, 1], "8": [0, 0]}
    # from the south (two values for one lane) and the north (no lane for the left turn): defaults
    assert "turns" not in graph.edges["6", "5"] and "turns" not in graph.edges["8", "5"]
    assert graph.edges["8", "5"]["lanes"] == 2
    assert (report.turn_lanes, report.turn_lanes_ignored) == (2, 2)
    assert "turn lanes: 2 edges from turn:lanes, 2 values ignored" in report.summary()
    lanes = {(u, w): (lo, hi) for (u, _), (_, w), _, lo, hi in movements(compile_network(graph))}
    assert lanes["3", "1"] == (1, 1) and lanes["8", "1"] == (0, 0) and lanes["8", "3"] == (1, 1)


def test_osm_turn_lanes_reach_sumo(sumo_tools, tmp_path):
    pytest.importorskip("osmium")
    from sim.interop.osm import read_osm

    graph = read_osm(FIXTURE).graph
    sumo_tools.build_net(graph, tmp_path / "osm.net.xml", timings_for(graph))
    back = sumo_tools.read_sumo_net(tmp_path / "osm.net.xml").graph
    for edge in (("1", "5"), ("3", "5")):
        assert back.edges[edge]["turns"] == graph.edges[edge]["turns"]


# ----- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda: arterial(2, left_bay_m=190.0),
            f"left_bay_m=190 leaves less than {MIN_UPSTREAM_M:g} m of the 200 m link 'n0_0' -> 'n1_0' before "
            "its bay; expected left_bay_m <= 180",
        ),
        (lambda: arterial(2, side_street_m=50.0, left_bay_m=40.0), "the 50 m link 'S0' -> 'n0_0'"),
        (lambda: grid(2, 2, left_bay_m=-5.0), "left_bay_m must be a finite number > 0, got -5.0"),
        (lambda: grid(2, 2, left_bay_m=float("nan")), "left_bay_m must be a finite number > 0, got nan"),
        (
            lambda: grid(2, 2, left_bay_m=50.0, left_bay_lanes=0),
            "left_bay_lanes must be an integer >= 1, got 0",
        ),
        (lambda: grid(2, 2, left_bay_lanes=1.5), "left_bay_lanes must be an integer >= 1, got 1.5"),
        (
            lambda: grid(2, 2, junction="roundabout", left_bay_m=50.0),
            "left_bay_m=50.0 with junction='roundabout'; expected left_bay_m = 0",
        ),
    ],
)
def test_bad_bay_options_name_the_key(build, expected):
    with pytest.raises(NetworkError, match=re.escape(expected)):
        build()


def test_a_taken_bay_node_id_or_a_signal_plan_is_refused():
    graph = grid(1, 1)
    graph.add_node("n0_0.bay.W0", x=10.0, y=10.0, signalized=False, kind="fringe")
    with pytest.raises(NetworkError, match=re.escape("node 'n0_0.bay.W0' is in the network already")):
        add_left_bays(graph, 50.0)
    graph = grid(1, 1)
    graph.nodes["n0_0"]["signal_plan"] = {}
    with pytest.raises(NetworkError, match="node 'n0_0' has a signal_plan"):
        add_left_bays(graph, 50.0)


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ({"left_bay_m": -1.0}, "network.left_bay_m: expected a number >= 0"),
        (
            {"left_bay_m": 30.0, "left_bay_lanes": 9},
            "network.left_bay_lanes: expected an integer <= 4, got 9",
        ),
    ],
)
def test_bad_scenario_bay_keys_name_the_key(network, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        scenario_from_dict({"name": "x", "network": {"type": "grid", "rows": 2, "cols": 2, **network}})


def test_a_scenario_builds_its_bays():
    spec = scenario_from_dict(
        {
            "name": "x",
            "network": {"type": "grid", "rows": 2, "cols": 2, "left_bay_m": 30.0, "left_bay_lanes": 2},
        }
    )
    graph = build_network(spec.network.type, spec.network.kwargs())
    assert (
        graph.edges["n0_0.bay.W0", "n0_0"]["lanes"] == 3
        and graph.edges["n0_0.bay.W0", "n0_0"]["length_m"] == 30.0
    )
