"""SUMO interop: reading nets, exporting and re-importing, the shipped SUMO examples, validation."""

import gzip
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import sim
from sim.cli import main
from sim.interop.demand import drivable_fringe_pairs, write_od_matrix
from sim.interop.errors import InteropError
from sim.interop.sumo.export import ExportOptions, SignalTiming
from sim.interop.sumo.net import read_sumo_net
from sim.model import CityModel
from sim.network import compile_network, grid, load_network_json, roundabout, save_network_json
from sim.scenario import scenario_from_dict

BENCH = Path(sim.__file__).parent / "data" / "bench"
SMALL = Path(__file__).parent / "data" / "sumo_small" / "small.net.xml"
TIMING_KEYS = ("greens_s", "yellow_s", "all_red_s", "offset_s")
NOT_FOR_CARS = {"net.net.xml": "rail", "spreewaldring.net.xml": "racing"}


def sumo_examples():
    """Every distinct ``.net.xml`` in the eclipse-sumo wheel's tools/game and tools/sumolib/scenario."""
    try:
        import sumo
    except ImportError:
        return []
    tools = Path(sumo.SUMO_HOME) / "tools"
    found, seen = [], set()
    for folder in ("game", "sumolib/scenario"):
        for path in sorted((tools / folder).rglob("*.net.xml*")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                found.append(path)
    return found


@pytest.fixture(scope="module")
def sumo_tools():
    pytest.importorskip("sumo")
    from sim.interop import sumo

    return sumo


def timings_for(graph, greens=(30.0, 30.0), offset_s=0.0):
    net = compile_network(graph)
    return {net.node_ids[n]: SignalTiming(greens, 3.0, 0.0, offset_s) for n in net.signal_nodes.tolist()}


def phase_movements(net):
    """Per signalized node, the set of movements (from node, to node) green in each phase, in order."""
    phases = {}
    for s, node in enumerate(net.signal_nodes.tolist()):
        phases[net.node_ids[node]] = [
            {
                (net.edge_keys[net.conn_from[c]][0], net.edge_keys[net.conn_to[c]][1])
                for c in net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]].tolist()
            }
            for p in range(net.signal_phase_ptr[s], net.signal_phase_ptr[s + 1])
        ]
    return phases


def movements(net):
    """Every connection as ((from edge), (to edge), turn, lane_lo, lane_hi)."""
    return {
        (net.edge_keys[f], net.edge_keys[t], int(turn), int(lo), int(hi))
        for f, t, turn, lo, hi in zip(
            net.conn_from, net.conn_to, net.conn_turn, net.conn_lane_lo, net.conn_lane_hi, strict=True
        )
    }


# ----- reading, no SUMO needed ---------------------------------------------------------------
def test_a_file_that_is_not_a_sumo_net_is_rejected(tmp_path):
    with pytest.raises(InteropError, match="missing.net.xml: file not found"):
        read_sumo_net(tmp_path / "missing.net.xml")
    (tmp_path / "nodes.xml").write_text("<nodes/>")
    with pytest.raises(InteropError, match=r"expected a SUMO network \(root element <net>\), got <nodes>"):
        read_sumo_net(tmp_path / "nodes.xml")
    (tmp_path / "broken.net.xml").write_text("<net><edge></net>")
    with pytest.raises(InteropError, match="invalid XML at line 1"):
        read_sumo_net(tmp_path / "broken.net.xml")
    (tmp_path / "odd.net.xml").write_text('<net><junction id="a" type="priority"/></net>')
    with pytest.raises(InteropError, match=r"odd.net.xml: malformed SUMO network \(TypeError"):
        read_sumo_net(tmp_path / "odd.net.xml")


def test_the_small_net_imports_with_its_lanes_turns_and_junctions_as_written():
    network = read_sumo_net(SMALL)
    graph = network.graph
    assert {(u, v): d["lanes"] for u, v, d in graph.edges(data=True) if "C" in (u, v)} == {
        ("W", "C"): 2, ("C", "W"): 2, ("P", "C"): 2, ("C", "P"): 2,
        ("N", "C"): 1, ("C", "N"): 1, ("S", "C"): 1, ("C", "S"): 1,
    }  # fmt: skip
    turns = nx.get_edge_attributes(graph, "turns")
    assert turns["W", "C"] == {"S": [0, 0], "P": [0, 1]}  # lane 0 right and through, lane 1 through; no left
    assert turns["P", "C"] == {"N": [0, 0], "W": [0, 1], "S": [1, 1]}
    assert turns["N", "C"] == {"W": [0, 0], "S": [0, 0], "P": [0, 0]}
    assert turns["S", "C"] == {"P": [0, 0], "N": [0, 0], "W": [0, 0]}
    assert turns["C", "W"] == {"C": [1, 1]}  # netconvert's turnaround at the dead end, from the left lane
    assert turns["C", "P"] == {"E": [0, 1], "X": [1, 1]} and turns["X", "P"] == {"C": [0, 0], "E": [0, 0]}
    assert nx.get_node_attributes(graph, "junction") == {
        "C": "traffic_light", "P": "priority", "W": "priority", "E": "priority",
        "N": "priority", "S": "priority", "X": "priority",
    }  # fmt: skip
    assert sorted(node for node, kind in graph.nodes(data="kind") if kind == "fringe") == list("ENSWX")
    report = network.report
    assert (report.turns, report.banned_turns) == (22, 1)
    assert report.junctions == {"traffic_light": 1, "priority": 6}
    assert report.unsupported == {"other tlLogic programs (not run by default)": 1}
    assert (report.dropped_nodes, report.edges_closed) == (0, {})
    net = compile_network(graph)
    wc, cn = net.edge_index["W", "C"], net.edge_index["C", "N"]
    assert (wc, cn) not in net.conn_index
    assert sum(net.conn_from == wc) == 2


def test_the_program_sumo_runs_by_default_is_the_last_one_loaded():
    (program,) = read_sumo_net(SMALL).programs.values()
    assert program.offset_s == 5.0 and len(program.phases) == 7  # "act", not the static "0"
    assert program.phases[1].state == "rrrGyyrrrryyy"


def internal_lane_m(lane_id):
    root = ET.parse(SMALL).getroot()
    return float(next(lane for lane in root.iter("lane") if lane.get("id") == lane_id).get("length"))


def test_edges_take_the_mean_length_of_their_junction_internal_lanes():
    graph = read_sumo_net(SMALL).graph
    through, right = internal_lane_m(":C_11_0"), internal_lane_m(":C_10_0")
    assert graph.edges["W", "C"]["length_m"] == pytest.approx(192.80 + (right + 2 * through) / 3)
    left = internal_lane_m(":C_2_0") + internal_lane_m(":C_13_0")  # a left turn waits inside the junction
    straight, right = internal_lane_m(":C_1_0"), internal_lane_m(":C_0_0")
    assert graph.edges["N", "C"]["length_m"] == pytest.approx(189.60 + (left + straight + right) / 3)
    assert graph.edges["C", "W"]["length_m"] == pytest.approx(192.80)  # only a turnaround follows


def test_a_gzipped_small_net_reads_the_same(tmp_path):
    (tmp_path / "small.net.xml.gz").write_bytes(gzip.compress(SMALL.read_bytes()))
    packed, plain = read_sumo_net(tmp_path / "small.net.xml.gz"), read_sumo_net(SMALL)
    assert list(packed.graph.edges(data=True)) == list(plain.graph.edges(data=True))
    assert list(packed.graph.nodes(data=True)) == list(plain.graph.nodes(data=True))


def edited_small_net(tmp_path, *replacements):
    text = SMALL.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "edited.net.xml"
    path.write_text(text)
    return path


def test_lanes_closed_to_the_class_are_left_out_and_the_others_renumbered(tmp_path):
    path = edited_small_net(
        tmp_path,
        ('<lane id="W2C_0" index="0"', '<lane id="W2C_0" index="0" allow="bus"'),
        ('<lane id="X2P_0" index="0"', '<lane id="X2P_0" index="0" allow="bicycle pedestrian"'),
        ('<lane id="P2X_0" index="0"', '<lane id="P2X_0" index="0" disallow="passenger"'),
    )
    network = read_sumo_net(path)
    graph = network.graph
    assert graph.edges["W", "C"]["lanes"] == 1
    assert graph.edges["W", "C"]["turns"] == {
        "P": [0, 0]
    }  # SUMO's lane 1 is lane 0 now; the right turn is gone
    assert "X" not in graph
    assert network.report.edges_closed == {"bicycle pedestrian": 1, "all but passenger": 1}
    assert network.report.banned_turns == 2


@pytest.mark.parametrize(
    ("edit", "control", "unsupported"),
    [
        ('type="left_before_right"', "left_before_right", None),
        ('type="priority_stop"', "stop", None),
        ('type="allway_stop"', "allway_stop", None),
        ('type="rail_crossing"', "priority", "junction type rail_crossing (run as priority)"),
        ('type="zipper"', "zipper", None),
    ],
)
def test_junction_types_become_the_junction_control(tmp_path, edit, control, unsupported):
    path = edited_small_net(tmp_path, ('<junction id="P" type="priority"', f'<junction id="P" {edit}'))
    network = read_sumo_net(path)
    assert network.graph.nodes["P"]["junction"] == control
    kind = edit.split('"')[1]
    assert network.report.junctions == {"traffic_light": 1, "priority": 5, kind: 1}
    assert network.report.unsupported.get(unsupported, 0) == (unsupported is not None)


def test_roundabout_nodes_are_marked(tmp_path):
    path = edited_small_net(tmp_path, ("</net>", '    <roundabout nodes="P" edges="C2P P2E"/>\n</net>'))
    assert read_sumo_net(path).graph.nodes["P"]["junction"] == "roundabout"


def sumo_net_text(junctions, edges, connections):
    """A minimal SUMO net: junctions {id: (x, y, type)}, one-lane edges [(id, from, to, allow)],
    connections [(from, to, dir)]."""
    lines = ['<net version="1.20">', '    <location netOffset="0.00,0.00"/>']
    for edge, u, v, allow in edges:
        (x0, y0, _), (x1, y1, _) = junctions[u], junctions[v]
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        allowed = f' allow="{allow}"' if allow else ""
        lines += [
            f'    <edge id="{edge}" from="{u}" to="{v}" priority="1">',
            f'        <lane id="{edge}_0" index="0"{allowed} speed="10.00" length="{length:.2f}" '
            f'shape="{x0},{y0} {x1},{y1}"/>',
            "    </edge>",
        ]
    lines += [f'    <junction id="{j}" type="{t}" x="{x}" y="{y}"/>' for j, (x, y, t) in junctions.items()]
    lines += [
        f'    <connection from="{a}" to="{b}" fromLane="0" toLane="0" dir="{d}"/>' for a, b, d in connections
    ]
    return "\n".join([*lines, "</net>"])


def test_the_largest_connected_part_is_kept_with_its_one_way_entries_and_exits(tmp_path):
    junctions = {
        "A": (0, 0, "priority"), "B": (100, 0, "priority"), "C": (200, 0, "priority"),
        "S": (100, -100, "dead_end"), "T": (100, 100, "dead_end"), "K": (100, -300, "dead_end"),
        "I": (500, 0, "priority"), "J": (600, 0, "priority"),
    }  # fmt: skip
    edges = [
        ("AB", "A", "B", None), ("BA", "B", "A", None), ("BC", "B", "C", None), ("CB", "C", "B", None),
        ("SB", "S", "B", None), ("BT", "B", "T", None), ("SK", "S", "K", "bicycle"),
        ("IJ", "I", "J", None), ("JI", "J", "I", None),
    ]  # fmt: skip
    connections = [
        ("AB", "BC", "s"), ("AB", "BT", "l"), ("CB", "BA", "s"), ("CB", "BT", "r"),
        ("SB", "BA", "l"), ("SB", "BC", "r"), ("BA", "AB", "t"), ("BC", "CB", "t"),
        ("IJ", "JI", "t"), ("JI", "IJ", "t"),
    ]  # fmt: skip
    path = tmp_path / "parts.net.xml"
    path.write_text(sumo_net_text(junctions, edges, connections))
    network = read_sumo_net(path)
    assert sorted(network.graph) == ["A", "B", "C", "S", "T"]
    assert sorted(network.edges) == ["AB", "BA", "BC", "BT", "CB", "SB"]
    report = network.report
    assert (report.dropped_nodes, report.dropped_edges, report.dropped_length_m) == (2, 2, 200.0)
    assert report.edges_closed == {"bicycle": 1}
    assert sorted(n for n, kind in network.graph.nodes(data="kind") if kind == "fringe") == list("ACST")
    assert network.graph.edges["A", "B"]["turns"] == {"C": [0, 0], "T": [0, 0]}
    assert report.banned_turns == 1  # S -> B -> T
    assert "2 nodes, 2 edges, 0.20 km" in report.summary()


def test_a_parallel_edge_is_split_and_its_route_can_be_driven(tmp_path):
    junctions = {"A": (0, 0, "dead_end"), "B": (100, 0, "priority"), "C": (200, 0, "dead_end")}
    edges = [
        ("AB", "A", "B", None), ("AB2", "A", "B", None), ("BA", "B", "A", None),
        ("BC", "B", "C", None), ("CB", "C", "B", None),
    ]  # fmt: skip
    connections = [("AB", "BC", "s"), ("AB2", "BC", "s"), ("CB", "BA", "s")]
    path = tmp_path / "parallel.net.xml"
    path.write_text(sumo_net_text(junctions, edges, connections))
    network = read_sumo_net(path)
    assert network.edges["AB2"] == (("A", "AB2#1"), ("AB2#1", "B"))
    turns = nx.get_edge_attributes(network.graph, "turns")
    assert turns["A", "AB2#1"] == {"B": [0, 0]} and turns["AB2#1", "B"] == {"C": [0, 0]}
    net = compile_network(network.graph)
    route = net.route_edges(["A", "AB2#1", "B", "C"])
    assert net.route_conns(route).tolist()[-1] == -1 and (net.route_conns(route)[:-1] >= 0).all()
    assert network.report.split_nodes == 1 and network.report.turns == 3


def test_od_pairs_of_a_one_way_corridor_follow_the_traffic():
    graph = nx.DiGraph(name="corridor")
    for i, kind in enumerate(["fringe", "intersection", "fringe"]):
        graph.add_node(f"n{i}", x=100.0 * i, y=0.0, signalized=False, kind=kind)
    for i in range(2):
        graph.add_edge(f"n{i}", f"n{i + 1}", length_m=100.0, lanes=1, speed_mps=10.0)
    assert drivable_fringe_pairs(graph) == [("n0", "n2")]


# ----- export, re-import and the shipped examples ----------------------------------------------
def test_an_exported_grid5_reimported_is_the_same_graph_and_plans(sumo_tools, tmp_path):
    graph = load_network_json(BENCH / "grid5" / "network.json")
    timings = timings_for(graph, greens=(25.0, 35.0), offset_s=10.0)
    sumo_tools.build_net(graph, tmp_path / "grid5.net.xml", timings)
    back = read_sumo_net(tmp_path / "grid5.net.xml")
    assert back.graph.graph["name"] == "grid5"
    without_plans = {
        node: {k: v for k, v in attrs.items() if k not in ("signal_plan", "junction")}
        for node, attrs in back.graph.nodes(data=True)
    }
    assert without_plans == dict(graph.nodes(data=True))
    assert {
        back.graph.nodes[n]["junction"] for n, signalized in graph.nodes(data="signalized") if signalized
    } == {"traffic_light"}
    assert phase_movements(compile_network(back.graph)) == phase_movements(compile_network(graph))
    assert {
        (u, v): {k: x for k, x in d.items() if k not in ("turns", "priority")}
        for u, v, d in back.graph.edges(data=True)
    } == {(u, v): d for u, v, d in graph.edges(data=True)}
    # a graph without priorities ranks its roads by speed, then lanes: 50 km/h and 1 lane
    assert {d["priority"] for *_, d in back.graph.edges(data=True)} == {501}
    # the same turns from the same lanes, the U-turns at the dead ends included
    assert movements(compile_network(back.graph)) == movements(compile_network(graph))
    assert {node: tuple(plan[key] for key in TIMING_KEYS) for node, plan in back.plans.items()} == {
        node: ([25.0, 35.0], [3.0, 3.0], [0.0, 0.0], 10.0) for node in timings
    }
    assert back.report.banned_turns == 0
    assert back.edges["n0_0-n1_0"] == (("n0_0", "n1_0"),)


def test_the_edge_priority_of_a_sumo_net_is_kept(tmp_path):
    assert read_sumo_net(SMALL).graph.edges["C", "P"]["priority"] == 3
    path = edited_small_net(
        tmp_path,
        ('<edge id="W2C" from="W" to="C" priority="3">', '<edge id="W2C" from="W" to="C" priority="-7">'),
    )
    graph = read_sumo_net(path).graph
    assert graph.edges["W", "C"]["priority"] == -7
    assert all(type(p) is int for *_, p in graph.edges(data="priority"))


def built_junctions(net_path):
    """SUMO type of every junction of a built net (internal ones aside), and its roundabouts."""
    root = ET.parse(net_path).getroot()
    types = {j.get("id"): j.get("type") for j in root.iter("junction") if j.get("type") != "internal"}
    rings = [(r.get("nodes").split(), r.get("edges").split()) for r in root.iter("roundabout")]
    return types, rings


def test_priorities_and_junction_controls_survive_export_and_import(sumo_tools, tmp_path):
    graph = grid(3, 2, junction="stop")
    graph.nodes["n1_0"]["junction"] = "left_before_right"
    graph.nodes["n1_1"]["junction"] = "allway_stop"
    sumo_tools.build_net(graph, tmp_path / "stop.net.xml", {})
    types, rings = built_junctions(tmp_path / "stop.net.xml")
    assert (types["n0_0"], types["n1_0"], types["n1_1"]) == (
        "priority_stop",
        "left_before_right",
        "allway_stop",
    )
    assert rings == []
    back = read_sumo_net(tmp_path / "stop.net.xml").graph
    assert nx.get_edge_attributes(back, "priority") == nx.get_edge_attributes(graph, "priority")
    assert set(nx.get_edge_attributes(graph, "priority").values()) == {1, 2}
    assert {n: back.nodes[n]["junction"] for n, j in graph.nodes(data="junction") if j} == {
        n: j for n, j in graph.nodes(data="junction") if j
    }


def test_an_edge_without_priority_ranks_0_beside_ranked_ones(sumo_tools, tmp_path):
    graph = grid(2, 2, signalized=False)
    del graph.edges["n0_0", "n1_0"]["priority"]
    plain = [tmp_path / name for name in ("n.nod.xml", "e.edg.xml", "c.con.xml")]
    sumo_tools.write_plain_xml(graph, *plain, ExportOptions())
    priority = {e.get("id"): e.get("priority") for e in ET.parse(plain[1]).getroot().iter("edge")}
    assert (priority["n0_0-n1_0"], priority["n1_0-n0_0"], priority["n0_0-n0_1"]) == ("0", "2", "1")


def test_a_roundabout_exports_as_a_sumo_roundabout(sumo_tools, tmp_path):
    graph = roundabout(4)
    sumo_tools.build_net(graph, tmp_path / "rb.net.xml", {})
    types, rings = built_junctions(tmp_path / "rb.net.xml")
    assert {types[n] for n in ("cE", "cN", "cW", "cS")} == {"priority"}
    assert rings == [(["cE", "cN", "cS", "cW"], ["cE-cN", "cN-cW", "cS-cE", "cW-cS"])]
    root = ET.parse(tmp_path / "rb.net.xml").getroot()
    state = {(c.get("from"), c.get("to")): c.get("state") for c in root.iter("connection")}
    assert state["E-cE", "cE-cN"] == "m" and state["cS-cE", "cE-cN"] == "M"  # entries yield to the ring
    back = read_sumo_net(tmp_path / "rb.net.xml")
    assert {n: back.graph.nodes[n]["junction"] for n in ("cE", "cN", "cW", "cS")} == dict.fromkeys(
        ("cE", "cN", "cW", "cS"), "roundabout"
    )
    assert back.report.banned_turns == 0
    assert movements(compile_network(back.graph)) == movements(compile_network(graph))


def test_a_grid_of_roundabouts_exports_one_sumo_roundabout_per_intersection(sumo_tools, tmp_path):
    graph = grid(2, 2, junction="roundabout")
    sumo_tools.build_net(graph, tmp_path / "rb.net.xml", {})
    _, rings = built_junctions(tmp_path / "rb.net.xml")
    assert [nodes for nodes, _ in rings] == [
        [f"n{c}_{r}{d}" for d in "ENSW"] for c in range(2) for r in range(2)
    ]
    assert all(len(edges) == 4 for _, edges in rings)


def test_a_gzipped_net_reads_the_same(sumo_tools, tmp_path):
    graph = grid(2, 2)
    sumo_tools.build_net(graph, tmp_path / "g.net.xml", timings_for(graph))
    (tmp_path / "g.net.xml.gz").write_bytes(gzip.compress((tmp_path / "g.net.xml").read_bytes()))
    plain, packed = read_sumo_net(tmp_path / "g.net.xml"), read_sumo_net(tmp_path / "g.net.xml.gz")
    assert list(packed.graph.edges(data=True)) == list(plain.graph.edges(data=True))


def test_export_needs_a_timing_per_signal_and_sumo_safe_ids(sumo_tools, tmp_path):
    graph = grid(2, 2)
    with pytest.raises(InteropError, match="signalized node 'n0_0' has no signal timing"):
        sumo_tools.build_net(graph, tmp_path / "g.net.xml", {})
    bad = nx.relabel_nodes(graph, {"n0_0": "n0 0"})
    with pytest.raises(InteropError, match="node id 'n0 0' cannot be a SUMO id"):
        sumo_tools.build_net(bad, tmp_path / "g.net.xml", timings_for(bad))
    with pytest.raises(InteropError, match="ExportOptions.unsignalized"):
        ExportOptions(unsignalized="zipper")


def test_sumo_ships_examples():
    if not sumo_examples():
        pytest.skip("eclipse-sumo is not installed")
    assert len(sumo_examples()) >= 20


@pytest.mark.parametrize("path", sumo_examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sumo_example_imports_and_runs_ten_minutes_without_gridlock(path, tmp_path):
    if path.name in NOT_FOR_CARS and NOT_FOR_CARS[path.name] in str(path):
        with pytest.raises(InteropError, match="no edge has a lane open to vehicle class 'passenger'"):
            read_sumo_net(path)
        return
    network = read_sumo_net(path)
    save_network_json(network.graph, tmp_path / "network.json")
    write_od_matrix(network.graph, tmp_path / "od.csv", rate_vph=300.0)
    scenario = scenario_from_dict(
        {
            "name": path.name,
            "network": {"type": "file", "path": str(tmp_path / "network.json")},
            "demand": {"type": "matrix", "matrix": str(tmp_path / "od.csv"), "duration_s": 600.0},
            "simulation": {"max_time_s": 600.0, "gridlock_s": 120.0},
        }
    )
    model = CityModel(scenario).run()
    assert model.time_s == pytest.approx(600.0)
    assert model.recorder.gridlock == [] and model.recorder.stalled_at_s is None
    # The game nets (corridor, A10KW) hold each green ~10000 s, for the player to switch; run
    # as SUMO's own plan, the approaches on red wait the whole ten minutes.
    held = any(program.cycle_s > 600.0 for program in network.programs.values())
    assert model.traffic.n_arrived >= (0.25 if held else 0.6) * len(model.trips) > 0


def test_an_imported_net_runs_its_own_sumo_program(tmp_path):
    path = next((p for p in sumo_examples() if p.name == "cross.net.xml"), None)
    if path is None:
        pytest.skip("eclipse-sumo is not installed")
    network = read_sumo_net(path)
    (program,) = network.programs.values()
    assert program.cycle_s == 90.0 and len(program.phases) == 8
    plan = network.graph.nodes["0"]["signal_plan"]
    assert tuple(plan[key] for key in TIMING_KEYS) == ([33.0, 6.0, 33.0, 6.0], [3.0] * 4, [0.0] * 4, 0.0)
    save_network_json(network.graph, tmp_path / "network.json")
    write_od_matrix(network.graph, tmp_path / "od.csv", rate_vph=300.0)
    scenario = scenario_from_dict(
        {
            "name": "cross",
            "network": {"type": "file", "path": str(tmp_path / "network.json")},
            "demand": {"type": "matrix", "matrix": str(tmp_path / "od.csv"), "duration_s": 600.0},
            "signals": {"green_s": 20.0, "yellow_s": 4.0, "all_red_s": 2.0},
            "simulation": {"max_time_s": 600.0, "dt_s": 1.0},
        }
    )
    model = CityModel(scenario)
    net = model.net
    assert net.phase_axis == ("plan",) * 4
    assert [len(movements) for movements in phase_movements(net)["0"]] == [6, 2, 6, 2]
    states = []
    while model.time_s < 600.0:
        model.step()
        states.append(model.traffic.conn_state.copy())
    states = np.array(states)
    period = next(p for p in range(1, 300) if (states[p:] == states[:-p]).all())
    assert period == program.cycle_s
    assert model.recorder.gridlock == [] and model.traffic.n_arrived > 0.6 * len(model.trips)


# ----- validation ---------------------------------------------------------------------------
def small_scenario(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(
        'name = "small"\n[network]\ntype = "grid"\nrows = 3\ncols = 3\n'
        '[demand]\ntype = "uniform"\nrate_vph = 900.0\nduration_s = 600.0\n'
        "[signals]\ngreen_s = 25.0\nyellow_s = 3.0\nall_red_s = 1.0\noffset_s = 7.0\n",
        encoding="utf-8",
    )
    return path


def test_citysim_agrees_with_sumo_on_a_small_grid(sumo_tools, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["validate", "--against", "sumo", str(small_scenario(tmp_path)), "--out", str(out), "--quiet"]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "vehicles completed" in printed and "per-link flow correlation" in printed
    assert "agreement: completed, travel_time and delay within tolerance" in printed
    summary = json.loads((out / "validation.json").read_text())
    assert summary["agreement"] is True and summary["failing"] == []
    assert list(summary["judged"]) == ["completed", "travel_time", "delay"]
    assert abs(summary["ratios"]["completed"] - 1) <= 0.02
    assert abs(summary["ratios"]["mean_travel_time_s"] - 1) <= 0.15
    assert abs(summary["ratios"]["mean_delay_s"] - 1) <= 0.25
    assert summary["flow_correlation"] > 0.95
    assert summary["sumo"]["trips"] == summary["citysim"]["trips"] > 100
    for name in ("network.net.xml", "routes.rou.xml", "links.csv", "agreement.csv", "link_speeds.png"):
        assert (out / name).is_file()


def test_validation_needs_fixed_time_signals(sumo_tools, tmp_path, monkeypatch, capsys):
    from sim.control.fixed_time import FixedTimeController
    from sim.interop import validate

    monkeypatch.setattr(validate, "FixedTimeController", type("Other", (FixedTimeController,), {}))
    code = main(
        ["validate", "--against", "sumo", str(small_scenario(tmp_path)), "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "validation against SUMO needs fixed-time signals" in capsys.readouterr().err
