"""CityModel end to end: agents on events, the results contract, sane metrics and gridlock."""

import numpy as np
import pytest

from sim.agents.vehicle import Vehicle
from sim.metrics.results import LINK_COLUMNS, SERIES_COLUMNS, TRIP_COLUMNS
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.scenario import scenario_from_dict
from sim.traffic.codes import HALT_MPS, ST_ON_NETWORK, ST_WAITING


def vehicle_agents(model: CityModel) -> list[Vehicle]:
    return list(model.agents_by_type.get(Vehicle, []))


def assert_agents_match_traffic(model: CityModel) -> None:
    """A Vehicle agent exists exactly for each released vehicle that has not arrived."""
    traffic = model.traffic
    agents = vehicle_agents(model)
    assert len(agents) == traffic.n_released - traffic.n_arrived
    status = traffic.statuses()
    under_way = np.flatnonzero((status == ST_WAITING) | (status == ST_ON_NETWORK))
    np.testing.assert_array_equal(np.sort([agent.vid for agent in agents]).astype(int), under_way)


def test_vehicle_agents_exist_only_while_their_trip_is_under_way(demo_scenario):
    model = CityModel(demo_scenario)
    assert vehicle_agents(model) == []
    peak = 0
    for _ in range(300):  # step by step through the busiest part
        model.step()
        assert_agents_match_traffic(model)
        peak = max(peak, len(vehicle_agents(model)))
    assert peak > 20
    while not model.finished:  # then in report-sized chunks
        assert model.time_s < demo_scenario.simulation.max_time_s, "the demo did not finish"
        model.run(until_s=model.time_s + 60.0)
        assert_agents_match_traffic(model)
    assert vehicle_agents(model) == []


def test_demo_run_results_follow_the_contract_and_are_sane(demo_scenario):
    model = CityModel(demo_scenario).run()
    results = model.results()
    for frame, columns in (
        (results.trips, TRIP_COLUMNS),
        (results.series, SERIES_COLUMNS),
        (results.links, LINK_COLUMNS),
    ):
        assert list(columns) == list(frame.columns[: len(columns)])
    trips = results.trips
    n = len(model.trips)
    assert len(trips) == n > 100
    assert trips["arrive_s"].notna().all(), "every trip arrives"
    assert (trips["enter_s"] >= trips["depart_s"]).all()
    # free flow is at the limits; a driver's own speed factor (SUMO's default spread, deviation
    # 0.1) may exceed 1, though hardly by 5 deviations
    assert (trips["arrive_s"] - trips["depart_s"] >= trips["free_flow_s"] / 1.5 - 1.0).all()
    # every trip drove exactly its route
    lengths = [
        sum(model.graph.edges[u, v]["length_m"] for u, v in zip(path[:-1], path[1:], strict=True))
        for path in (
            model.router.shortest_path(o, d)
            for o, d in zip(trips["origin"], trips["destination"], strict=True)
        )
    ]
    np.testing.assert_allclose(trips["distance_m"], lengths)

    series = results.series
    assert series["departed"].sum() == n and series["arrived"].sum() == n
    assert series["vehicles_on_network"].iloc[-1] == 0 and series["entry_backlog"].iloc[-1] == 0
    # one row per 60 s report, and a last one at the end of the run
    np.testing.assert_allclose(series["time_s"].iloc[:-1], 60.0 * np.arange(1, len(series)))
    assert series["time_s"].iloc[-1] == model.time_s
    # link exits add up to every edge of every route, once
    spans = np.diff(np.r_[0.0, series["time_s"].to_numpy()])
    exits = results.links["flow_vph"].to_numpy().reshape(len(series), -1) * spans[:, None] / 3600.0
    n_edges = sum(
        len(model.router.shortest_path(o, d)) - 1
        for o, d in zip(trips["origin"], trips["destination"], strict=True)
    )
    assert exits.sum() == pytest.approx(n_edges)

    summary = summarize(results)
    assert summary["completion_rate"] == 1.0
    assert summary["mean_delay_all_s"] == summary["mean_delay_completed_s"] >= -0.5
    assert summary["mean_travel_time_all_s"] >= (trips["free_flow_s"]).mean() - 0.5
    assert results.info["status"] == "completed"
    assert 0.0 < summary["mean_speed_completed_mps"] <= 13.89
    assert results.info["gridlock"] == [] and results.info["stalled_at_s"] is None


def test_absurd_demand_on_a_tiny_grid_queues_at_the_entries_without_teleporting(check_state):
    scenario = scenario_from_dict(
        {
            "name": "flooded",
            "seed": 3,
            "network": {"type": "grid", "rows": 2, "cols": 2},
            "demand": {"type": "uniform", "rate_vph": 20000.0, "duration_s": 600.0},
            "simulation": {"gridlock_s": 120.0, "report_interval_s": 30.0},
        }
    )
    model = CityModel(scenario)
    traffic = model.traffic
    backlog = []
    for _ in range(600):
        model.step()
        check_state(traffic)
        assert_agents_match_traffic(model)
        backlog.append(traffic.n_waiting)
    # demand is about ten times what the fringe links can take: the entry queues keep growing
    per_minute = np.array(backlog[59::60])
    assert np.all(np.diff(per_minute) > 0)
    assert backlog[-1] > 1500
    assert traffic.n_arrived > 200, "the network still moves"


def test_circular_spillback_on_a_ring_is_reported_as_gridlock_and_stops_the_run(check_state):
    # A one-way ring whose entries merge without yielding fills up until every ring link's head
    # waits for room on the next ring link: a circular wait that can never clear.
    scenario = scenario_from_dict(
        {
            "name": "ring_jam",
            "seed": 3,
            "network": {"type": "ring", "n_nodes": 3, "radius_m": 50.0},
            "demand": {"type": "uniform", "rate_vph": 20000.0, "duration_s": 600.0},
            "simulation": {"gridlock_s": 120.0, "report_interval_s": 30.0, "max_time_s": 1800.0},
        }
    )
    model = CityModel(scenario)
    model.run()
    traffic, net, cf = model.traffic, model.net, model.traffic.cf
    check_state(traffic)
    assert model.recorder.stalled_at_s is not None and model.time_s == model.recorder.stalled_at_s < 1800.0
    assert model.recorder.gridlock
    for report in model.recorder.gridlock:
        lanes = report["lanes"]
        assert report["since_s"] <= report["detected_s"] - 120.0
        assert report["edges"] and len(report["edges"]) == len(lanes)
        # each lane's head stands at its stop line waiting for a lane of the same loop, which
        # has no room for it
        for lane in lanes:
            head = traffic.lane_vehicles(lane)[0]
            edge = net.lane_edge[lane]
            assert traffic.positions_m(head) > net.edge_length_m[edge] - 1.0
            assert traffic.speeds_mps(head) < HALT_MPS
            next_edge = traffic.route_ahead(head).edges[1]
            (next_lane,) = [other for other in lanes if net.lane_edge[other] == next_edge]
            tail = traffic.lane_vehicles(next_lane)[-1]
            room_m = traffic.positions_m(tail) - cf.length_m - cf.min_gap_m
            assert room_m < cf.length_m
    series = model.results().series
    quiet = series[series["time_s"] > model.recorder.stalled_at_s - 120.0 + 1e-9]
    assert (quiet["departed"] == 0).all() and (quiet["arrived"] == 0).all()
