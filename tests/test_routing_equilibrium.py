"""Dynamic user equilibrium (``citysim assign``) on three parallel routes between one OD pair."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from sim.cli import main
from sim.model import CityModel
from sim.routing.route_sets import RouteSet
from sim.scenario import load_scenario


def _node(name: str, x: float, y: float, kind: str = "intersection", **extra) -> dict:
    return {"id": name, "x": x, "y": y, "kind": kind, "signalized": False, **extra}


def _link(a: str, b: str, length_m: float, lanes: int = 1, speed_mps: float = 13.89) -> dict:
    return {"from": a, "to": b, "length": length_m, "lanes": lanes, "speed": speed_mps}


@pytest.fixture
def parallel(tmp_path):
    """O -> A, three routes A -> B1|B2|B3 -> C of different free-flow times, a zipper merge, C -> D."""
    nodes = [
        _node("O", 0, 0, "fringe"),
        _node("A", 300, 0),
        _node("B1", 600, 0),
        _node("B2", 600, 300),
        _node("B3", 600, -400),
        _node("C", 900, 0, junction="zipper"),
        _node("D", 1200, 0, "fringe"),
    ]
    links = [
        _link("O", "A", 300, 3),
        _link("A", "B1", 300, 1, 8.0),
        _link("B1", "C", 300, 1, 8.0),
        _link("A", "B2", 420),
        _link("B2", "C", 420),
        _link("A", "B3", 500),
        _link("B3", "C", 500),
        _link("C", "D", 300, 3),
    ]
    (tmp_path / "network.json").write_text(json.dumps({"name": "parallel", "nodes": nodes, "edges": links}))
    rng, t, rows = random.Random(1), 0.0, [("id", "depart_s", "origin", "destination")]
    while t < 1800.0:
        t += rng.expovariate(1400.0 / 3600.0)
        rows.append((f"t{len(rows)}", round(t, 2), "O", "D"))
    with (tmp_path / "trips.csv").open("w", newline="") as stream:
        csv.writer(stream).writerows(rows)
    scenario = tmp_path / "parallel.toml"
    scenario.write_text(
        'name = "parallel"\nseed = 1\n[network]\ntype = "file"\npath = "network.json"\n'
        '[demand]\ntype = "trips"\ntrips = "trips.csv"\n[simulation]\nmax_time_s = 5400.0\n'
    )
    return scenario


def _route_means(scenario, route_set_file) -> tuple[dict[int, float], dict[int, int]]:
    """Per route of the one group, the mean travel time from entry (s) and the trips on it."""
    model = CityModel(load_scenario(scenario, [f'route_choice.route_set="{route_set_file}"']))
    model.run()
    trips = model.results().trips
    routes = RouteSet.read(route_set_file)
    choice = np.array([routes.trips[tid][1] for tid in trips["id"]])
    travel = (trips["arrive_s"] - trips["enter_s"]).to_numpy()
    assert not np.isnan(travel).any()
    means = {r: float(travel[choice == r].mean()) for r in np.unique(choice)}
    counts = {r: int((choice == r).sum()) for r in np.unique(choice)}
    return means, counts


def test_the_equilibrium_equalizes_the_used_routes_and_leaves_no_faster_one(parallel, capsys):
    out = parallel.with_name("routes.json")
    args = ["assign", str(parallel), "--iterations", "15", "--gap", "0.01", "--bin-s", "1800"]
    code = main([*args, "--out", str(out), "--quiet"])
    assert code == 0
    assert "reached" in capsys.readouterr().out
    routes = RouteSet.read(out)
    assert routes.meta["relative_gap"] <= 0.01
    assert len(routes.groups) == 1 and len(routes.groups[0].routes) >= 2
    means, counts = _route_means(parallel, out)
    used = [r for r, n in counts.items() if n >= 0.05 * sum(counts.values())]
    assert len(used) >= 2, counts  # the demand is more than the quickest route alone carries well
    fastest, slowest = min(means[r] for r in used), max(means[r] for r in used)
    assert slowest <= 1.05 * fastest, means
    # an unused route is not faster: empty, it would take about its free-flow time
    group = routes.groups[0]
    model = CityModel(load_scenario(parallel))
    free_flow = model.net.edge_length_m / model.net.edge_speed_mps
    for r in set(range(len(group.routes))) - set(used):
        assert free_flow[model.net.route_edges(group.routes[r])].sum() >= 0.95 * fastest


def test_the_first_run_without_assignment_is_far_from_equilibrium(parallel):
    """All trips on the free-flow route: the gap is above the target, so the test above can fail."""
    from sim.routing.equilibrium import Equilibrium

    model = CityModel(load_scenario(parallel))
    n = len(model.trips)
    eq = Equilibrium(
        model.net,
        list(model.trips.ids),
        [model.traffic.route_ahead(v).edges for v in range(n)],
        model.trips.depart_s,
        bin_s=1800.0,
    )
    model.run()
    results = model.results()
    result = eq.update(results.trips, results.links, model.time_s)
    assert result.relative_gap > 0.05
    assert result.switched > 0
