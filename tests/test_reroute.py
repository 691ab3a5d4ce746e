"""En-route rerouting (``[route_choice]``): batch shortest paths, drivable new routes, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim.model import CityModel
from sim.network import build_network, compile_network
from sim.routing.paths import EdgeGraph
from sim.scenario import ScenarioError, scenario_from_dict
from sim.traffic.codes import ST_ON_NETWORK

GRID = {
    "name": "reroute",
    "seed": 3,
    "network": {"type": "grid", "rows": 4, "cols": 4},
    "demand": {"type": "uniform", "rate_vph": 2400.0, "duration_s": 900.0},
    "simulation": {"max_time_s": 3600.0},
}


def _scenario(**routing) -> object:
    return scenario_from_dict({**GRID, **({"route_choice": routing} if routing else {})})


def test_batch_trees_match_scipy_on_the_connection_graph():
    net = compile_network(build_network("grid", {"rows": 5, "cols": 5}))
    graph = EdgeGraph(net)
    rng = np.random.default_rng(0)
    cost = rng.uniform(5.0, 60.0, net.n_edges)
    sources = rng.integers(0, net.n_edges, 40)
    dests = rng.integers(0, len(net.node_ids), 40)
    trees = graph.trees_to(dests, sources, cost)
    rows = trees.rows_of(dests)
    turns = csr_matrix((cost[net.conn_from], (net.conn_from, net.conn_to)), shape=(net.n_edges,) * 2)
    dist = dijkstra(turns, indices=sources)
    ptr, edges = graph.paths(trees, rows, sources)
    for i in range(len(sources)):
        ends = np.flatnonzero(net.edge_to == dests[i])
        expected = (dist[i, ends] + cost[ends]).min()
        assert trees.cost_s[rows[i], sources[i]] == pytest.approx(expected)
        path = edges[ptr[i] : ptr[i + 1]]
        assert path[0] == sources[i] and net.edge_to[path[-1]] == dests[i]
        assert cost[path].sum() == pytest.approx(expected)
        # every step is a connection of the network: no banned turn, no U-turn it lacks
        assert (graph.connections(path[:-1], path[1:]) >= 0).all()


def test_a_closed_link_is_avoided_or_unreachable():
    net = compile_network(build_network("grid", {"rows": 3, "cols": 3}))
    graph = EdgeGraph(net)
    cost = net.edge_length_m / net.edge_speed_mps
    source, dest = 0, int(net.edge_to[net.n_edges - 1])
    trees = graph.trees_to(np.array([dest]), np.array([source]), cost)
    _, path = graph.paths(trees, np.array([0]), np.array([source]))
    closed = cost.copy()
    closed[path[1]] = np.inf
    trees = graph.trees_to(np.array([dest]), np.array([source]), closed)
    _, detour = graph.paths(trees, np.array([0]), np.array([source]))
    assert path[1] not in detour
    assert trees.cost_s[0, source] >= cost[path].sum()


def test_rerouting_drivers_change_routes_on_drivable_connections_only():
    model = CityModel(_scenario(equipped_share=1.0, reroute_period_s=60.0, reroute_groups=2))
    traffic = model.traffic
    for until in (600.0, 900.0, 1200.0):
        model.run(until_s=until)
        on = np.flatnonzero(traffic.statuses() == ST_ON_NETWORK)
        for vid in on.tolist():
            ahead = traffic.route_ahead(vid)
            assert (ahead.conns[:-1] >= 0).all() and ahead.conns[-1] == -1
            assert (model.net.conn_from[ahead.conns[:-1]] == ahead.edges[:-1]).all()
            assert (model.net.conn_to[ahead.conns[:-1]] == ahead.edges[1:]).all()
    model.run()
    summary = model.results().info["route_choice"]
    assert summary["route_changes"] > 0
    assert 0.0 < summary["rerouted_share"] <= 1.0
    assert model.status == "completed"


def test_rerouting_is_deterministic_for_a_seed_and_differs_from_static_routes():
    def trips(**routing):
        model = CityModel(_scenario(**routing))
        model.run()
        return model.results().trips

    first = trips(equipped_share=0.5, reroute_period_s=60.0)
    again = trips(equipped_share=0.5, reroute_period_s=60.0)
    static = trips()
    assert first.equals(again)
    assert not first["distance_m"].equals(static["distance_m"])


def test_nobody_equipped_leaves_the_run_as_without_the_table():
    def trips(**routing):
        model = CityModel(_scenario(**routing))
        model.run(until_s=1200.0)
        return model.results().trips

    assert trips(equipped_share=0.0).equals(trips())


def test_the_period_must_cover_the_sampling_interval():
    with pytest.raises(ScenarioError, match="route_choice.reroute_period_s"):
        _scenario(equipped_share=0.1, reroute_period_s=5.0, adaptation_interval_s=10.0)
