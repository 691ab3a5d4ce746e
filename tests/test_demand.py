"""Tests for sim.demand: Poisson statistics, determinism, trip tables, OD matrices and their errors."""

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.demand import DemandError, Trips, generate_trips, read_od_matrix, read_trip_table, trips_for
from sim.network import grid
from sim.scenario import ScenarioError, scenario_from_dict
from sim.tables import DemandSpec

BENCH = Path(__file__).resolve().parents[1] / "sim" / "data" / "bench"
FRINGE = ("W", "E", "N", "S")


@pytest.fixture
def cross() -> nx.DiGraph:
    """One intersection C with a two-way stub to each of the fringe nodes W, E, N, S."""
    graph = nx.DiGraph()
    graph.add_node("C", x=0.0, y=0.0, signalized=True, kind="intersection")
    for node, (x, y) in zip(FRINGE, [(-200, 0), (200, 0), (0, 200), (0, -200)], strict=True):
        graph.add_node(node, x=float(x), y=float(y), signalized=False, kind="fringe")
        for tail, head in ((node, "C"), ("C", node)):
            graph.add_edge(tail, head, length_m=200.0, lanes=1, speed_mps=13.89)
    return graph


def within(count: int, expected: float, sigmas: float = 5.0) -> bool:
    """Whether a Poisson count is within `sigmas` standard deviations of its mean."""
    return abs(count - expected) <= sigmas * math.sqrt(expected)


def uniform(**fields) -> DemandSpec:
    return DemandSpec(type="uniform", **({"rate_vph": 3600.0, "duration_s": 36000.0} | fields))


def test_uniform_count_matches_rate_times_duration(cross: nx.DiGraph) -> None:
    trips = generate_trips(cross, uniform(), np.random.default_rng(1))
    assert within(len(trips), 36000.0)
    assert np.all(np.diff(trips.depart_s) >= 0.0)
    assert trips.depart_s[0] >= 0.0 and trips.depart_s[-1] < 36000.0
    assert trips.ids[:3] == ("v0", "v1", "v2") and trips.ids[-1] == f"v{len(trips) - 1}"
    assert set(trips.routes) == {None}
    gaps = np.diff(trips.depart_s)
    assert abs(gaps.mean() - 1.0) < 0.05 and abs(gaps.std() - 1.0) < 0.05  # exponential: mean = std = 1/rate


def test_scale_doubles_the_expected_count(cross: nx.DiGraph) -> None:
    trips = generate_trips(cross, uniform(scale=2.0), np.random.default_rng(2))
    assert within(len(trips), 72000.0)
    assert not within(len(trips), 36000.0)


def test_profile_shapes_the_rate_and_a_zero_piece_is_empty(cross: nx.DiGraph) -> None:
    profile = ((0.0, 1.0), (10000.0, 0.0), (20000.0, 3.0))
    trips = generate_trips(cross, uniform(profile=profile, duration_s=30000.0), np.random.default_rng(3))
    depart_s = trips.depart_s
    assert within(int(np.sum(depart_s < 10000.0)), 10000.0)
    assert not np.any((depart_s >= 10000.0) & (depart_s < 20000.0))
    assert within(int(np.sum(depart_s >= 20000.0)), 30000.0)
    assert depart_s[-1] < 30000.0


def test_uniform_origins_and_destinations_are_distinct_fringe_nodes(cross: nx.DiGraph) -> None:
    trips = generate_trips(cross, uniform(duration_s=7200.0), np.random.default_rng(4))
    assert all(o != d for o, d in zip(trips.origin, trips.destination, strict=True))
    assert set(trips.origin) == set(trips.destination) == set(FRINGE)
    pairs = list(zip(trips.origin, trips.destination, strict=True))
    expected = len(trips) / 12  # 4 origins x 3 other destinations, equally likely
    assert all(within(pairs.count((o, d)), expected) for o in FRINGE for d in FRINGE if o != d)


def test_uniform_needs_two_fringe_nodes() -> None:
    graph = nx.DiGraph()
    graph.add_node("A", x=0.0, y=0.0, signalized=False, kind="fringe")
    with pytest.raises(DemandError, match=r"expected a network with >= 2 fringe nodes, got \['A'\]"):
        generate_trips(graph, uniform(), np.random.default_rng(0))


def test_same_seed_same_trips_other_seed_other_trips(cross: nx.DiGraph) -> None:
    spec = uniform(duration_s=3600.0)
    first = generate_trips(cross, spec, np.random.default_rng(42))
    assert first == generate_trips(cross, spec, np.random.default_rng(42))
    assert np.array_equal(first.depart_s, generate_trips(cross, spec, np.random.default_rng(42)).depart_s)
    assert first != generate_trips(cross, spec, np.random.default_rng(43))


def test_only_the_passed_generator_is_used(cross: nx.DiGraph) -> None:
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    generate_trips(cross, uniform(duration_s=600.0), np.random.default_rng(5))
    assert np.array_equal(np.random.get_state()[1], before)


def test_matrix_gives_each_pair_its_own_rate(cross: nx.DiGraph, tmp_path: Path) -> None:
    matrix = tmp_path / "od.csv"
    matrix.write_text("origin,destination,rate_vph\nW,E,1800\nN,S,360\nE,W,0\n")
    spec = DemandSpec(type="matrix", matrix=matrix, duration_s=36000.0, scale=0.5)
    trips = generate_trips(cross, spec, np.random.default_rng(6))
    pairs = list(zip(trips.origin, trips.destination, strict=True))
    assert set(pairs) == {("W", "E"), ("N", "S")}
    assert within(pairs.count(("W", "E")), 9000.0)
    assert within(pairs.count(("N", "S")), 1800.0)
    assert np.all(np.diff(trips.depart_s) >= 0.0)
    assert trips.ids[0] == "v0"


def test_trips_for_dispatches_on_the_demand_type(cross: nx.DiGraph, tmp_path: Path) -> None:
    table = tmp_path / "trips.csv"
    table.write_text("id,depart_s,origin,destination\na,5,W,E\n")
    network = {"type": "grid", "rows": 1, "cols": 1}
    replay = scenario_from_dict(
        {"name": "t", "network": network, "demand": {"type": "trips", "trips": str(table)}}
    )
    assert trips_for(replay, cross, np.random.default_rng(0)).ids == ("a",)
    poisson = scenario_from_dict({"name": "u", "network": network, "demand": {"rate_vph": 720.0}})
    generated = trips_for(poisson, cross, np.random.default_rng(0))
    assert generated == generate_trips(cross, poisson.demand, np.random.default_rng(0))
    assert within(len(generated), 720.0)


def test_bench_grid5_trip_table_loads_with_its_network() -> None:
    from sim.network.io import load_network

    path = BENCH / "grid5" / "trips.csv"
    trips = read_trip_table(path, load_network(BENCH / "grid5" / "network.json"))
    assert len(trips) == 1484
    assert trips.ids[0] == "v0"
    assert trips.depart_s[0] == pytest.approx(5.77)
    assert trips.routes[0] == ("W1", "n0_1", "n1_1", "n1_0", "S1")
    assert np.all(np.diff(trips.depart_s) >= 0.0)
    assert trips.depart_s.dtype == np.float64 and not trips.depart_s.flags.writeable


def test_trip_table_is_sorted_stably_and_routes_are_optional(tmp_path: Path) -> None:
    path = tmp_path / "trips.csv"
    path.write_text(
        "\ufeffid,depart_s,origin,destination,route\nb,9,W,E,W C E\na,3,N,S,\nc,3,E,W, E C W \n\n"
    )
    trips = read_trip_table(path)
    assert trips.ids == ("a", "c", "b")
    assert trips.depart_s.tolist() == [3.0, 3.0, 9.0]
    assert trips.routes == (None, ("E", "C", "W"), ("W", "C", "E"))
    assert (trips.origin, trips.destination) == (("N", "E", "W"), ("S", "W", "E"))


HEADER = "id,depart_s,origin,destination,route\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "line 1: header: expected columns id,depart_s,origin,destination,[route],[type], got ''"),
        ("id,depart,origin,destination\n", "line 1: header: expected columns id,depart_s,origin,destination"),
        ("id,depart_s,origin,destination,lane\n", "line 1: header: expected columns"),
        (HEADER + "a,1,W,E,\n,2,W,E,\n", "line 3: id: expected a non-empty trip id, got ''"),
        (
            HEADER + "a,1,W,E,\nb,2,W,E,\na,3,N,S,\n",
            "line 4: id: expected a unique trip id (also on line 2), got 'a'",
        ),
        (HEADER + "a,soon,W,E,\n", "line 2: depart_s: expected a number >= 0, got 'soon'"),
        (HEADER + "a,-1,W,E,\n", "line 2: depart_s: expected a number >= 0, got '-1'"),
        (HEADER + "a,inf,W,E,\n", "line 2: depart_s: expected a number >= 0, got 'inf'"),
        (HEADER + "a,1,X,E,\n", "line 2: origin: expected a node of the network, got 'X'"),
        (HEADER + "a,1,W,,\n", "line 2: destination: expected a node id, got ''"),
        (HEADER + "a,1,W,W,\n", "line 2: destination: expected a node other than the origin, got 'W'"),
        (HEADER + "a,1,W,E,N C E\n", "line 2: route: expected a node path from 'W' to 'E', got 'N C E'"),
        (HEADER + "a,1,W,E,W C N E\n", "line 2: route: expected a path along network edges (no edge N -> E)"),
        (HEADER + "a,1,W,E,W Q E\n", "line 2: route: expected a path along network edges (no edge W -> Q)"),
        (HEADER + "a,1,W,E\n", "line 2: row: expected 5 fields (id,depart_s,origin,destination,route)"),
    ],
)
def test_trip_table_errors_name_file_line_and_column(
    cross: nx.DiGraph, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "trips.csv"
    path.write_text(text)
    with pytest.raises(DemandError) as info:
        read_trip_table(path, cross)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_missing_trip_table(tmp_path: Path) -> None:
    with pytest.raises(DemandError, match="absent.csv: cannot read: No such file or directory"):
        read_trip_table(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("W,E,-5\n", "line 2: rate_vph: expected a number >= 0, got '-5'"),
        ("W,E,x\n", "line 2: rate_vph: expected a number >= 0, got 'x'"),
        ("W,Z,5\n", "line 2: destination: expected a node of the network, got 'Z'"),
        (
            "W,E,5\nN,S,1\nW,E,2\n",
            "line 4: destination: expected a pair not listed before (line 2), got ('W', 'E')",
        ),
    ],
)
def test_od_matrix_errors(cross: nx.DiGraph, tmp_path: Path, rows: str, expected: str) -> None:
    path = tmp_path / "od.csv"
    path.write_text("origin,destination,rate_vph\n" + rows)
    with pytest.raises(DemandError) as info:
        read_od_matrix(path, cross)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_trips_checks_its_columns() -> None:
    with pytest.raises(ValueError, match="sorted ascending"):
        Trips(("a", "b"), np.array([2.0, 1.0]), ("W", "E"), ("E", "W"), (None, None))
    with pytest.raises(ValueError, match="differ in length"):
        Trips(("a",), np.array([1.0, 2.0]), ("W",), ("E",), (None,))


def test_a_matrix_too_large_for_memory_is_refused_before_drawing(cross: nx.DiGraph, tmp_path: Path) -> None:
    matrix = tmp_path / "od.csv"
    matrix.write_text("origin,destination,rate_vph\nW,E,900000\nE,W,900000\n")
    spec = DemandSpec(type="matrix", matrix=matrix, duration_s=7200.0)
    with pytest.raises(
        ScenarioError, match=r"s\.toml: demand\.matrix: the demand would create about 3,600,000 trips"
    ):
        generate_trips(cross, spec, np.random.default_rng(0), source="s.toml")


def test_only_a_demand_set_to_create_no_trips_is_an_error(cross: nx.DiGraph, tmp_path: Path) -> None:
    # a positive rate whose draw is empty stays valid, whatever the seed
    assert len(generate_trips(cross, uniform(rate_vph=1.0, duration_s=60.0), np.random.default_rng(0))) == 0
    with pytest.raises(ScenarioError, match=r"demand\.profile: the demand creates no trips"):
        generate_trips(cross, uniform(profile=((0.0, 0.0),)), np.random.default_rng(0))
    matrix = tmp_path / "od.csv"
    matrix.write_text("origin,destination,rate_vph\nW,E,0\n")
    with pytest.raises(ScenarioError, match=r"demand\.matrix: the demand creates no trips"):
        generate_trips(
            cross, DemandSpec(type="matrix", matrix=matrix, duration_s=60.0), np.random.default_rng(0)
        )


def test_a_trip_table_longer_than_the_cap_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("sim.demand.MAX_TRIPS", 2)
    table = tmp_path / "trips.csv"
    table.write_text(HEADER + "a,0,W,E,\nb,1,W,E,\nc,2,W,E,\n")
    with pytest.raises(DemandError, match=r"trips\.csv: line 4: more than 2 trips"):
        read_trip_table(table)


def test_bad_cells_are_quoted_as_short_excerpts(tmp_path: Path) -> None:
    table = tmp_path / "trips.csv"
    table.write_text(HEADER + "a," + "9" * 5000 + "x,W,E,\n")
    with pytest.raises(DemandError) as info:
        read_trip_table(table)
    assert len(str(info.value)) < 300 and "…" in str(info.value)


def test_an_empty_trip_table_names_its_key(tmp_path: Path) -> None:
    table = tmp_path / "trips.csv"
    table.write_text(HEADER)
    network = {"type": "grid", "rows": 1, "cols": 1}
    scenario = scenario_from_dict(
        {"name": "t", "network": network, "demand": {"type": "trips", "trips": str(table)}}
    )
    with pytest.raises(ScenarioError, match=r"<dict>: demand\.trips: the trip table has no trips"):
        trips_for(scenario, grid(1, 1), np.random.default_rng(0))
