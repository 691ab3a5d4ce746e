"""Routing: drivable shortest paths under turn restrictions; unroutable trips skipped, counted, reported."""

import itertools

import networkx as nx
import numpy as np
import pytest

from sim.cli import main
from sim.demand import Trips
from sim.metrics.summary import format_summary, summarize
from sim.model import CityModel
from sim.network import compile_network, grid
from sim.network.io import save_network_json
from sim.routing import BANNED_TURN, MISSING_EDGE, NO_ROUTE, ROUTING_INFO, Router, RoutingError, skipped_text
from sim.scenario import load_scenario


def banned_left():
    """grid(1, 1) whose approach from W0 may go right (S0) and through (E0), not left to N0.

    The stub to E0 is 100 m long, the others 200 m, so the detour by E0 is the shortest.
    """
    graph = grid(1, 1)
    graph.edges["W0", "n0_0"]["turns"] = {"S0": [0, 0], "E0": [0, 0]}
    for edge in (("n0_0", "E0"), ("E0", "n0_0")):
        graph.edges[edge]["length_m"] = 100.0
    return graph


def router(graph):
    return Router(graph, compile_network(graph))


def test_without_turn_restrictions_every_route_is_the_node_dijkstra_path():
    graph = grid(3, 3)
    routes = router(graph)
    fringe = sorted(n for n, kind in graph.nodes(data="kind") if kind == "fringe")
    weight = lambda u, v, d: d["length_m"] / d["speed_mps"]  # noqa: E731
    for origin, destination in itertools.permutations(fringe, 2):
        expected = nx.single_source_dijkstra_path(graph, origin, weight=weight)[destination]
        assert routes.shortest_path(origin, destination) == tuple(expected)


def test_a_banned_turn_is_driven_round_and_a_route_through_it_is_refused():
    routes = router(banned_left())
    # the only other way: through to E0, turn back at the dead end, right into N0
    assert routes.shortest_path("W0", "N0") == ("W0", "n0_0", "E0", "n0_0", "N0")
    assert routes.shortest_path("W0", "S0") == ("W0", "n0_0", "S0")
    with pytest.raises(RoutingError) as banned:
        routes.route_id(("W0", "n0_0", "N0"))
    assert banned.value.reason == BANNED_TURN
    assert "'W0' -> 'n0_0' -> 'N0'" in str(banned.value)
    with pytest.raises(RoutingError) as missing:
        routes.route_id(("W0", "N0"))
    assert missing.value.reason == MISSING_EDGE


def test_a_destination_that_only_banned_turns_reach_has_no_route():
    graph = banned_left()
    graph.edges["W0", "n0_0"]["turns"] = {}
    routes = router(graph)
    for destination in ("N0", "E0", "S0"):
        with pytest.raises(RoutingError) as error:
            routes.shortest_path("W0", destination)
        assert error.value.reason == NO_ROUTE
    assert routes.shortest_path("E0", "W0") == ("E0", "n0_0", "W0")


def test_edge_paths_start_on_the_first_edge_and_end_on_the_last():
    routes = router(banned_left())
    assert routes.edge_path(("W0", "n0_0"), ("n0_0", "N0")) == ("W0", "n0_0", "E0", "n0_0", "N0")
    assert routes.edge_path(("S0", "n0_0"), ("n0_0", "N0")) == ("S0", "n0_0", "N0")
    assert routes.edge_path(("W0", "n0_0"), ("W0", "n0_0")) == ("W0", "n0_0")
    with pytest.raises(RoutingError) as error:
        routes.edge_path(("W0", "N0"), ("n0_0", "N0"))
    assert error.value.reason == MISSING_EDGE


def trips(rows):
    """Trips from ``(id, depart_s, origin, destination, route)`` rows, with a type per trip."""
    ids, depart, origin, destination, routes = zip(*rows, strict=True)
    return Trips(ids, np.array(depart), origin, destination, routes, tuple(f"type_{i}" for i in ids))


def test_unroutable_trips_are_skipped_with_their_reason_and_the_others_keep_every_column():
    graph = banned_left()
    graph.edges["S0", "n0_0"]["turns"] = {}
    demand = trips(
        [
            ("a", 0.0, "W0", "N0", None),
            ("b", 1.0, "W0", "N0", ("W0", "n0_0", "N0")),
            ("c", 2.0, "S0", "E0", None),
            ("d", 3.0, "E0", "W0", None),
            ("e", 4.0, "S0", "N0", None),
        ]
    )
    routed = router(graph).route_trips(demand)
    assert routed.trips.ids == ("a", "d")
    assert routed.trips.types == ("type_a", "type_d")
    assert list(routed.trips.depart_s) == [0.0, 3.0]
    assert [(s.id, s.reason) for s in routed.skipped] == [
        ("b", BANNED_TURN),
        ("c", NO_ROUTE),
        ("e", NO_ROUTE),
    ]
    assert routed.free_flow_s[0] == pytest.approx(600.0 / 13.89)
    assert routed.length_m.tolist() == [600.0, 300.0]
    info = routed.info()
    assert info == {
        "skipped_trips": 3,
        "skipped_by_reason": {NO_ROUTE: 2, BANNED_TURN: 1},
        "skipped_ids": {NO_ROUTE: ["c", "e"], BANNED_TURN: ["b"]},
    }
    assert skipped_text(info) == (
        "3 trips of the demand skipped, not run: no drivable route 2 (c, e); route uses a banned turn 1 (b)"
    )


@pytest.fixture
def unroutable_scenario(tmp_path):
    """The banned-left crossing with 3 drivable trips and 2 that cannot be driven."""
    graph = banned_left()
    graph.edges["S0", "n0_0"]["turns"] = {}
    save_network_json(graph, tmp_path / "network.json")
    (tmp_path / "trips.csv").write_text(
        "id,depart_s,origin,destination,route\n"
        "t1,0,W0,N0,\n"
        "t2,5,W0,N0,W0 n0_0 N0\n"
        "t3,10,E0,W0,\n"
        "t4,15,S0,E0,\n"
        "t5,20,N0,S0,\n"
    )
    (tmp_path / "scenario.toml").write_text(
        'name = "unroutable"\n'
        '[network]\ntype = "file"\npath = "network.json"\n'
        '[demand]\ntype = "trips"\ntrips = "trips.csv"\n'
        "[simulation]\nmax_time_s = 600.0\n"
    )
    return tmp_path / "scenario.toml"


def test_a_run_with_unroutable_trips_completes_the_others_and_reports_the_skipped(unroutable_scenario):
    model = CityModel(load_scenario(unroutable_scenario)).run()
    assert model.trips.ids == ("t1", "t3", "t5")
    assert model.status == "completed"
    results = model.results()
    assert results.trips["arrive_s"].notna().all()
    assert results.trips.loc[0, "route_length_m"] == 600.0  # t1 drove round the banned left turn
    assert results.info[ROUTING_INFO]["skipped_by_reason"] == {BANNED_TURN: 1, NO_ROUTE: 1}
    summary = summarize(results)
    assert (summary["trips"], summary["completed"], summary["routing_skipped_trips"]) == (3, 3, 2)
    assert "trips skipped: cannot be driven" in format_summary(summary, results.info)


def test_a_run_without_unroutable_trips_declares_no_skip_metric(demo_scenario):
    results = CityModel(demo_scenario).run(until_s=60.0).results()
    assert ROUTING_INFO not in results.info
    assert "routing_skipped_trips" not in summarize(results)


def test_citysim_run_prints_the_skipped_trips_beside_the_completion_line(
    unroutable_scenario, tmp_path, capsys
):
    code = main(["run", str(unroutable_scenario), "--out", str(tmp_path / "out"), "--quiet", "--no-plots"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    done = next(i for i, line in enumerate(lines) if line.startswith("completed: all 3 trips arrived"))
    assert lines[done + 1] == (
        "warning: 2 trips of the demand skipped, not run: route uses a banned turn 1 (t2); "
        "no drivable route 1 (t4)"
    )
