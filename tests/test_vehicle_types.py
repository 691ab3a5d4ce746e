"""Vehicle types: each vehicle's own car-following parameters, from scenario to kernel.

Free flow at a type's own speed, queue space by length, discharge by acceleration, the
spread of desired speeds (SUMO's ``normc(mean, dev, 0.2, 2)``), determinism, and the errors
that name the key, file and line.
"""

import json
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim.demand import DemandError, read_trip_table, trips_for
from sim.fleet import draw_speed_factors
from sim.metrics.results import write_results
from sim.model import CityModel
from sim.network import build_network, compile_network, grid, save_network_json
from sim.scenario import ScenarioError, scenario_from_dict
from sim.tables import DEFAULT_VEHICLE_TYPE, SPEED_FACTOR_RANGE, VehicleSpec, VehicleTypeSpec
from sim.traffic.codes import HALT_MPS
from sim.traffic.speeds import follow_speed, safe_speed
from sim.traffic.state import CarFollowing, TrafficState
from sim.traffic.vehicle_types import VehicleType

ROAD_M, LIMIT_MPS = 1000.0, 20.0
NO_SPREAD = {"speed_dev": 0.0}


def straight_road(
    folder,
    trip_rows: list[str],
    types: dict,
    with_type_column: bool = True,
    seed: int = 3,
    vehicles=NO_SPREAD,
):
    """A 1 km unsignalized road at 20 m/s (F0 -> a -> b -> F1), its trips and types; no dawdling.

    ``vehicles`` holds the ``[vehicles]`` keys besides ``sigma = 0`` (default: no speed
    spread). Runs may last up to 40,000 s, for hundreds of lone vehicles.
    """
    graph = nx.DiGraph(name="straight")
    for node, x_m, kind in (("F0", 0.0, "fringe"), ("a", 300.0, "intersection"), ("b", 700.0, "intersection"),
                            ("F1", ROAD_M, "fringe")):  # fmt: skip
        graph.add_node(node, x=x_m, y=0.0, signalized=False, kind=kind)
    for u, v in (("F0", "a"), ("a", "b"), ("b", "F1")):
        length_m = graph.nodes[v]["x"] - graph.nodes[u]["x"]
        graph.add_edge(u, v, length_m=length_m, lanes=1, speed_mps=LIMIT_MPS)
    save_network_json(graph, folder / "network.json")
    header = "id,depart_s,origin,destination" + (",type" if with_type_column else "")
    (folder / "trips.csv").write_text("\n".join([header, *trip_rows]) + "\n", encoding="utf-8")
    return scenario_from_dict(
        {
            "name": "types",
            "seed": seed,
            "network": {"type": "file", "path": str(folder / "network.json")},
            "demand": {"type": "trips", "trips": str(folder / "trips.csv")},
            "vehicles": {"sigma": 0.0, **(NO_SPREAD if vehicles is None else vehicles)},
            "simulation": {"max_time_s": 40_000.0},
            "vehicle_types": types,
        }
    )


def travel_times(scenario) -> tuple[np.ndarray, object]:
    trips = CityModel(scenario).run().trip_records()
    return (trips["arrive_s"] - trips["depart_s"]).to_numpy(), trips


# ----- free flow ------------------------------------------------------------------------
def test_a_slower_type_drives_the_road_at_its_own_speed(tmp_path):
    types = {"slow": {"speed_factor": 0.5}, "capped": {"max_speed_mps": 8.0}, "fast": {"speed_factor": 1.2}}
    rows_ = ["car,0,F0,F1,", "slow,100,F0,F1,slow", "capped,200,F0,F1,capped", "fast,300,F0,F1,fast"]
    travel_s, trips = travel_times(straight_road(tmp_path, rows_, types))
    # length / min(max speed, factor x limit), within one step
    expected_s = [ROAD_M / LIMIT_MPS, ROAD_M / (0.5 * LIMIT_MPS), ROAD_M / 8.0, ROAD_M / (1.2 * LIMIT_MPS)]
    np.testing.assert_allclose(travel_s, expected_s, atol=1.0)
    assert list(trips["type"]) == [DEFAULT_VEHICLE_TYPE, "slow", "capped", "fast"]
    np.testing.assert_allclose(trips["distance_m"], ROAD_M)


def test_types_that_change_nothing_give_the_trips_of_a_scenario_without_types(tmp_path):
    rows_ = [f"t{i},{40 * i},F0,F1" for i in range(30)]
    untyped = straight_road(tmp_path, rows_, {}, with_type_column=False)
    plain = CityModel(untyped).run().trip_records()
    assert "type" not in plain.columns, "trips.csv keeps its columns when a scenario declares no types"
    same = [f"{row},same" for row in rows_]
    typed = CityModel(straight_road(tmp_path, same, {"same": {}})).run().trip_records()
    assert set(typed["type"]) == {"same"}
    np.testing.assert_array_equal(typed["arrive_s"], plain["arrive_s"])


# ----- queue space and discharge (kernel) -----------------------------------------------
CAR = CarFollowing(sigma=0.0)


def corridor(kind: VehicleType, n: int) -> tuple[TrafficState, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` vehicles of ``kind`` on W0 -> n0_0 -> n1_0 -> E0 of a 1x2 grid, eastbound green only at n0_0."""
    state = TrafficState(compile_network(grid(1, 2)), CAR, dt_s=1.0, seed=1, jam_spacing_m=7.5)
    edges = state.net.route_edges(["W0", "n0_0", "n1_0", "E0"])
    conns = state.net.route_conns(edges)
    first, last = state.add_routes([edges], [conns])[0]
    ids = state.add_vehicles(np.full(n, first), np.full(n, last))
    state.set_vehicle_type(ids, kind)
    return state, ids, edges, conns


def signal_phase(state: TrafficState, signal: int, axis: str) -> int:
    net = state.net
    phases = range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1])
    return next(p for p in phases if net.phase_axis[p] == axis)


@pytest.mark.parametrize(("length_m", "fit"), [(5.0, 27), (12.0, 14)])
def test_a_longer_type_takes_more_queue_space(length_m, fit):
    kind = VehicleType(length_m, 2.5, 2.6, 4.5, 1.0, 0.0)
    state, ids, edges, _ = corridor(kind, 60)
    state.set_signal(0, signal_phase(state, 0, "EW"), 0.0, 3.0, 0.0, 5.0)
    state.set_signal(1, signal_phase(state, 1, "NS"), 0.0, 3.0, 0.0, 5.0)
    state.release(ids)
    state.advance(400)
    lane = int(state.net.edge_lane0[edges[1]])
    queue = state.lane_vehicles(lane)
    np.testing.assert_allclose(state.lengths_m(queue), length_m)
    # the 200 m link holds a standing queue at jam spacing (length + gap), the first front at
    # the stop line and the last front on the link (its rear may stick out behind a tail
    # that was moving when it followed it in)
    fronts_m = state.positions_m(queue)
    np.testing.assert_allclose(-np.diff(fronts_m), length_m + 2.5, atol=1e-6)
    assert len(queue) == int(state.net.edge_length_m[edges[1]] // (length_m + 2.5)) + 1 == fit


def saturation_flow_vph(kind: VehicleType, n: int = 20) -> float:
    """Saturation flow (veh/h) of a queue of ``n`` vehicles of ``kind`` at a green (headways 5..n)."""
    state = TrafficState(compile_network(grid(1, 1)), CAR, dt_s=1.0, seed=0)
    edges = state.net.route_edges(["S0", "n0_0", "N0"])
    first, last = state.add_routes([edges], [state.net.route_conns(edges)])[0]
    ids = state.add_vehicles(np.full(n, first), np.full(n, last))
    state.set_vehicle_type(ids, kind)
    state.set_signal(0, signal_phase(state, 0, "EW"), 0.0, 3.0, 0.0, 5.0)
    state.release(ids)
    state.advance(150)
    assert np.all(state.speeds_mps(ids) < HALT_MPS) and state.n_on_network == n
    state.request_phases(np.array([0]), np.array([signal_phase(state, 0, "NS")]))
    approach_m = state.net.edge_length_m[edges[0]]
    crossed = np.full(n, np.nan)
    while np.isnan(crossed).any():
        assert state.t_s < 600.0, "queue did not discharge"
        t_s, x0 = state.t_s, state.positions_m(ids).copy()
        on_approach = state.edges_of(ids) == edges[0]
        state.advance(1)
        moved = np.flatnonzero(on_approach & (state.edges_of(ids) != edges[0]) & np.isnan(crossed))
        crossed[moved] = t_s + (approach_m - x0[moved]) / state.speeds_mps(ids[moved])
    return 3600.0 / np.diff(crossed)[4:].mean()


def test_a_low_acceleration_type_discharges_a_queue_slower():
    flows = [saturation_flow_vph(VehicleType(5.0, 2.5, accel, 4.5, 1.0, 0.0)) for accel in (2.6, 1.0, 0.5)]
    # Krauss without dawdling: a car (2.6 m/s^2) discharges at 2,041 veh/h/lane; slower
    # starters cross the stop line slower behind the one ahead: measured 1,831 at 1.0 m/s^2
    # and 1,781 at 0.5 (headways 5-20 of a 20-vehicle queue)
    assert 1900.0 <= flows[0] <= 2200.0
    assert flows[0] > flows[1] > flows[2]
    assert flows[1] < 0.92 * flows[0]


def test_a_follower_expects_its_leader_to_brake_at_the_leaders_own_rate():
    gap_m, v_mps, tau_s = 10.0, 12.0, 1.0
    assert follow_speed(gap_m, v_mps, 4.5, 4.5, tau_s) == safe_speed(gap_m, v_mps, 4.5, tau_s)
    harder = follow_speed(gap_m, v_mps, 9.0, 4.5, tau_s)
    softer = follow_speed(gap_m, v_mps, 2.0, 4.5, tau_s)
    assert harder < safe_speed(gap_m, v_mps, 4.5, tau_s) < softer
    # at that speed the follower stops (after its reaction time) where the leader does
    leader_stop_m = gap_m + v_mps**2 / (2.0 * 9.0)
    assert harder * tau_s + harder**2 / (2.0 * 4.5) == pytest.approx(leader_stop_m)


# ----- the spread of desired speeds ------------------------------------------------------
def truncated_normal_moments(mean: float, dev: float, low: float, high: float) -> tuple[float, float]:
    """Mean and standard deviation of a normal distribution truncated to [low, high]."""
    a, b = (low - mean) / dev, (high - mean) / dev
    pdf = [math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi) for x in (a, b)]
    mass = 0.5 * (math.erf(b / math.sqrt(2.0)) - math.erf(a / math.sqrt(2.0)))
    shift = (pdf[0] - pdf[1]) / mass
    variance = 1.0 + (a * pdf[0] - b * pdf[1]) / mass - shift**2
    return mean + dev * shift, dev * math.sqrt(variance)


@pytest.mark.parametrize(("mean", "dev"), [(1.0, 0.1), (1.0, 1.0), (0.3, 0.5)])
def test_speed_factors_follow_sumos_truncated_normal(mean, dev):
    factors = draw_speed_factors(np.random.default_rng(5), mean, dev, 200_000)
    low, high = SPEED_FACTOR_RANGE
    assert factors.min() >= low and factors.max() <= high
    want_mean, want_std = truncated_normal_moments(mean, dev, low, high)
    assert factors.mean() == pytest.approx(want_mean, abs=0.005)
    assert factors.std() == pytest.approx(want_std, abs=0.005)
    np.testing.assert_array_equal(factors, draw_speed_factors(np.random.default_rng(5), mean, dev, 200_000))
    np.testing.assert_array_equal(draw_speed_factors(np.random.default_rng(5), mean, 0.0, 3), [mean] * 3)


def test_speed_dev_spreads_free_flow_speeds_the_same_way_for_the_same_seed(tmp_path):
    n = 300
    rows_ = [f"t{i},{100 * i},F0,F1,spread" for i in range(n)]
    types = {"spread": {"speed_factor": 0.9, "speed_dev": 0.1}}
    travel_s, _ = travel_times(straight_road(tmp_path, rows_, types))
    # each lone vehicle drives at its own factor x limit: length / travel time / limit
    # (measured: mean 0.901, deviation 0.0996, range 0.62-1.20)
    factors = ROAD_M / travel_s / LIMIT_MPS
    assert factors.mean() == pytest.approx(0.9, abs=0.02)
    assert factors.std() == pytest.approx(0.1, abs=0.02)
    assert len(np.unique(np.round(travel_s, 6))) > n // 2, "every vehicle has its own speed"
    again, _ = travel_times(straight_road(tmp_path, rows_, types))
    np.testing.assert_array_equal(again, travel_s)
    other_seed, _ = travel_times(straight_road(tmp_path, rows_, types, seed=4))
    assert not np.array_equal(other_seed, travel_s)


def test_default_vehicles_each_drive_their_own_speed_as_sumos_default_car(tmp_path):
    assert (VehicleSpec().speed_factor, VehicleSpec().speed_dev) == (1.0, 0.1), "SUMO's passenger car"
    rows_ = [f"t{i},{100 * i},F0,F1" for i in range(200)]
    model = CityModel(straight_road(tmp_path, rows_, {}, with_type_column=False, vehicles={}))
    # and vehicles of the features (emergency, shuttles, parking) added one by one
    for i in range(100):
        model.schedule(20_000.0 + 100.0 * i, lambda: model.add_vehicle(["F0", "a", "b", "F1"]))
    model.run()
    recorded = model.traffic.trip_columns(model.traffic.n_vehicles)
    factors = ROAD_M / (recorded["arrive_s"] - recorded["enter_s"]) / LIMIT_MPS
    # lone vehicles at their own factor x limit (measured: trips mean 0.996, deviation 0.105;
    # agents' vehicles, 100 of them, 1.012 and 0.087); without the spread every one takes 50 s
    for drawn in (factors[:200], factors[200:]):
        assert drawn.size > 0 and drawn.mean() == pytest.approx(1.0, abs=0.025)
        assert drawn.std() == pytest.approx(0.1, abs=0.025)


# ----- agents' vehicles --------------------------------------------------------------------
def test_an_agents_vehicle_gets_the_type_it_names(tmp_path):
    model = CityModel(
        straight_road(tmp_path, ["t0,0,F0,F1,"], {"bus": {"length_m": 12.0, "max_speed_mps": 10.0}})
    )
    bus = model.add_vehicle(["F0", "a", "b", "F1"], vehicle_type="bus")
    car = model.add_vehicle(["F0", "a", "b", "F1"])
    np.testing.assert_allclose(model.traffic.lengths_m(np.array([bus, car])), [12.0, 5.0])
    with pytest.raises(ValueError, match=r"unknown vehicle type\(s\) \['tram'\].*'default', 'bus'"):
        model.add_vehicle(["F0", "a", "b", "F1"], vehicle_type="tram")
    model.run()
    assert model.traffic.n_arrived == 3


# ----- the scenario keys ------------------------------------------------------------------
def scenario_with_types(types: object, vehicles: dict | None = None):
    return scenario_from_dict(
        {
            "name": "t",
            "network": {"type": "grid", "rows": 1, "cols": 1},
            "vehicles": vehicles or {},
            "vehicle_types": types,
        }  # fmt: skip
    )


def test_a_type_takes_what_it_leaves_out_from_vehicles_and_follows_overrides():
    scenario = scenario_with_types({"bus": {"length_m": 12.0, "accel_mps2": 1.2}}, {"tau_s": 1.5})
    ((name, bus),) = scenario.vehicle_types
    assert name == "bus" and bus.tau_s is None
    resolved = bus.resolved(scenario.vehicles)
    assert (resolved.length_m, resolved.accel_mps2, resolved.tau_s, resolved.min_gap_m) == (
        12.0,
        1.2,
        1.5,
        2.5,
    )
    assert (resolved.speed_factor, resolved.speed_dev, resolved.max_speed_mps) == (1.0, 0.1, None)
    assert VehicleTypeSpec().resolved(VehicleSpec()).sigma == VehicleSpec().sigma
    overridden = scenario.with_overrides(["vehicles.tau_s=2.0", "vehicle_types.bus.speed_dev=0.1"])
    bus2 = dict(overridden.vehicle_types)["bus"]
    assert bus2.resolved(overridden.vehicles).tau_s == 2.0 and bus2.speed_dev == 0.1
    assert scenario_from_dict(scenario.to_dict()) == scenario
    assert scenario.key() != scenario_with_types({}).key()
    assert "vehicle_types" not in scenario_with_types({}).to_dict()


def test_a_vehicle_class_gives_sumos_defaults_and_given_keys_override_them():
    scenario = scenario_with_types(
        {
            "bus": {"vclass": "bus"},
            "short_bus": {"vclass": "bus", "length_m": 10.0, "speed_dev": 0.2},
            "truck": {"vclass": "truck"},
            "car": {},
        },
        {"length_m": 4.5, "tau_s": 1.5, "speed_dev": 0.05},
    )
    resolved = {name: spec.resolved(scenario.vehicles) for name, spec in scenario.vehicle_types}
    keys = ("length_m", "min_gap_m", "accel_mps2", "decel_mps2", "tau_s", "max_speed_mps", "speed_dev")
    got = {name: tuple(getattr(spec, key) for key in keys) for name, spec in resolved.items()}
    # SUMO 1.28's bus and truck (Vehicle_Type_Parameter_Defaults); gap and tau from [vehicles]
    assert got["bus"] == pytest.approx((12.0, 2.5, 1.2, 4.0, 1.5, 100 / 3.6, 0.0))
    assert got["short_bus"] == pytest.approx((10.0, 2.5, 1.2, 4.0, 1.5, 100 / 3.6, 0.2))
    assert got["truck"] == pytest.approx((7.1, 2.5, 1.3, 4.0, 1.5, 130 / 3.6, 0.05))
    assert got["car"][:2] == (4.5, 2.5) and got["car"][-2:] == (None, 0.05), "passenger is [vehicles]"
    assert scenario_from_dict(scenario.to_dict()) == scenario


def test_a_vehicle_class_reaches_the_kernel(tmp_path):
    rows_ = ["car,0,F0,F1,", "bus,100,F0,F1,bus"]
    model = CityModel(straight_road(tmp_path, rows_, {"bus": {"vclass": "bus"}}))
    np.testing.assert_allclose(model.traffic.lengths_m(np.array([0, 1])), [5.0, 12.0])
    travel_s, _ = travel_times(
        straight_road(tmp_path, rows_, {"bus": {"vclass": "bus", "max_speed_mps": 10.0}})
    )
    assert travel_s[1] == pytest.approx(ROAD_M / 10.0, abs=2.0)


@pytest.mark.parametrize(
    ("types", "key", "message"),
    [
        ({"bus": {"length_m": 40.0}}, "vehicle_types.bus.length_m", "<= 30"),
        ({"bus": {"accel_mps2": 0.0}}, "vehicle_types.bus.accel_mps2", "> 0"),
        ({"bus": {"speed_factor": 3.0}}, "vehicle_types.bus.speed_factor", "<= 2"),
        ({"bus": {"speed_dev": -0.1}}, "vehicle_types.bus.speed_dev", ">= 0"),
        ({"bus": {"max_speed_mps": 90}}, "vehicle_types.bus.max_speed_mps", "<= 70"),
        ({"bus": {"sigma": "high"}}, "vehicle_types.bus.sigma", "a number"),
        ({"bus": {"colour": "red"}}, "vehicle_types.bus.colour", "unknown key"),
        ({"bus": 3}, "vehicle_types.bus", "a table"),
        ({"bus": {"vclass": "tram"}}, "vehicle_types.bus.vclass", "one of 'passenger', .*'bus'"),
        ({"bus": {"share": 1.5}}, "vehicle_types.bus.share", "<= 1"),
        (
            {"bus": {"share": 0.6}, "car": {}, "truck": {"share": 0.5}},
            "vehicle_types.truck.share",
            r"expected vehicle_types\.bus\.share \+ vehicle_types\.truck\.share <= 1 .*, got 1\.1",
        ),
        ({"my bus": {}}, "vehicle_types.my bus", "without white space"),
        ({"default": {}}, "vehicle_types.default", "other than 'default'"),
        ([1], "vehicle_types", "a table"),
    ],
)
def test_type_errors_name_the_key(types, key, message):
    with pytest.raises(ScenarioError, match=message) as error:
        scenario_with_types(types)
    assert error.value.key == key


def test_a_trip_naming_an_undeclared_type_is_an_error_naming_file_line_and_the_declared_ones(tmp_path):
    with pytest.raises(DemandError) as error:
        CityModel(straight_road(tmp_path, ["t0,0,F0,F1,bus", "t1,5,F0,F1,tram"], {"bus": {}}))
    text = str(error.value)
    assert "trips.csv: line 3: type:" in text and "'tram'" in text and "'default', 'bus'" in text
    # read alone, without the scenario's types, any name is taken
    assert read_trip_table(tmp_path / "trips.csv").types == ("bus", "tram")


def test_the_type_column_is_optional_and_empty_means_the_default(tmp_path):
    straight_road(tmp_path, ["t0,0,F0,F1,", "t1,1,F0,F1,default", "t2,2,F0,F1,bus"], {})
    trips = read_trip_table(tmp_path / "trips.csv", types=["bus"])
    assert trips.types == (DEFAULT_VEHICLE_TYPE, DEFAULT_VEHICLE_TYPE, "bus")


# ----- shares in the demand ------------------------------------------------------------------
SHARES = {"bus": {"vclass": "bus", "share": 0.1}, "truck": {"vclass": "truck", "share": 0.25}, "van": {}}


def demand_scenario(folder, demand: dict, types: dict, seed: int = 7):
    """A 1x1 grid (W0, E0, S0, N0 around n0_0) with ``demand`` and ``types``."""
    (folder / "od.csv").write_text("origin,destination,rate_vph\nW0,E0,1200\nS0,N0,800\n", encoding="utf-8")
    return scenario_from_dict(
        {
            "name": "shares",
            "seed": seed,
            "network": {"type": "grid", "rows": 1, "cols": 1},
            "demand": demand | ({"matrix": str(folder / "od.csv")} if demand["type"] == "matrix" else {}),
            "vehicle_types": types,
        }
    )


@pytest.mark.parametrize("demand", [{"type": "uniform", "rate_vph": 2000.0}, {"type": "matrix"}])
def test_generated_trips_take_types_by_their_shares(tmp_path, demand):
    scenario = demand_scenario(tmp_path, demand | {"duration_s": 3600.0}, SHARES)
    graph = build_network(scenario.network.type, scenario.network.kwargs())
    trips = trips_for(scenario, graph, np.random.default_rng(1))
    n = len(trips)
    assert 1800 <= n <= 2200
    counts = {name: trips.types.count(name) for name in (DEFAULT_VEHICLE_TYPE, "bus", "truck", "van")}
    for name, share in ((DEFAULT_VEHICLE_TYPE, 0.65), ("bus", 0.1), ("truck", 0.25), ("van", 0.0)):
        # within 4 standard errors of a binomial draw
        assert abs(counts[name] / n - share) <= 4.0 * math.sqrt(share * (1 - share) / n) + 1e-12, counts
    # the shares are drawn after the trips: the same departures, origins and destinations
    untyped = trips_for(
        demand_scenario(tmp_path, demand | {"duration_s": 3600.0}, {}), graph, np.random.default_rng(1)
    )
    np.testing.assert_array_equal(trips.depart_s, untyped.depart_s)
    assert (trips.origin, trips.destination) == (untyped.origin, untyped.destination)
    assert set(untyped.types) == {DEFAULT_VEHICLE_TYPE}


def test_a_trip_tables_type_column_wins_over_shares_and_a_table_without_one_takes_them(tmp_path):
    rows_ = [f"t{i},{i},F0,F1,{'bus' if i % 2 else ''}" for i in range(400)]
    types = {"bus": {"share": 0.5}}
    typed = trips_for(straight_road(tmp_path, rows_, types), None, np.random.default_rng(0))
    assert typed.types == tuple("bus" if i % 2 else DEFAULT_VEHICLE_TYPE for i in range(400))
    plain = [row.rpartition(",")[0] for row in rows_]
    drawn = trips_for(
        straight_road(tmp_path, plain, types, with_type_column=False), None, np.random.default_rng(0)
    )
    assert 150 <= drawn.types.count("bus") <= 250 and set(drawn.types) == {DEFAULT_VEHICLE_TYPE, "bus"}


def run_folder(scenario, folder):
    write_results(CityModel(scenario).run().results(), folder)
    return (folder / "trips.csv").read_bytes(), json.loads((folder / "summary.json").read_text())


def test_a_seed_gives_the_same_trips_and_a_summary_by_type(tmp_path):
    demand = {"type": "uniform", "rate_vph": 1200.0, "duration_s": 600.0}
    scenario = demand_scenario(tmp_path, demand, SHARES)
    first, summary = run_folder(scenario, tmp_path / "a")
    again, _ = run_folder(scenario, tmp_path / "b")
    other, _ = run_folder(demand_scenario(tmp_path, demand, SHARES, seed=8), tmp_path / "c")
    assert first == again and first != other
    by_type = summary["by_type"]
    assert set(by_type) == {DEFAULT_VEHICLE_TYPE, "bus", "truck"}
    assert sum(part["trips"] for part in by_type.values()) == summary["metrics"]["trips"]
    assert sum(part["completed"] for part in by_type.values()) == summary["metrics"]["completed"]
    for part in by_type.values():
        assert part["mean_travel_time_all_s"] > 0 and part["mean_delay_all_s"] is not None
    trips = pd.read_csv(tmp_path / "a" / "trips.csv")
    travel_s = (trips["arrive_s"] - trips["depart_s"]).groupby(trips["type"]).mean()
    for name, mean_s in travel_s.items():
        assert by_type[name]["mean_travel_time_completed_s"] == pytest.approx(mean_s)
    _, untyped = run_folder(demand_scenario(tmp_path, demand, {}), tmp_path / "d")
    assert "by_type" not in untyped
