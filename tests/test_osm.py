"""OpenStreetMap import: tag rules, simplification on a hand-made extract, and the real Helsinki extract."""

import itertools
import math
import sys
from pathlib import Path

import networkx as nx
import pytest

import sim
from sim.interop.errors import InteropError
from sim.interop.geometry import haversine_m
from sim.interop.osm_tags import (
    ROAD_CLASSES,
    motor_access,
    node_control,
    parse_lanes,
    parse_maxspeed_kph,
    way_directions,
)
from sim.network import compile_network, load_network_json, validate_network

HELSINKI = Path(sim.__file__).parent / "data" / "helsinki"
M_PER_DEG_LAT = 2 * math.pi * 6_371_008.8 / 360


# ----- tags -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kph"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("FI:urban", 50.0),
        ("DE:zone30", 30.0),
        ("DE:zone:20", 20.0),
        ("50;30", 30.0),
        ("walk", 6.0),
        ("none", None),
        ("signals", None),
        (None, None),
    ],
)
def test_maxspeed_values(value, kph):
    assert parse_maxspeed_kph(value) == (pytest.approx(kph) if kph is not None else None)


@pytest.mark.parametrize(("value", "lanes"), [("2", 2), ("3;2", 3), ("0", None), ("x", None), (None, None)])
def test_lane_counts(value, lanes):
    assert parse_lanes(value) == lanes


@pytest.mark.parametrize(
    ("tags", "forward", "backward"),
    [
        ({"highway": "residential"}, True, True),
        ({"highway": "residential", "oneway": "yes"}, True, False),
        ({"highway": "residential", "oneway": "-1"}, False, True),
        ({"highway": "motorway"}, True, False),
        ({"highway": "motorway", "oneway": "no"}, True, True),
        ({"highway": "primary", "junction": "roundabout"}, True, False),
    ],
)
def test_directions(tags, forward, backward):
    directions = way_directions(tags)
    assert (directions.forward, directions.backward) == (forward, backward)


def test_reversible_ways_have_no_direction():
    assert way_directions({"highway": "primary", "oneway": "reversible"}) is None


def test_the_most_specific_access_tag_decides():
    assert motor_access({"access": "no", "motor_vehicle": "yes"})
    assert not motor_access({"access": "yes", "motorcar": "private"})
    assert not motor_access({"access": "no", "psv": "yes"})
    assert motor_access({"access": "destination"})


# ----- a hand-made extract ----------------------------------------------------------------
# Points in metres east (x) and north (y) of 24 E, 60 N. A two-way main street 1-2-3-4-5
# (4 lanes, 40 km/h) continues to node 99, which the extract lacks; a signal is tagged on 2,
# 20 m before junction 3. A side street 3-6-7 ends at 7. Two streets join 6 and 4 (via 12
# and via 14, 15). A one-way street 4-8-9 leads out of the network with no way back; a
# private way 4-11 and a service road 6-10 are not imported.
POINTS = {
    1: (0, 0), 2: (180, 0), 3: (200, 0), 4: (300, 0), 5: (400, 0), 6: (200, 100), 7: (200, 200),
    8: (300, -100), 9: (300, -200), 10: (100, 100), 11: (400, 100), 12: (250, 40), 14: (240, 70),
    15: (270, 20),
}  # fmt: skip
WAYS = [
    ([1, 2, 3, 4, 5, 99], {"highway": "primary", "lanes": "4", "maxspeed": "40"}),
    ([3, 6, 7], {"highway": "residential"}),
    ([6, 12, 4], {"highway": "residential"}),
    ([6, 14, 15, 4], {"highway": "residential"}),
    ([4, 8, 9], {"highway": "residential", "oneway": "yes"}),
    ([4, 11], {"highway": "residential", "access": "private"}),
    ([6, 10], {"highway": "service"}),
]


def lonlat(x, y):
    return 24.0 + x / (M_PER_DEG_LAT * math.cos(math.radians(60.0))), 60.0 + y / M_PER_DEG_LAT


def write_extract(path, points=POINTS, ways=WAYS, signals=(2,), node_tags=None):
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    for node, (x, y) in points.items():
        lon, lat = lonlat(x, y)
        tags = {"highway": "traffic_signals"} if node in signals else (node_tags or {}).get(node, {})
        tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<node id="{node}" version="1" lat="{lat:.9f}" lon="{lon:.9f}">{tag}</node>')
    for i, (refs, tags) in enumerate(ways):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{100 + i}" version="1">{nds}{tag_xml}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def osm():
    pytest.importorskip("osmium")
    from sim.interop import osm

    return osm


@pytest.fixture(scope="module")
def small(osm, tmp_path_factory):
    return osm.read_osm(write_extract(tmp_path_factory.mktemp("osm") / "town.osm"))


def test_degree_two_nodes_merge_and_lengths_add_up(small):
    graph = small.graph
    assert "2" not in graph and "12" not in graph
    assert small.courses[("1", "3")] == ("1", "2", "3")
    assert graph.edges["1", "3"]["length_m"] == pytest.approx(200.0, rel=1e-3)
    assert graph.edges["3", "1"]["length_m"] == graph.edges["1", "3"]["length_m"]


def test_lanes_and_speeds_come_from_tags_or_class_defaults(small):
    main, side = small.graph.edges["3", "4"], small.graph.edges["3", "6"]
    assert (main["lanes"], main["speed_mps"]) == (2, pytest.approx(40 / 3.6))
    assert (side["lanes"], side["speed_mps"]) == (1, pytest.approx(30 / 3.6))


def test_the_largest_strongly_connected_part_is_kept_and_the_rest_reported(small):
    assert nx.is_strongly_connected(small.graph)
    assert "8" not in small.graph and "9" not in small.graph
    report = small.report
    assert (report.dropped_nodes, report.dropped_segments) == (2, 2)
    assert report.dropped_length_m == pytest.approx(200.0, rel=1e-3)
    assert (report.ways, report.ways_no_access) == (6, 1)


def test_a_second_street_between_the_same_nodes_keeps_a_middle_node(small):
    graph = small.graph
    assert graph.has_edge("6", "4") and graph.has_edge("6", "14") and graph.has_edge("14", "4")
    assert small.courses[("14", "4")] == ("14", "15", "4")
    assert small.report.split_nodes == 1


def test_a_signal_before_a_junction_moves_onto_it(small):
    signalized = {n for n, s in small.graph.nodes(data="signalized") if s}
    assert signalized == {"3"}
    assert (small.report.signals_tagged, small.report.signals_moved, small.report.signals_unplaced) == (
        1,
        1,
        0,
    )


def test_fringe_nodes_are_dead_ends_and_boundary_nodes(small):
    fringe = {n for n, kind in small.graph.nodes(data="kind") if kind == "fringe"}
    assert fringe == {"1", "5", "7"}
    validate_network(small.graph)


def test_a_signal_too_far_from_any_junction_is_unplaced(osm, tmp_path):
    network = osm.read_osm(write_extract(tmp_path / "far.osm"), osm.OsmOptions(signal_snap_m=10.0))
    assert not any(s for _, s in network.graph.nodes(data="signalized"))
    assert network.report.signals_unplaced == 1


def test_missing_file_and_bad_options_name_the_problem(osm, tmp_path):
    with pytest.raises(InteropError, match="nowhere.osm.pbf: file not found"):
        osm.read_osm(tmp_path / "nowhere.osm.pbf")
    (tmp_path / "town.txt").write_text("x")
    with pytest.raises(InteropError, match="expected an OpenStreetMap file"):
        osm.read_osm(tmp_path / "town.txt")
    with pytest.raises(InteropError, match="highways"):
        osm.OsmOptions(highways=("footway",))


def test_an_extract_without_roads_is_rejected(osm, tmp_path):
    path = write_extract(tmp_path / "paths.osm", ways=[([1, 2, 3], {"highway": "footway"})])
    with pytest.raises(InteropError, match="no drivable roads"):
        osm.read_osm(path)


# ----- signs, roundabouts and road classes ----------------------------------------------------
# A primary road 1-2-3-31 crosses a residential street 5-7-2-6-20-21 at 2 (a give-way sign on 7,
# 20 m before 2) and another, 8-3-9, at 3 (a stop sign on 3 itself); the residential street
# crosses 22-20-23 at 20 (an all-way stop). The primary road ends at a one-way secondary
# roundabout 31-32-33-30-31 (counter-clockwise, radius 20 m) with legs 33-40 (tertiary) and
# 30-41 (residential).
SIGN_POINTS = {
    1: (0, 0), 2: (200, 0), 3: (400, 0), 5: (200, 150), 7: (200, 20), 6: (200, -100), 20: (200, -300),
    21: (200, -400), 22: (100, -300), 23: (300, -300), 8: (400, 100), 9: (400, -100),
    31: (580, 0), 32: (600, -20), 33: (620, 0), 30: (600, 20), 40: (800, 0), 41: (600, 200),
}  # fmt: skip
SIGN_WAYS = [
    ([1, 2, 3, 31], {"highway": "primary"}),
    ([5, 7, 2, 6, 20, 21], {"highway": "residential"}),
    ([8, 3, 9], {"highway": "residential"}),
    ([22, 20, 23], {"highway": "residential"}),
    ([31, 32, 33, 30, 31], {"highway": "secondary", "junction": "roundabout"}),
    ([33, 40], {"highway": "tertiary"}),
    ([30, 41], {"highway": "residential"}),
]
SIGN_TAGS = {
    7: {"highway": "give_way"},
    3: {"highway": "stop"},
    20: {"highway": "stop", "stop": "all"},
}


@pytest.mark.parametrize(
    ("tags", "control"),
    [
        ({"highway": "stop"}, "stop"),
        ({"highway": "stop", "stop": "minor"}, "stop"),
        ({"highway": "stop", "stop": "all"}, "allway_stop"),
        ({"highway": "give_way"}, "priority"),
        ({"highway": "traffic_signals"}, None),
        ({}, None),
    ],
)
def test_signs_give_junction_controls(tags, control):
    assert node_control(tags) == control


def test_road_classes_rank_as_in_sumos_osm_type_map():
    order = ["motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential"]
    ranks = [ROAD_CLASSES[h].priority for h in order]
    assert ranks == sorted(ranks, reverse=True) == [14, 13, 12, 11, 10, 4, 3]
    assert ROAD_CLASSES["service"].priority < ROAD_CLASSES["living_street"].priority < ranks[-1]


@pytest.fixture(scope="module")
def signed(osm, tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "signs.osm"
    return osm.read_osm(write_extract(path, SIGN_POINTS, SIGN_WAYS, signals=(), node_tags=SIGN_TAGS))


def test_signs_and_roundabouts_set_the_junction_control(signed):
    graph = signed.graph
    validate_network(graph)
    controls = dict(graph.nodes(data="junction"))
    assert (controls["2"], controls["3"], controls["20"]) == ("priority", "stop", "allway_stop")
    assert {controls[n] for n in ("30", "31", "33")} == {"roundabout"}
    fringe = {n for n, kind in graph.nodes(data="kind") if kind == "fringe"}
    assert fringe == {"1", "5", "8", "9", "21", "22", "23", "40", "41"}
    assert all(controls[n] is None for n in fringe)
    assert all(controls[n] is not None for n in graph if n not in fringe)
    report = signed.report
    assert (report.signs_tagged, report.signs_moved, report.signs_unplaced) == (3, 1, 0)
    assert report.junctions["stop"] == report.junctions["allway_stop"] == 1
    assert report.junctions["roundabout"] == sum(c == "roundabout" for c in controls.values()) >= 3
    assert "stop and give-way signs: 3 tagged, 1 moved" in report.summary()


def test_edges_take_the_priority_of_their_road_class(signed):
    graph = signed.graph
    assert graph.edges["2", "3"]["priority"] == graph.edges["3", "2"]["priority"] == 12
    assert graph.edges["2", "20"]["priority"] == graph.edges["3", "8"]["priority"] == 3
    assert graph.edges["33", "40"]["priority"] == 10
    ring = [
        (u, v)
        for u, v in graph.edges
        if graph.nodes[u].get("junction") == graph.nodes[v].get("junction") == "roundabout"
    ]
    assert ring and {graph.edges[e]["priority"] for e in ring} == {11}
    assert not any(graph.has_edge(v, u) for u, v in ring)


def test_a_signal_beats_a_sign_and_the_strictest_sign_wins(osm, tmp_path):
    tags = {**SIGN_TAGS, 6: {"highway": "stop"}, 9: {"highway": "give_way"}}
    path = write_extract(tmp_path / "both.osm", SIGN_POINTS, SIGN_WAYS, signals=(2,), node_tags=tags)
    graph = osm.read_osm(path, osm.OsmOptions(signal_snap_m=150.0)).graph
    assert graph.nodes["2"]["junction"] == "traffic_light" and graph.nodes["2"]["signalized"]
    assert graph.nodes["3"]["junction"] == "stop"  # the give-way sign on 9 moves to 3 too
    assert graph.nodes["20"]["junction"] == "allway_stop"  # the stop sign on 6 moves to 20 too


# ----- Helsinki -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def helsinki(osm):
    return osm.read_osm(HELSINKI / "helsinki.osm.pbf")


def test_helsinki_is_strongly_connected_with_signals_and_boundary_nodes(helsinki):
    graph = helsinki.graph
    assert nx.is_strongly_connected(graph)
    report = helsinki.report
    assert report.nodes == graph.number_of_nodes() > 150
    assert report.signalized >= 40 and report.fringe >= 10


def test_helsinki_edge_lengths_match_the_osm_geometry(helsinki):
    import osmium

    wanted = {point for course in helsinki.courses.values() for point in course}
    where = {}
    for obj in osmium.FileProcessor(str(HELSINKI / "helsinki.osm.pbf"), osmium.osm.NODE):
        if str(obj.id) in wanted:
            where[str(obj.id)] = (obj.location.lon, obj.location.lat)
    for (u, v), data in helsinki.graph.edges.items():
        course = helsinki.courses[(u, v)]
        assert (course[0], course[-1]) == (u, v)
        geometry_m = sum(haversine_m(*where[a], *where[b]) for a, b in itertools.pairwise(course))
        assert data["length_m"] == pytest.approx(geometry_m, rel=0.01), (u, v)


def test_every_helsinki_turn_between_different_roads_is_connected(helsinki):
    net = compile_network(helsinki.graph)
    for node in range(len(net.node_ids)):
        for e_in in (net.edge_to == node).nonzero()[0]:
            for e_out in (net.edge_from == node).nonzero()[0]:
                if net.edge_to[e_out] != net.edge_from[e_in]:
                    assert (int(e_in), int(e_out)) in net.conn_index


def test_the_shipped_helsinki_network_is_what_the_import_gives(helsinki):
    shipped = load_network_json(HELSINKI / "network.json")
    assert shipped.graph["name"] == helsinki.graph.graph["name"] == "helsinki"
    assert list(shipped.nodes(data=True)) == list(helsinki.graph.nodes(data=True))
    assert list(shipped.edges(data=True)) == list(helsinki.graph.edges(data=True))


def test_without_pyosmium_the_error_names_the_extra(tmp_path, monkeypatch):
    from sim.interop.osm import read_osm

    monkeypatch.setitem(sys.modules, "osmium", None)
    with pytest.raises(
        InteropError, match=r"needs the Python package 'osmium': pip install 'citysim\[osm\]'"
    ):
        read_osm(write_extract(tmp_path / "town.osm"))


def test_citysim_import_osm_writes_a_scenario_that_runs(osm, tmp_path, capsys):
    from sim.cli import main

    extract = write_extract(tmp_path / "town.osm")
    out = tmp_path / "town"
    assert main(["import", "osm", str(extract), "--out", str(out), "--rate-vph", "300"]) == 0
    printed = capsys.readouterr().out
    assert "outside the largest strongly connected component" in printed and "300 veh/h" in printed
    assert {"network.json", "od.csv", "scenario.toml"} <= {p.name for p in out.iterdir()}
    assert main(["run", str(out / "scenario.toml"), "--out", str(tmp_path / "run"), "--no-plots"]) == 0
