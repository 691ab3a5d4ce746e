"""Emergency response: the [emergency] table, dispatch, queueing, vehicles in traffic and preemption."""

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim.control.holds import Holder
from sim.emergency.feature import EMERGENCY_STREAM
from sim.emergency.incidents import (
    Incident,
    LocationError,
    generate_times_s,
    resolve_scene,
    sample_locations,
)
from sim.emergency.vehicles import VehicleState
from sim.model import CityModel
from sim.network import builders
from sim.scenario import ScenarioError, scenario_from_dict
from sim.traffic.codes import GREEN, RED, YELLOW


def _scenario(tmp_path=None, incidents=None, emergency=None, cols=6, rate_vph=1.0, **signals):
    """A one-row grid (a corridor of signals) with an optional [emergency] table.

    ``incidents``: rows ``(time_s, location, severity, on_scene_s)`` written as the table.
    """
    data = {
        "name": "emergency-test",
        "seed": 3,
        "network": {"type": "grid", "rows": 1, "cols": cols, "block_m": 200.0, "speed_mps": 13.89},
        "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": 300.0},
        "signals": {
            "controller": "fixed_time",
            "green_s": 20.0,
            "yellow_s": 3.0,
            "all_red_s": 2.0,
            **signals,
        },
        "simulation": {"max_time_s": 900.0},
        # every driver at the limit, so an emergency vehicle's free-flow time is its own
        "vehicles": {"speed_dev": 0.0},
    }
    if emergency is not None or incidents is not None:
        table = {"stations": [{"name": "west", "node": "n0_0", "vehicles": 1}], **(emergency or {})}
        if incidents is not None:
            path = tmp_path / "incidents.csv"
            lines = ["time_s,location,severity,on_scene_s"] + [",".join(map(str, row)) for row in incidents]
            path.write_text("\n".join(lines) + "\n")
            table.update(source="table", table=str(path))
        data["emergency"] = table
    return scenario_from_dict(data)


def _incidents(model):
    return model.results().extras["incidents"].set_index("id")


def _signal(model, node):
    return int(np.flatnonzero(np.asarray(model.net.node_ids)[model.net.signal_nodes] == node)[0])


def _phase(model, signal, axis):
    net = model.net
    return next(
        p
        for p in range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1])
        if net.phase_axis[p] == axis
    )


# ----- the [emergency] table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("emergency", "message"),
    [
        ({"stations": []}, r"emergency\.stations: expected at least one"),
        ({"stations": [{"name": "a"}]}, r"emergency\.stations\[0\]\.node: missing required key"),
        (
            {"stations": [{"name": "a", "node": "n0_0", "depot": 1}]},
            r"emergency\.stations\[0\]\.depot: unknown key",
        ),
        (
            {"stations": [{"name": "a", "node": "n0_0", "vehicles": 0}]},
            r"emergency\.stations\[0\]\.vehicles: expected an integer >= 1",
        ),
        (
            {"stations": [{"name": "a", "node": "n0_0"}, {"name": "a", "node": "n1_0"}]},
            r"emergency\.stations\[1\]\.name: expected a station name not used before",
        ),
        ({"preemption": "always"}, r"emergency\.preemption: expected one of 'off', 'local', 'green_wave'"),
        ({"source": "table"}, r"emergency\.table: expected an incident table CSV"),
        (
            {"hourly_profile": [1.0, 2.0]},
            r"emergency\.hourly_profile: expected a list of 24 hourly multipliers",
        ),
        (
            {"severity_weights": [0.0, 0.0]},
            r"emergency\.severity_weights: expected weights with a positive sum",
        ),
        ({"location": "weighted_nodes"}, r"emergency\.weight_attribute: expected a node attribute name"),
        ({"end_s": 10.0, "start_s": 20.0}, r"emergency\.end_s: expected end_s > start_s"),
    ],
)
def test_bad_emergency_keys_are_named(emergency, message):
    with pytest.raises(ScenarioError, match=message):
        _scenario(emergency={"stations": [{"name": "west", "node": "n0_0"}], **emergency})


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "time_s,location,severity\n10,n1_0,2\n20,n2_0,high\n",
            r"line 3: column 'severity': expected an integer",
        ),
        (
            "time_s,location,severity\n-5,n1_0,2\n",
            r"line 2: column 'time_s': expected a number >= 0, got '-5'",
        ),
        ("time_s,location\n10,n1_0\n", r"line 1: missing column\(s\) \['severity'\]"),
        ("time_s,location,severity,crew\n10,n1_0,1,3\n", r"line 1: unknown column\(s\) \['crew'\]"),
        ("time_s,location,severity\n10,n1_0\n", r"line 2: expected 3 fields, got 2"),
        (
            "time_s,location,severity,on_scene_s\n10,n1_0,1,0\n",
            r"line 2: column 'on_scene_s': expected a number > 0",
        ),
    ],
)
def test_incident_table_errors_name_the_file_and_line(tmp_path, rows, message):
    path = tmp_path / "calls.csv"
    path.write_text(rows)
    emergency = {"stations": [{"name": "west", "node": "n0_0"}], "source": "table", "table": str(path)}
    with pytest.raises(ScenarioError, match=rf"emergency\.table: .*calls\.csv {message}"):
        _scenario(emergency=emergency)


def test_locations_and_stations_are_checked_against_the_network(tmp_path):
    scenario = _scenario(tmp_path, incidents=[(10, "n1_0", 1, 60), (20, "zz", 1, 60)])
    with pytest.raises(
        ScenarioError, match=r"emergency\.table: .*incidents\.csv line 3: column 'location': no node 'zz'"
    ):
        CityModel(scenario)
    scenario = _scenario(emergency={"stations": [{"name": "west", "node": "nowhere"}]})
    with pytest.raises(
        ScenarioError, match=r"emergency\.stations\[0\]\.node: expected a node of the network"
    ):
        CityModel(scenario)


def test_the_table_survives_a_round_trip_through_overrides():
    scenario = _scenario(emergency={"preemption": "local", "hourly_profile": [1.0] * 24})
    again = scenario.with_overrides({"emergency.preemption": "green_wave"})
    assert again.section("emergency").preemption == "green_wave"
    assert again.section("emergency").stations == scenario.section("emergency").stations


# ----- incidents ----------------------------------------------------------------------------


def test_poisson_calls_follow_the_hourly_profile():
    rng = np.random.default_rng(1)
    profile = [0.0] * 12 + [2.0] * 12
    times = generate_times_s(rng, 100.0, 0.0, 24 * 3600.0, clock_start_h=6.0, hourly_profile=profile)
    clock_h = (6.0 + times / 3600.0) % 24
    assert np.all(clock_h >= 12.0), "no call in the hours with multiplier 0"
    assert abs(len(times) - 2400) < 4 * math.sqrt(2400)
    assert np.all(np.diff(times) >= 0.0)


def test_locations_links_and_weights():
    graph = builders.grid(2, 2)
    rng = np.random.default_rng(0)
    links = sample_locations(rng, graph, "links", 50)
    assert all(u.startswith("n") and v.startswith("n") for u, v in (s.split("->") for s in links))
    nodes = sample_locations(rng, graph, "nodes", 50)
    assert set(nodes) <= {"n0_0", "n0_1", "n1_0", "n1_1"}
    with pytest.raises(LocationError, match="attribute 'population' must be a number >= 0, got None"):
        sample_locations(rng, graph, "weighted_nodes", 5, "population")


def test_calls_come_from_their_own_stream_and_leave_the_demand_alone():
    plain = CityModel(_scenario(rate_vph=600.0))
    emergency = {"rate_per_h": 30.0, "end_s": 600.0}
    with_calls = CityModel(_scenario(rate_vph=600.0, emergency=emergency))
    assert plain.trips == with_calls.trips
    again = CityModel(_scenario(rate_vph=600.0, emergency=emergency))
    calls = [
        (i.call_s, i.location, i.severity, i.on_scene_s) for i in with_calls.features["emergency"].incidents
    ]
    assert calls == [
        (i.call_s, i.location, i.severity, i.on_scene_s) for i in again.features["emergency"].incidents
    ]
    rng = np.random.default_rng([3, EMERGENCY_STREAM])
    assert [c[0] for c in calls] == generate_times_s(rng, 30.0, 0.0, 600.0).tolist()


# ----- dispatch -------------------------------------------------------------------------------


def test_the_vehicle_with_the_least_expected_travel_time_under_current_link_times_is_sent(tmp_path):
    stations = [{"name": "near", "node": "n1_0"}, {"name": "far", "node": "n4_0"}]
    scenario = _scenario(tmp_path, incidents=[(80, "n2_0", 1, 60)], emergency={"stations": stations})
    model = CityModel(scenario)
    # a queue on the near station's only way to the scene: n2_0 held red for east-west traffic
    signal = _signal(model, "n2_0")
    model.holds.hold(signal, _phase(model, signal, "NS"), Holder.TRANSIT_PRIORITY)
    for _ in range(10):
        model.add_vehicle(["W0", "n0_0", "n1_0", "n2_0", "n3_0"])
        model.run(until_s=model.time_s + 3.0)
    model.run(until_s=80.0)
    times = model.link_travel_times_s()
    graph, index = model.graph, model.net.edge_index

    def cost(station, weight):
        return nx.dijkstra_path_length(graph, station, "n2_0", weight=lambda u, v, _d: weight[index[(u, v)]])

    free_flow = model.net.edge_length_m / model.net.edge_speed_mps
    assert cost("n1_0", free_flow) < cost("n4_0", free_flow), "in free flow the near station is nearer"
    expected = {name: cost(node, times) for name, node in (("near", "n1_0"), ("far", "n4_0"))}
    assert expected["far"] < expected["near"], "the queue makes the far station faster now"
    model.step()  # the call is decided now
    row = _incidents(model).loc["incident0"]
    assert row["station"] == "far"
    assert row["expected_travel_s"] == pytest.approx(expected["far"])
    model.holds.release(signal, Holder.TRANSIT_PRIORITY)
    model.run(until_s=400.0)
    row = _incidents(model).loc["incident0"]
    assert row["travel_s"] == pytest.approx(row["expected_travel_s"], abs=8.0)


def test_waiting_calls_are_served_by_severity_then_call_time(tmp_path):
    calls = [
        (10, "n3_0", 2, 100),
        (20, "n1_0", 3, 20),
        (30, "n2_0", 1, 20),
        (40, "n1_0", 3, 20),
        (50, "n2_0", 1, 20),
    ]
    model = CityModel(_scenario(tmp_path, incidents=calls))
    dispatcher = model.features["emergency"].dispatcher
    model.run(until_s=60.0)
    assert [i.id for i in dispatcher.waiting] == ["incident2", "incident4", "incident1", "incident3"]
    model.run()
    rows = _incidents(model)
    assert rows["arrive_s"].notna().all()
    served = rows.sort_values("dispatch_s").index.tolist()
    assert served == ["incident0", "incident2", "incident4", "incident1", "incident3"]
    assert rows["queued"].tolist() == [False, True, True, True, True]
    assert rows.loc[served[1:], "dispatched_from"].eq("scene").all(), (
        "a waiting call takes the vehicle off its scene"
    )
    assert np.allclose(rows["dispatch_delay_s"] + rows["travel_s"], rows["response_s"])
    assert np.allclose(rows["clear_s"] - rows["arrive_s"], [100, 20, 20, 20, 20], atol=1.0)


def test_a_vehicle_on_its_way_back_is_sent_to_a_new_call(tmp_path):
    model = CityModel(_scenario(tmp_path, incidents=[(5, "n5_0", 2, 10)]))
    feature = model.features["emergency"]
    vehicle = feature.dispatcher.fleet[0]
    while not (vehicle.state is VehicleState.RETURNING and vehicle.vid is not None):
        assert model.time_s < 400.0
        model.step()
    model.run(until_s=model.time_s + 5.0)
    vid = vehicle.vid
    location = "n2_0"
    call = Incident("late", model.time_s, location, 1, 30.0, resolve_scene(model.net, location))
    feature.dispatcher.call(call)
    assert vehicle.state is VehicleState.RESPONDING and vehicle.vid == vid, (
        "the same kernel vehicle turns around"
    )
    assert model.traffic.is_emergency(vid)
    model.run()
    rows = _incidents(model)
    assert rows.loc["late", "dispatched_from"] == "returning"
    assert rows.loc["late", "arrive_s"] > rows.loc["late", "dispatch_s"]
    assert math.isnan(rows.loc["incident0", "return_s"]), "it never got home from the first call"
    assert rows.loc["late", "return_s"] > 0.0
    vehicles = model.results().extras["emergency_vehicles"]
    assert vehicles.loc[0, "incidents"] == 2
    spent = vehicles.loc[0, ["responding_s", "on_scene_s", "returning_s", "idle_s"]].sum()
    assert spent == pytest.approx(model.time_s)
    busy = vehicles.loc[0, "responding_s"] + vehicles.loc[0, "on_scene_s"]
    assert vehicles.loc[0, "utilization"] == pytest.approx(busy / model.time_s)


def test_call_processing_delays_the_decision(tmp_path):
    scenario = _scenario(tmp_path, incidents=[(5, "n2_0", 1, 30)], emergency={"processing_s": 45.0})
    row = _incidents(CityModel(scenario).run()).loc["incident0"]
    assert row["dispatch_s"] == pytest.approx(50.0, abs=1.0)
    assert row["response_s"] == pytest.approx(row["travel_s"] + 45.0, abs=1.0)


def test_an_incident_on_a_link_is_reached_at_the_end_of_that_link(tmp_path):
    model = CityModel(_scenario(tmp_path, incidents=[(5, "n3_0->n2_0", 1, 30)])).run()
    row = _incidents(model).loc["incident0"]
    assert row["scene_node"] == "n2_0" and row["arrive_s"] > 5.0
    # past n2_0 to n3_0, out to the fringe stub and back (no U-turn at n3_0), then along the link
    assert row["free_flow_travel_s"] == pytest.approx(6 * 200.0 / 13.89)


# ----- preemption -----------------------------------------------------------------------------


def _run_recording(scenario, until_s=700.0):
    """Run step by step; record each signal connection's state and the responding vehicle's crossings."""
    model = CityModel(scenario)
    net, traffic = model.net, model.traffic
    at_signals = net.phase_conns[: net.phase_conn_ptr[-1]]
    states, crossings = [], []
    vehicle = model.features["emergency"].dispatcher.fleet[0] if "emergency" in model.features else None
    last = next_conn = None
    while model.time_s < until_s:
        model.step()
        states.append(traffic.conn_state[at_signals].copy())
        if vehicle is not None and vehicle.state is VehicleState.RESPONDING and vehicle.vid is not None:
            ptr = int(traffic.route_positions(vehicle.vid))
            if last is not None and ptr > last:
                crossings.append(int(traffic.conn_state[next_conn]))
            last, next_conn = ptr, int(traffic.next_connections(vehicle.vid))
        else:
            last = None
    return model, np.array(states), at_signals, crossings


@pytest.mark.parametrize("mode", ["local", "green_wave"])
def test_preemption_never_skips_yellow_or_all_red_and_hands_the_signal_back(tmp_path, mode):
    scenario = _scenario(tmp_path, incidents=[(5, "n5_0", 1, 30)], emergency={"preemption": mode})
    model, states, conns, crossings = _run_recording(scenario)
    preemptions = model.results().extras["preemptions"]
    assert len(preemptions) >= 5 and preemptions["crossed"].all()
    assert (~preemptions["already_green"]).any(), "some signal had to switch for the vehicle"
    assert (preemptions["green_s"] >= preemptions["request_s"]).all()
    net = model.net
    yellow_steps, all_red_steps = 3, 2
    signal_of_conn = {}
    for s in range(net.n_signals):
        for p in range(net.signal_phase_ptr[s], net.signal_phase_ptr[s + 1]):
            for c in net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]]:
                signal_of_conn[int(c)] = s
    column = {int(c): i for i, c in enumerate(conns)}
    for c, i in column.items():
        series = states[:, i]
        same_signal = [column[d] for d, s in signal_of_conn.items() if s == signal_of_conn[c]]
        for t in range(1, len(series)):
            before, now = series[t - 1], series[t]
            assert not (before == GREEN and now == RED), f"connection {c} skipped its yellow at step {t}"
            if before == YELLOW and now != YELLOW:
                assert np.all(series[t - yellow_steps : t] == YELLOW), f"connection {c}: short yellow at {t}"
            if before == RED and now == GREEN:
                window = states[t - all_red_steps : t][:, same_signal]
                assert np.all(window == RED), f"connection {c} turned green without a full all-red at {t}"
    assert crossings and all(state == GREEN for state in crossings), "every signal was green for it"
    # after the preemptions the fixed-time plans run exactly as in a run without the layer
    plain, plain_states, _, _ = _run_recording(_scenario(tmp_path))
    released = preemptions["release_s"].max()
    settled = int(released + 2 * 50.0)
    assert np.array_equal(states[settled:], plain_states[settled:])


def test_preemption_cuts_the_travel_time_of_a_vehicle_that_meets_reds(tmp_path):
    travel = {}
    for mode in ("off", "local", "green_wave"):
        model = CityModel(_scenario(tmp_path, incidents=[(5, "n5_0", 1, 30)], emergency={"preemption": mode}))
        row = _incidents(model.run()).loc["incident0"]
        travel[mode] = row["travel_s"]
        if mode != "off":
            assert row["travel_s"] == pytest.approx(row["free_flow_travel_s"], abs=4.0)
    assert travel["off"] > travel["green_wave"] + 5.0
    assert travel["off"] > travel["local"] + 5.0


# ----- the layer without calls changes nothing -------------------------------------------------


def _busy(emergency=None):
    data = {
        "name": "busy",
        "seed": 9,
        "network": {"type": "grid", "rows": 3, "cols": 3},
        "demand": {"type": "uniform", "rate_vph": 1500.0, "duration_s": 600.0},
        "signals": {"controller": "fixed_time", "all_red_s": 1.0},
        "simulation": {"max_time_s": 1200.0},
    }
    if emergency is not None:
        data["emergency"] = emergency
    return scenario_from_dict(data)


@pytest.mark.parametrize("source", ["poisson", "table"])
def test_without_incidents_the_results_are_those_of_the_scenario_without_the_layer(tmp_path, source):
    emergency = {"stations": [{"name": "a", "node": "n1_1", "vehicles": 2}], "preemption": "green_wave"}
    if source == "poisson":
        emergency["rate_per_h"] = 0.0
    else:
        path = tmp_path / "none.csv"
        path.write_text("time_s,location,severity\n")
        emergency.update(source="table", table=str(path))
    plain = CityModel(_busy()).run().results()
    layered = CityModel(_busy(emergency)).run().results()
    for name in ("trips", "series", "links"):
        pd.testing.assert_frame_equal(getattr(plain, name), getattr(layered, name))
    assert layered.info["emergency"]["incidents"] == 0
    assert len(layered.extras["incidents"]) == 0 and len(layered.extras["emergency_vehicles"]) == 2


def test_runs_with_calls_are_deterministic():
    emergency = {
        "stations": [{"name": "a", "node": "n1_1", "vehicles": 1}],
        "rate_per_h": 40.0,
        "end_s": 600.0,
    }
    first = CityModel(_busy({**emergency, "preemption": "green_wave"})).run().results()
    second = CityModel(_busy({**emergency, "preemption": "green_wave"})).run().results()
    assert len(first.extras["incidents"]) > 2
    for name in ("incidents", "emergency_vehicles", "preemptions"):
        pd.testing.assert_frame_equal(first.extras[name], second.extras[name])
    pd.testing.assert_frame_equal(first.trips, second.trips)
