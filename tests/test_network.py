import json
import math
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import sim
from sim.model import CityModel
from sim.network import build_network
from sim.network.builders import LATTICE_JUNCTIONS, arterial, grid, ring, roundabout
from sim.network.compile import compile_network
from sim.network.graph import EDGE_ATTRIBUTES, OPTIONAL_EDGE_ATTRIBUTES, NetworkError
from sim.network.io import (
    load_graphml,
    load_network,
    load_network_json,
    save_graphml,
    save_network_json,
)
from sim.network.validate import validate_network
from sim.scenario import scenario_from_dict
from sim.traffic.codes import GREEN, TURN_RIGHT

BENCH = Path(sim.__file__).parent / "data" / "bench"


def fringe_nodes(graph):
    return [node for node, kind in graph.nodes(data="kind") if kind == "fringe"]


def assert_same_network(a, b):
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(data=True)) == list(b.edges(data=True))


def assert_fringe_strongly_connected(graph):
    fringe = fringe_nodes(graph)
    assert len(fringe) >= 2
    for origin in fringe:
        reachable = nx.descendants(graph, origin)
        assert set(fringe) - {origin} <= reachable, origin


# --- builders ------------------------------------------------------------------------------


def test_grid5_equals_benchmark_json_file():
    raw = json.loads((BENCH / "grid5" / "network.json").read_text())
    built = grid(5, 5)
    assert built.graph["name"] == raw["name"] == "grid5"
    assert {n["id"]: (n["x"], n["y"], n["kind"], n["signalized"]) for n in raw["nodes"]} == {
        node: (a["x"], a["y"], a["kind"], a["signalized"]) for node, a in built.nodes(data=True)
    }
    assert {(e["from"], e["to"]): (e["length"], e["lanes"], e["speed"]) for e in raw["edges"]} == {
        (u, v): (a["length_m"], a["lanes"], a["speed_mps"]) for u, v, a in built.edges(data=True)
    }
    loaded = load_network(BENCH / "grid5" / "network.json")
    assert_same_network(loaded, built)
    assert loaded.graph == built.graph


@pytest.mark.parametrize(("scenario", "n"), [("grid10", 10), ("grid20", 20), ("grid20_R12000", 20)])
def test_grid_equals_every_benchmark_network(scenario, n):
    assert_same_network(load_network_json(BENCH / scenario / "network.json"), grid(n, n))


@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (2, 4), (3, 3), (5, 5), (10, 10)])
def test_grid_counts(rows, cols):
    graph = grid(rows, cols)
    intersections = rows * cols
    assert len(fringe_nodes(graph)) == 2 * (rows + cols)
    assert graph.number_of_nodes() == intersections + 2 * (rows + cols)
    two_way_links = rows * (cols - 1) + cols * (rows - 1) + 2 * (rows + cols)
    assert graph.number_of_edges() == 2 * two_way_links
    if rows == cols:
        assert len(fringe_nodes(graph)) == 4 * rows
        assert graph.number_of_edges() == 4 * rows * (rows + 1)


def test_every_grid_intersection_has_four_legs_one_per_compass_direction():
    graph = grid(4, 3)
    for node, kind in graph.nodes(data="kind"):
        x, y = graph.nodes[node]["x"], graph.nodes[node]["y"]
        if kind == "fringe":
            assert graph.out_degree(node) == graph.in_degree(node) == 1
            assert graph.nodes[node]["signalized"] is False
            continue
        assert set(graph.successors(node)) == set(graph.predecessors(node))
        offsets = {(graph.nodes[m]["x"] - x, graph.nodes[m]["y"] - y) for m in graph.successors(node)}
        assert offsets == {(200.0, 0.0), (-200.0, 0.0), (0.0, 200.0), (0.0, -200.0)}
        assert graph.nodes[node]["signalized"] is True


def test_grid_parameters_reach_every_link():
    graph = grid(2, 3, block_m=150, lanes=2, speed_mps=10, signalized=False, name="mine")
    validate_network(graph)
    assert graph.graph["name"] == "mine"
    assert graph.nodes["n2_1"]["x"] == 450.0 and isinstance(graph.nodes["n2_1"]["x"], float)
    assert graph.nodes["N2"]["y"] == 450.0
    assert not any(signalized for _, signalized in graph.nodes(data="signalized"))
    assert {(a["length_m"], a["lanes"], a["speed_mps"]) for *_, a in graph.edges(data=True)} == {
        (150.0, 2, 10.0)
    }


def test_grid_without_fringe_stubs_uses_boundary_intersections_as_fringe():
    graph = grid(3, 3, fringe=False)
    validate_network(graph)
    assert graph.number_of_nodes() == 9
    assert sorted(fringe_nodes(graph)) == sorted(
        f"n{c}_{r}" for r in range(3) for c in range(3) if (c, r) != (1, 1)
    )
    assert graph.nodes["n1_1"]["kind"] == "intersection"


def test_arterial_is_valid_and_has_main_and_side_streets():
    graph = arterial(4, block_m=250.0, side_street_m=120.0)
    validate_network(graph)
    assert_fringe_strongly_connected(graph)
    assert graph.graph["name"] == "arterial4"
    assert sorted(fringe_nodes(graph)) == sorted(
        ["W0", "E0"] + [f"S{i}" for i in range(4)] + [f"N{i}" for i in range(4)]
    )
    main = graph.edges["n1_0", "n2_0"]
    assert (main["length_m"], main["lanes"], main["speed_mps"]) == (250.0, 2, 13.89)
    side = graph.edges["n1_0", "N1"]
    assert (side["length_m"], side["lanes"], side["speed_mps"]) == (120.0, 1, 11.11)
    assert graph.edges["W0", "n0_0"]["lanes"] == 2
    for i in range(4):
        assert graph.out_degree(f"n{i}_0") == graph.in_degree(f"n{i}_0") == 4
        assert graph.nodes[f"n{i}_0"]["signalized"] is True


def test_ring_is_valid_one_way_and_one_circumference_long():
    graph = ring(8, radius_m=300.0, stub_m=50.0)
    validate_network(graph)
    assert_fringe_strongly_connected(graph)
    assert graph.graph["name"] == "ring8"
    ring_links = [(u, v) for u, v in graph.edges if u.startswith("r") and v.startswith("r")]
    assert len(ring_links) == 8
    assert not any(graph.has_edge(v, u) for u, v in ring_links)
    total_m = sum(graph.edges[link]["length_m"] for link in ring_links)
    assert total_m == pytest.approx(2 * math.pi * 300.0)
    assert len(fringe_nodes(graph)) == 8
    assert math.hypot(graph.nodes["f3"]["x"], graph.nodes["f3"]["y"]) == pytest.approx(350.0)
    assert not any(signalized for _, signalized in graph.nodes(data="signalized"))


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: grid(0, 3), "rows must be an integer >= 1, got 0"),
        (lambda: grid(2, 2, block_m=-1.0), "block_m must be a finite number > 0, got -1.0"),
        (lambda: grid(2, 2, lanes=True), "lanes must be an integer >= 1, got True"),
        (lambda: grid(1, 1, fringe=False), "at least 2 intersections"),
        (lambda: arterial(3, speed_side_mps=float("nan")), "speed_side_mps must be a finite number > 0"),
        (lambda: ring(2), "n_nodes must be an integer >= 3, got 2"),
    ],
)
def test_builders_reject_bad_parameters(build, expected):
    with pytest.raises(NetworkError, match=expected):
        build()


# --- io --------------------------------------------------------------------------------------


def with_capacity(graph):
    graph.edges["n0_0", "n1_0"]["capacity_vph"] = 1800.0
    return graph


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
@pytest.mark.parametrize("build", [lambda: with_capacity(grid(3, 2)), lambda: arterial(3), lambda: ring(5)])
def test_round_trip_preserves_network_and_types(tmp_path, suffix, build):
    graph = build()
    path = tmp_path / f"net{suffix}"
    (save_network_json if suffix == ".json" else save_graphml)(graph, path)
    loaded = load_network(path)
    assert_same_network(loaded, graph)
    assert loaded.graph == graph.graph
    for _, attrs in loaded.nodes(data=True):
        assert type(attrs["x"]) is float and type(attrs["y"]) is float
        assert type(attrs["signalized"]) is bool
    for *_, attrs in loaded.edges(data=True):
        assert type(attrs["lanes"]) is int
        assert type(attrs["length_m"]) is float and type(attrs["speed_mps"]) is float


def test_saving_converts_numpy_scalars(tmp_path):
    graph = grid(2, 2)
    graph.edges["n0_0", "n1_0"]["length_m"] = np.float64(180.0)
    graph.edges["n0_0", "n1_0"]["lanes"] = np.int64(2)
    graph.nodes["n0_0"]["signalized"] = np.bool_(False)
    save_network_json(graph, tmp_path / "net.json")
    save_graphml(graph, tmp_path / "net.graphml")
    for name in ("net.json", "net.graphml"):
        loaded = load_network(tmp_path / name)
        assert loaded.edges["n0_0", "n1_0"] == {"length_m": 180.0, "lanes": 2, "speed_mps": 13.89}
        assert loaded.nodes["n0_0"]["signalized"] is False


def test_saving_an_invalid_network_raises_and_writes_nothing(tmp_path):
    graph = grid(2, 2)
    graph.edges["n0_0", "n1_0"]["lanes"] = 0
    with pytest.raises(NetworkError, match="'lanes' must be an integer >= 1"):
        save_network_json(graph, tmp_path / "net.json")
    assert not (tmp_path / "net.json").exists()


def tiny_network():
    return {
        "name": "tiny",
        "nodes": [
            {"id": "a", "x": 0, "y": 0, "kind": "fringe", "signalized": False},
            {"id": "b", "x": 100, "y": 0, "kind": "fringe", "signalized": False},
        ],
        "edges": [
            {"id": "a-b", "from": "a", "to": "b", "length": 100, "lanes": 1, "speed": 10},
            {"from": "b", "to": "a", "length": 100.0, "lanes": 1, "speed": 10.0, "axis": "EW"},
        ],
        "signal": {"ignored": True},
    }


def write_json(tmp_path, data):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def test_json_loader_converts_integers_and_drops_ids_and_axis(tmp_path):
    graph = load_network_json(write_json(tmp_path, tiny_network()))
    assert graph.graph == {"name": "tiny"}
    assert graph.nodes["b"] == {"x": 100.0, "y": 0.0, "signalized": False, "kind": "fringe"}
    assert type(graph.nodes["b"]["x"]) is float
    assert graph.edges["b", "a"] == {"length_m": 100.0, "lanes": 1, "speed_mps": 10.0}


def test_json_name_defaults_to_file_stem(tmp_path):
    data = tiny_network()
    del data["name"]
    assert load_network_json(write_json(tmp_path, data)).graph["name"] == "net"


def break_json(change):
    def broken():
        data = tiny_network()
        change(data)
        return data

    return broken


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (break_json(lambda d: d["nodes"][1].pop("kind")), "nodes[1] (id 'b'): missing key 'kind'"),
        (break_json(lambda d: d["edges"][1].pop("speed")), "edges[1]: missing key 'speed'"),
        (
            break_json(lambda d: d["edges"][0].update(capcity=900)),
            "edges[0] (id 'a-b'): unknown key 'capcity'",
        ),
        (break_json(lambda d: d.pop("nodes")), "missing or invalid key 'nodes': expected a list"),
        (
            break_json(lambda d: d["edges"][0].update(to="zz")),
            "edges[0] (id 'a-b'): key 'to' must name a node",
        ),
        (
            break_json(lambda d: d["nodes"][1].update(id="a")),
            "nodes[1] (id 'a'): key 'id' must be a unique string",
        ),
        (
            break_json(lambda d: d["edges"][1].update({"from": "a", "to": "b"})),
            "edges[1]: duplicate edge 'a' -> 'b'",
        ),
        (
            break_json(lambda d: d["edges"][0].update(length=-3)),
            "edge 'a' -> 'b': attribute 'length_m' must be a finite number > 0",
        ),
        (lambda: [1, 2], "expected a JSON object at the top level, got list"),
    ],
)
def test_json_loader_names_file_item_and_key(tmp_path, broken, expected):
    path = write_json(tmp_path, broken())
    with pytest.raises(NetworkError) as error:
        load_network_json(path)
    assert str(error.value).startswith(f"{path}: ")
    assert expected in str(error.value)
    assert error.value.source == str(path)


def test_malformed_json_reports_line_and_column(tmp_path):
    path = tmp_path / "net.json"
    path.write_text('{\n "nodes": [],\n "edges": [,]\n}\n')
    with pytest.raises(NetworkError, match=r"net\.json: invalid JSON at line 3, column 12"):
        load_network(path)


def test_malformed_graphml_reports_line(tmp_path):
    path = tmp_path / "net.graphml"
    path.write_text('<graphml>\n<graph edgedefault="directed">\n<node id="a">\n</graph></graphml>\n')
    with pytest.raises(NetworkError, match=r"net\.graphml: invalid XML at line 4"):
        load_graphml(path)


def test_undirected_graphml_is_rejected(tmp_path):
    path = tmp_path / "net.graphml"
    nx.write_graphml(nx.Graph(grid(2, 2)), path)
    with pytest.raises(NetworkError, match="expected a directed graph"):
        load_network(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(NetworkError, match=r"nope\.json: file not found"):
        load_network(tmp_path / "nope.json")
    with pytest.raises(NetworkError, match=r"nope\.graphml: file not found"):
        load_network(tmp_path / "nope.graphml")
    with pytest.raises(
        NetworkError, match=r"unknown network file suffix '\.xml'; expected one of \.json, \.graphml"
    ):
        load_network(tmp_path / "net.xml")


# --- validation ------------------------------------------------------------------------------


def set_node(node, key, value):
    return lambda g: g.nodes[node].__setitem__(key, value)


def set_edge(u, v, key, value):
    return lambda g: g.edges[u, v].__setitem__(key, value)


def add_stranded_fringe(count):
    def change(graph):
        for i in range(count):
            graph.add_node(f"Z{i}", x=-1.0, y=float(i), signalized=False, kind="fringe")
            graph.add_node(f"Y{i}", x=-2.0, y=float(i), signalized=False, kind="intersection")
            graph.add_edge(f"Z{i}", f"Y{i}", length_m=1.0, lanes=1, speed_mps=1.0)
            graph.add_edge(f"Y{i}", f"Z{i}", length_m=1.0, lanes=1, speed_mps=1.0)

    return change


ALLOWED_EDGE = ", ".join(EDGE_ATTRIBUTES + OPTIONAL_EDGE_ATTRIBUTES)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda g: g.clear(), "network has no nodes"),
        (lambda g: g.remove_edges_from(list(g.edges)), "network has no edges"),
        (
            lambda g: g.nodes["n0_0"].pop("x"),
            "node 'n0_0': missing attribute 'x' (expected a finite number (metres))",
        ),
        (
            set_node("n1_0", "y", float("nan")),
            "node 'n1_0': attribute 'y' must be a finite number (metres), got nan",
        ),
        (
            set_node("n1_0", "x", "200"),
            "node 'n1_0': attribute 'x' must be a finite number (metres), got '200'",
        ),
        (
            set_node("W0", "kind", "depot"),
            "node 'W0': attribute 'kind' must be one of 'intersection', 'fringe', got 'depot'",
        ),
        (set_node("W0", "signalized", 1), "node 'W0': attribute 'signalized' must be a bool, got 1"),
        (
            set_node("W0", "color", "red"),
            "node 'W0': unknown attribute 'color'; allowed: x, y, signalized, kind",
        ),
        (
            set_edge("n0_0", "n1_0", "length_m", 0.0),
            "edge 'n0_0' -> 'n1_0': attribute 'length_m' must be a finite number > 0 and <= 100000 (metres), "
            "got 0.0",
        ),
        (
            set_edge("n0_0", "n1_0", "length_m", -5.0),
            "attribute 'length_m' must be a finite number > 0 and <= 100000 (metres), got -5.0",
        ),
        (
            set_edge("n0_0", "n1_0", "speed_mps", float("inf")),
            "attribute 'speed_mps' must be a finite number > 0 and <= 70 (metres per second), got inf",
        ),
        (
            set_edge("n0_0", "n1_0", "lanes", 0),
            "edge 'n0_0' -> 'n1_0': attribute 'lanes' must be an integer >= 1 and <= 16, got 0",
        ),
        (
            set_edge("n0_0", "n1_0", "lanes", 1.5),
            "attribute 'lanes' must be an integer >= 1 and <= 16, got 1.5",
        ),
        (
            set_edge("n0_0", "n1_0", "capacity_vph", -1.0),
            "attribute 'capacity_vph' must be a finite number > 0 (vehicles per hour)",
        ),
        (
            set_edge("n0_0", "n1_0", "axis", "EW"),
            f"edge 'n0_0' -> 'n1_0': unknown attribute 'axis'; allowed: {ALLOWED_EDGE}",
        ),
        (
            lambda g: g.edges["n0_0", "n1_0"].pop("speed_mps"),
            "edge 'n0_0' -> 'n1_0': missing attribute 'speed_mps'",
        ),
        (
            lambda g: g.add_edge("n0_0", "n0_0", length_m=1.0, lanes=1, speed_mps=1.0),
            "edge 'n0_0' -> 'n0_0' is a self-loop",
        ),
        (
            lambda g: nx.set_node_attributes(g, "intersection", "kind"),
            "network has no fringe nodes (kind='fringe')",
        ),
        (
            add_stranded_fringe(1),
            "1 fringe node(s) can neither reach nor be reached from any other fringe node: 'Z0';",
        ),
        (
            add_stranded_fringe(12),
            "12 fringe node(s) can neither reach nor be reached from any other fringe node: 'Z0', 'Z1'",
        ),
        (lambda g: g.graph.update(name=5), "graph attribute 'name' must be a str, got 5"),
    ],
)
def test_validation_errors_name_element_and_expectation(change, expected):
    graph = grid(2, 2)
    change(graph)
    with pytest.raises(NetworkError) as error:
        validate_network(graph, source="city.json")
    assert str(error.value).startswith("city.json: ")
    assert expected in str(error.value)


def test_stranded_list_is_capped():
    graph = grid(2, 2)
    add_stranded_fringe(12)(graph)
    with pytest.raises(NetworkError, match=r"'Z9' and 2 more; expected every fringe node"):
        validate_network(graph)


def test_one_way_fringe_entries_and_exits_are_allowed():
    graph = grid(2, 2)
    graph.remove_edge("n0_0", "W0")  # W0 becomes an entry only
    graph.remove_edge("E1", "n1_1")  # E1 becomes an exit only
    validate_network(graph)


def test_fringe_nodes_connected_only_to_each_other_are_valid():
    graph = grid(2, 2)
    add_stranded_fringe(1)(graph)
    graph.nodes["Y0"]["kind"] = "fringe"
    validate_network(graph)


def test_multigraph_is_rejected():
    with pytest.raises(NetworkError, match="expected a networkx.DiGraph, got MultiDiGraph"):
        validate_network(nx.MultiDiGraph(grid(2, 2)))


def test_a_sharp_turn_onto_another_road_is_drivable_but_a_u_turn_is_not():
    from sim.network.compile import compile_network
    from sim.traffic.codes import TURN_RIGHT

    g = nx.DiGraph(name="sharp")
    for node, x, y, kind in (("a", 0.0, 0.0, "fringe"), ("b", 100.0, 0.0, "intersection"),
                             ("c", 10.0, -15.0, "fringe"), ("d", 200.0, 0.0, "fringe")):  # fmt: skip
        g.add_node(node, x=x, y=y, kind=kind, signalized=False)
    for u, v in (("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("b", "d"), ("d", "b")):
        g.add_edge(u, v, length_m=100.0, lanes=1, speed_mps=10.0)
    net = compile_network(g)
    ab, bc, ba = (net.edge_index[e] for e in (("a", "b"), ("b", "c"), ("b", "a")))
    assert net.conn_turn[net.conn_index[(ab, bc)]] == TURN_RIGHT  # about 171 degrees, onto another road
    assert (ab, ba) not in net.conn_index  # straight back: a U-turn, and b has other exits


# --- signal plans ----------------------------------------------------------------------------

LEGS = ("S0", "N0", "E0", "W0")


def moves(*origins):
    return [[a, b] for a in origins for b in LEGS if b != a]


def planned_crossing():
    """grid(1, 1) whose signal runs its own three phases: north-south, then east, then west."""
    graph = grid(1, 1)
    graph.nodes["n0_0"]["signal_plan"] = {
        "phases": [moves("S0", "N0"), moves("E0"), moves("W0")],
        "greens_s": [20.0, 10.0, 15.0],
        "yellow_s": 3.0,
        "all_red_s": 2.0,
        "offset_s": 0.0,
    }
    return graph


def phase_movements(net, phase):
    conns = net.phase_conns[net.phase_conn_ptr[phase] : net.phase_conn_ptr[phase + 1]].tolist()
    return {(net.edge_keys[net.conn_from[c]][0], net.edge_keys[net.conn_to[c]][1]) for c in conns}


def test_a_signal_plan_replaces_the_geometric_phases():
    net = compile_network(planned_crossing())
    assert net.phase_axis == ("plan", "plan", "plan")
    assert [phase_movements(net, p) for p in range(3)] == [
        {tuple(m) for m in moves(*origins)} for origins in (("S0", "N0"), ("E0",), ("W0",))
    ]
    assert compile_network(grid(1, 1)).phase_axis == ("NS", "EW")


def test_the_kernel_gives_each_planned_phase_green_for_its_green_time(tmp_path):
    save_network_json(planned_crossing(), tmp_path / "network.json")
    scenario = scenario_from_dict(
        {
            "name": "planned",
            "network": {"type": "file", "path": str(tmp_path / "network.json")},
            "demand": {"type": "uniform", "rate_vph": 300.0, "duration_s": 200.0},
            "signals": {"green_s": 40.0, "yellow_s": 4.0, "all_red_s": 0.0, "min_green_s": 12.0},
            "simulation": {"max_time_s": 200.0, "dt_s": 1.0},
        }
    )
    model = CityModel(scenario)
    net = model.net
    members = [net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]] for p in range(3)]
    green = []
    for _ in range(180):
        model.step()
        green.append([bool((model.traffic.conn_state[m] == GREEN).all()) for m in members])
    green = np.array(green)
    assert not (green.sum(axis=1) > 1).any(), "two planned phases green at once"
    for p, green_s in enumerate((20.0, 10.0, 15.0)):
        starts = np.flatnonzero(np.diff(green[:, p].astype(int)) == 1) + 1
        ends = np.flatnonzero(np.diff(green[:, p].astype(int)) == -1) + 1
        runs = [end - start for start in starts for end in ends[ends > start][:1]]
        assert runs and all(run == green_s for run in runs), (p, runs)
        assert set(np.diff(starts)) == {60}, "cycle: 45 s of green and 3 x (3 + 2) s of intergreen"


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
def test_round_trips_keep_the_signal_plan(tmp_path, suffix):
    graph = planned_crossing()
    path = tmp_path / f"net{suffix}"
    (save_network_json if suffix == ".json" else save_graphml)(graph, path)
    loaded = load_network(path)
    assert_same_network(loaded, graph)
    assert loaded.nodes["n0_0"]["signal_plan"] == graph.nodes["n0_0"]["signal_plan"]
    assert "signal_plan" not in loaded.nodes["S0"]


def set_plan(key, value):
    return lambda g: g.nodes["n0_0"]["signal_plan"].__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            set_plan("phases", [moves("S0", "N0"), [*moves("E0"), ["E0", "X9"]], moves("W0")]),
            "node 'n0_0': signal_plan: phase 1: movement 'E0' -> 'n0_0' -> 'X9' needs edges",
        ),
        (
            set_plan("phases", [moves("S0"), [["N0"]], moves("W0")]),
            "phase 1: movement ['N0'] must be a [from, to] pair",
        ),
        (set_plan("phases", []), "'phases' must be a non-empty list of phases"),
        (
            set_plan("greens_s", [20.0, 10.0]),
            "'greens_s' must list one finite number > 0 and <= 1e+06 (s) per phase (3)",
        ),
        (set_plan("greens_s", [20.0, 0.0, 5.0]), "'greens_s' must list one finite number > 0"),
        (
            set_plan("yellow_s", -1.0),
            "'yellow_s' must be a finite number >= 0 and <= 1e+06 (s), or a list of one per phase (3), "
            "got -1.0",
        ),
        (set_plan("all_red_s", [1.0, 2.0]), "'all_red_s' must be a finite number >= 0 and <= 1e+06 (s)"),
        (set_plan("max_green_s", [30.0, 0.0, 30.0]), "'max_green_s' must be a finite number > 0"),
        (set_plan("min_green_s", "short"), "'min_green_s' must be a finite number >= 0"),
        (
            lambda g: g.nodes["n0_0"]["signal_plan"].update(min_green_s=[5.0, 12.0, 5.0], max_green_s=10.0),
            "node 'n0_0': signal_plan: phase 1: 'min_green_s' (12) exceeds 'max_green_s' (10)",
        ),
        (
            set_plan("cycle_s", 60.0),
            "unknown key 'cycle_s'; allowed: phases, greens_s, yellow_s, all_red_s, offset_s, min_green_s, "
            "max_green_s",
        ),
        (lambda g: g.nodes["n0_0"]["signal_plan"].pop("offset_s"), "missing key 'offset_s'"),
        (set_node("n0_0", "signalized", False), "signal_plan on a node that is not signalized"),
        (set_node("n0_0", "signal_plan", [1, 2]), "attribute 'signal_plan' must be a mapping with keys"),
    ],
)
def test_bad_signal_plans_name_the_node_and_what_is_wrong(change, expected):
    graph = planned_crossing()
    change(graph)
    with pytest.raises(NetworkError) as error:
        validate_network(graph, source="city.json")
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (
            [moves("S0", "N0"), [*moves("E0"), ["E0", "E0"]], moves("W0")],
            "node 'n0_0': signal_plan phase 1 lists movement 'E0' -> 'n0_0' -> 'E0', which the network "
            "does not connect",
        ),
        (
            [moves("S0", "N0"), moves("E0"), moves("W0")[1:]],
            "node 'n0_0': signal_plan gives movement 'W0' -> 'n0_0' -> 'S0' green in no phase",
        ),
    ],
)
def test_plans_the_compiled_network_cannot_run_are_rejected(phases, expected):
    graph = planned_crossing()
    graph.nodes["n0_0"]["signal_plan"]["phases"] = phases
    validate_network(graph)
    with pytest.raises(NetworkError, match=re.escape(expected)):
        compile_network(graph)


def test_a_bad_plan_in_a_json_file_names_the_file(tmp_path):
    save_network_json(planned_crossing(), tmp_path / "net.json")
    data = json.loads((tmp_path / "net.json").read_text())
    next(n for n in data["nodes"] if n["id"] == "n0_0")["signal_plan"]["greens_s"] = "long"
    path = write_json(tmp_path, data)
    with pytest.raises(NetworkError, match=r"net.json: node 'n0_0': signal_plan: 'greens_s' must list"):
        load_network_json(path)


# --- per-phase plan values, turns and junction controls ------------------------------------


def test_per_phase_plan_values_are_compiled_and_nan_without_a_plan():
    graph = planned_crossing()
    graph.nodes["n0_0"]["signal_plan"].update(yellow_s=[3.0, 4.0, 5.0], min_green_s=[5.0, 6.0, 7.0])
    net = compile_network(graph)
    assert net.phase_yellow_s.tolist() == [3.0, 4.0, 5.0]
    assert net.phase_all_red_s.tolist() == [2.0, 2.0, 2.0]
    assert net.phase_min_green_s.tolist() == [5.0, 6.0, 7.0]
    assert np.isnan(net.phase_max_green_s).all() and len(net.phase_max_green_s) == 3
    geometric = compile_network(grid(2, 1))
    assert len(geometric.phase_yellow_s) == len(geometric.phase_axis) == 4
    for values in (geometric.phase_yellow_s, geometric.phase_all_red_s, geometric.phase_min_green_s):
        assert np.isnan(values).all()


def crossing_with_turns():
    """grid(1, 1) with two lanes from W0: lane 0 turns right (to S0) and goes through, lane 1 only
    goes through; the left turn to N0 is banned. The other approaches keep the geometric rule."""
    graph = grid(1, 1)
    graph.edges["W0", "n0_0"].update(lanes=2, turns={"S0": [0, 0], "E0": [0, 1]})
    graph.nodes["n0_0"]["junction"] = "traffic_light"
    graph.nodes["W0"]["junction"] = "priority"
    return graph


def conns_from(net, edge):
    e = net.edge_index[edge]
    return {
        net.edge_keys[net.conn_to[c]][1]: (int(net.conn_lane_lo[c]), int(net.conn_lane_hi[c]))
        for c in range(len(net.conn_from))
        if net.conn_from[c] == e
    }


def test_turns_give_exactly_their_connections_and_lanes():
    net = compile_network(crossing_with_turns())
    assert conns_from(net, ("W0", "n0_0")) == {"S0": (0, 0), "E0": (0, 1)}
    assert conns_from(net, ("E0", "n0_0")) == {"S0": (0, 0), "N0": (0, 0), "W0": (0, 0)}
    assert conns_from(net, ("n0_0", "N0")) == {"n0_0": (0, 0)}  # the dead end's U-turn, by geometry
    graph = crossing_with_turns()
    graph.edges["n0_0", "N0"]["turns"] = {}
    graph.edges["E0", "n0_0"]["turns"] = {"E0": [0, 0], "W0": [0, 0]}
    net = compile_network(graph)
    assert conns_from(net, ("n0_0", "N0")) == {}
    assert conns_from(net, ("E0", "n0_0")) == {"E0": (0, 0), "W0": (0, 0)}  # a listed U-turn is allowed


def test_edges_without_turns_compile_as_before():
    plain, listed = compile_network(grid(3, 3)), grid(3, 3)
    for u, v in listed.edges:
        listed.edges[u, v]["turns"] = {w: list(lanes) for w, lanes in conns_from(plain, (u, v)).items()}
    net = compile_network(listed)
    for name in ("conn_from", "conn_to", "conn_turn", "conn_lane_lo", "conn_lane_hi", "conn_rule"):
        assert getattr(net, name).tolist() == getattr(plain, name).tolist(), name


def test_a_plan_may_not_give_green_to_a_banned_turn():
    graph = crossing_with_turns()
    graph.nodes["n0_0"]["signal_plan"] = {
        "phases": [moves("S0", "N0"), moves("E0", "W0")],
        "greens_s": [20.0, 20.0],
        "yellow_s": 3.0,
        "all_red_s": 1.0,
        "offset_s": 0.0,
    }
    validate_network(graph)
    with pytest.raises(
        NetworkError, match=re.escape("lists movement 'W0' -> 'n0_0' -> 'N0', which the network")
    ):
        compile_network(graph)
    graph.nodes["n0_0"]["signal_plan"]["phases"][1].remove(["W0", "N0"])
    assert compile_network(graph).n_signals == 1


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
def test_round_trips_keep_turns_junctions_and_per_phase_plan_values(tmp_path, suffix):
    graph = planned_crossing()
    graph.nodes["n0_0"]["signal_plan"].update(
        yellow_s=[3.0, 4.0, 5.0], all_red_s=1.5, min_green_s=[5.0, 6.0, 7.0], max_green_s=40.0
    )
    graph.edges["W0", "n0_0"].update(lanes=2, turns={"S0": (0, 0), "E0": (0, 1), "N0": (1, 1)})
    graph.edges["n0_0", "E0"]["turns"] = {}
    graph.nodes["n0_0"]["junction"] = "traffic_light"
    graph.nodes["E0"]["junction"] = "right_before_left"
    path = tmp_path / f"net{suffix}"
    (save_network_json if suffix == ".json" else save_graphml)(graph, path)
    loaded = load_network(path)
    assert loaded.edges["W0", "n0_0"]["turns"] == {"S0": [0, 0], "E0": [0, 1], "N0": [1, 1]}
    assert loaded.edges["n0_0", "E0"]["turns"] == {}
    assert "turns" not in loaded.edges["E0", "n0_0"]
    assert loaded.nodes["E0"]["junction"] == "right_before_left" and "junction" not in loaded.nodes["W0"]
    plan = loaded.nodes["n0_0"]["signal_plan"]
    assert (plan["yellow_s"], plan["all_red_s"]) == ([3.0, 4.0, 5.0], 1.5)
    assert (plan["min_green_s"], plan["max_green_s"]) == ([5.0, 6.0, 7.0], 40.0)
    net, again = compile_network(graph), compile_network(loaded)
    for name in (
        "conn_from",
        "conn_to",
        "conn_lane_lo",
        "conn_lane_hi",
        "phase_yellow_s",
        "phase_max_green_s",
    ):
        assert getattr(again, name).tolist() == getattr(net, name).tolist(), name


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (set_edge("W0", "n0_0", "turns", [["S0", 0, 0]]), "attribute 'turns' must be a mapping next node"),
        (
            set_edge("W0", "n0_0", "turns", {"X9": [0, 0]}),
            "edge 'W0' -> 'n0_0': turns names 'X9', but there is no edge 'n0_0' -> 'X9'",
        ),
        (
            set_edge("W0", "n0_0", "turns", {"E0": [0, 2]}),
            "edge 'W0' -> 'n0_0': turns['E0'] must be [lane_lo, lane_hi], integers with "
            "0 <= lane_lo <= lane_hi < 2 (the edge's lanes), got [0, 2]",
        ),
        (set_edge("W0", "n0_0", "turns", {"E0": [1, 0]}), "turns['E0'] must be [lane_lo, lane_hi]"),
        (set_edge("W0", "n0_0", "turns", {"E0": [-1, 0]}), "turns['E0'] must be [lane_lo, lane_hi]"),
        (set_edge("W0", "n0_0", "turns", {"E0": [0.0, 1.0]}), "turns['E0'] must be [lane_lo, lane_hi]"),
        (set_edge("W0", "n0_0", "turns", {"E0": 1}), "turns['E0'] must be [lane_lo, lane_hi]"),
        (
            set_node("W0", "junction", "yield"),
            "node 'W0': attribute 'junction' must be one of 'traffic_light', 'priority', 'stop'",
        ),
        (
            set_node("W0", "junction", "traffic_light"),
            "node 'W0': junction 'traffic_light' with signalized=False; expected junction 'traffic_light' "
            "exactly on signalized nodes",
        ),
        (set_node("n0_0", "junction", "priority"), "node 'n0_0': junction 'priority' with signalized=True"),
    ],
)
def test_bad_turns_and_junctions_name_the_element_and_what_is_wrong(change, expected):
    graph = crossing_with_turns()
    validate_network(graph)
    change(graph)
    with pytest.raises(NetworkError) as error:
        validate_network(graph, source="city.json")
    assert expected in str(error.value)


# --- junction controls, road priorities and roundabouts ----------------------------------------


def lattice_nodes(graph):
    return [node for node in graph if node.startswith("n")]


def test_the_default_junction_is_todays_signalized_grid():
    for graph in (grid(3, 3, junction="traffic_light"), grid(3, 3, signalized=True)):
        assert_same_network(graph, grid(3, 3))
    assert not any("junction" in attrs for _, attrs in grid(3, 3).nodes(data=True))
    assert not any("priority" in attrs for *_, attrs in arterial(3).edges(data=True))


@pytest.mark.parametrize("junction", ["priority", "stop", "allway_stop", "right_before_left"])
def test_the_junction_option_controls_every_intersection(junction):
    for graph in (grid(3, 2, junction=junction), arterial(3, junction=junction)):
        validate_network(graph)
        assert {graph.nodes[n]["junction"] for n in lattice_nodes(graph)} == {junction}
        assert not any(graph.nodes[n]["signalized"] for n in graph)
        assert not any("junction" in graph.nodes[n] for n in fringe_nodes(graph))


def test_unsignalized_without_junction_is_a_priority_grid_with_major_east_west_roads():
    graph = grid(3, 3, signalized=False)
    assert {graph.nodes[n]["junction"] for n in lattice_nodes(graph)} == {"priority"}
    for u, v, priority in graph.edges(data="priority"):
        east_west = graph.nodes[u]["y"] == graph.nodes[v]["y"]
        assert priority == (2 if east_west else 1), (u, v)


@pytest.mark.parametrize("junction", ["priority", "stop"])
def test_the_arterial_corridor_is_the_major_road(junction):
    graph = arterial(3, junction=junction)
    assert graph.edges["n0_0", "n1_0"]["priority"] == graph.edges["E0", "n2_0"]["priority"] == 2
    assert graph.edges["n1_0", "N1"]["priority"] == graph.edges["S1", "n1_0"]["priority"] == 1
    assert not any("priority" in attrs for *_, attrs in arterial(3, junction="allway_stop").edges(data=True))


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: grid(2, 2, junction="yield"), "junction must be one of 'traffic_light', 'priority', 'stop'"),
        (lambda: grid(2, 2, junction="stop", signalized=True), "junction='stop' contradicts signalized=True"),
        (
            lambda: arterial(2, junction="traffic_light", signalized=False),
            "junction='traffic_light' contradicts signalized=False",
        ),
        (lambda: grid(2, 2, junction="roundabout", fringe=False), "needs the fringe stubs"),
        (
            lambda: grid(2, 2, junction="roundabout", block_m=25.0),
            "block_m=25 leaves no room between roundabouts of radius 15 m",
        ),
        (
            lambda: arterial(2, junction="roundabout", side_street_m=20.0, roundabout_radius_m=10.0),
            "side_street_m=20 leaves no room",
        ),
        (lambda: roundabout(2), "n_legs must be an integer from 3 to 8, got 2"),
        (lambda: roundabout(9), "n_legs must be an integer from 3 to 8, got 9"),
        (lambda: roundabout(4, radius_m=0.0), "radius_m must be a finite number > 0"),
        (lambda: roundabout(4, ring_speed_mps=-1.0), "ring_speed_mps must be a finite number > 0"),
    ],
)
def test_bad_junction_options_name_the_problem(build, expected):
    with pytest.raises(NetworkError, match=re.escape(expected)):
        build()


def ring_edges(graph):
    return [
        (u, v)
        for u, v in graph.edges
        if graph.nodes[u].get("junction") == graph.nodes[v].get("junction") == "roundabout"
        and not graph.has_edge(v, u)
    ]


@pytest.mark.parametrize("n_legs", [3, 4, 5, 8])
def test_a_roundabout_is_a_counter_clockwise_one_lane_ring_with_a_leg_per_node(n_legs):
    graph = roundabout(n_legs, radius_m=20.0, leg_m=150.0)
    validate_network(graph)
    assert_fringe_strongly_connected(graph)
    ring_nodes = [n for n, control in graph.nodes(data="junction") if control == "roundabout"]
    assert len(ring_nodes) == len(fringe_nodes(graph)) == n_legs == graph.number_of_nodes() / 2
    assert sorted(ring_nodes) == sorted("c" + fringe for fringe in fringe_nodes(graph))
    loop = ring_edges(graph)
    assert len(loop) == n_legs and nx.is_strongly_connected(graph.edge_subgraph(loop))
    assert sum(graph.edges[e]["length_m"] for e in loop) == pytest.approx(2 * math.pi * 20.0)
    for u, v in loop:
        a, b = graph.nodes[u], graph.nodes[v]
        assert math.hypot(a["x"], a["y"]) == pytest.approx(20.0)
        assert a["x"] * b["y"] - a["y"] * b["x"] > 0  # counter-clockwise about the centre
        assert (graph.edges[u, v]["lanes"], graph.edges[u, v]["speed_mps"]) == (1, 8.33)
    for leg in fringe_nodes(graph):
        assert graph.edges[leg, "c" + leg]["length_m"] == graph.edges["c" + leg, leg]["length_m"] == 150.0
    assert graph.nodes["E"] == {"x": 170.0, "y": 0.0, "signalized": False, "kind": "fringe"}


def test_entering_and_leaving_a_roundabout_are_right_turns():
    net = compile_network(roundabout(4))
    for c in range(len(net.conn_from)):
        u, v = net.edge_keys[net.conn_from[c]]
        w = net.edge_keys[net.conn_to[c]][1]
        if u in "ENWS" or w in "ENWS":
            assert net.conn_turn[c] == TURN_RIGHT, (u, v, w)


def test_the_grid_roundabout_option_replaces_every_intersection():
    graph = arterial(2, junction="roundabout", block_m=100.0, roundabout_radius_m=10.0)
    validate_network(graph)
    assert_fringe_strongly_connected(graph)
    assert sorted(lattice_nodes(graph)) == sorted(f"n{i}_0{d}" for i in range(2) for d in "ENWS")
    assert graph.edges["n0_0E", "n1_0W"]["length_m"] == 80.0  # a block less two radii
    assert graph.edges["W0", "n0_0W"]["lanes"] == 2 and graph.edges["n0_0N", "N0"]["length_m"] == 190.0
    assert len(ring_edges(graph)) == 8
    assert graph.nodes["n1_0N"]["x"] == 200.0 and graph.nodes["n1_0N"]["y"] == 210.0


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
def test_round_trips_keep_priorities_and_every_junction_control(tmp_path, suffix):
    graph = grid(2, 2, junction="stop")
    graph.nodes["n0_0"]["junction"] = "left_before_right"
    graph.edges["n0_0", "n1_0"]["priority"] = -1
    path = tmp_path / f"net{suffix}"
    (save_network_json if suffix == ".json" else save_graphml)(graph, path)
    loaded = load_network(path)
    assert_same_network(loaded, graph)
    assert all(type(p) is int for *_, p in loaded.edges(data="priority"))


@pytest.mark.parametrize(
    ("value", "shown"), [(1.5, "1.5"), (True, "True"), (2_000_000, "2000000"), ("3", "'3'")]
)
def test_a_bad_priority_names_the_edge_and_the_range(value, shown):
    graph = grid(2, 2, junction="priority")
    graph.edges["n0_0", "n1_0"]["priority"] = value
    with pytest.raises(NetworkError) as error:
        validate_network(graph, source="city.json")
    assert str(error.value) == (
        "city.json: edge 'n0_0' -> 'n1_0': attribute 'priority' must be an integer from -1,000,000 to "
        f"1,000,000 (higher: the more important road), got {shown}"
    )


def test_scenarios_choose_the_junction_and_build_roundabouts():
    base = {"name": "x", "demand": {"rate_vph": 100.0}}
    spec = scenario_from_dict({**base, "network": {"type": "grid", "rows": 2, "cols": 2, "junction": "stop"}})
    graph = build_network(spec.network.type, spec.network.kwargs())
    assert {graph.nodes[n]["junction"] for n in lattice_nodes(graph)} == {"stop"}
    spec = scenario_from_dict({**base, "network": {"type": "roundabout", "n_legs": 3, "radius_m": 12.0}})
    graph = build_network(spec.network.type, spec.network.kwargs())
    assert sorted(graph) == ["E", "NW", "SW", "cE", "cNW", "cSW"]
    assert graph.nodes["cE"]["x"] == 12.0


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        (
            {"type": "arterial", "n_intersections": 2, "junction": "yield"},
            "network.junction: expected one of " + ", ".join(map(repr, LATTICE_JUNCTIONS)) + ", got 'yield'",
        ),
        ({"type": "roundabout", "n_legs": 9}, "network.n_legs: expected"),
        ({"type": "grid", "rows": 2, "cols": 2, "roundabout_radius_m": 1.0}, "network.roundabout_radius_m"),
    ],
)
def test_bad_scenario_junction_keys_name_the_key(network, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        scenario_from_dict({"name": "x", "network": network})
