"""Autonomous shuttles: schema, request tables, legs, insertion, both services, signal priority."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from sim.model import CityModel
from sim.network import grid, save_network_json
from sim.scenario import ScenarioError, scenario_from_dict
from sim.shuttles import PassengerState
from sim.shuttles.feature import OUTSIDE_HOURS
from sim.shuttles.insertion import Dwell, Rider, Task, best_insertion
from sim.shuttles.requests import poisson_requests
from sim.shuttles.service import NO_FLEET, NO_INSERTION, PARTY_TOO_LARGE
from sim.traffic.codes import GREEN, RED, YELLOW

LOOP = ["n0_0", "n2_0", "n2_2", "n0_2"]


def _scenario(shuttles, rate_vph=120.0, max_time_s=2400.0, network=None, signals=None, vehicles=None):
    data = {
        "name": "shuttles",
        "seed": 3,
        "network": network or {"type": "grid", "rows": 3, "cols": 3},
        "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": 1200.0},
        "signals": {"controller": "fixed_time", **(signals or {})},
        "simulation": {"max_time_s": max_time_s},
        "shuttles": {"stops": LOOP, "service_end_s": 1200.0, **shuttles},
    }
    if vehicles:
        data["vehicles"] = vehicles
    return scenario_from_dict(data)


def _run(scenario):
    model = CityModel(scenario)
    model.run()
    return model, model.results()


# ----- schema and request tables --------------------------------------------------------
def test_defaults_and_overrides_round_trip():
    scenario = _scenario(
        {"od": [["n0_0", "n2_2", 30.0], {"origin": "n2_2", "destination": "n0_0", "rate_pph": 5}]}
    )
    spec = scenario.section("shuttles")
    assert spec.service == "fixed_route" and spec.capacity == 8 and spec.timing_stops == ("n0_0",)
    assert spec.od[1].rate_pph == 5.0
    again = scenario.with_overrides({"shuttles.fleet_size": 0})
    assert again.section("shuttles").fleet_size == 0
    assert again.section("shuttles").od == spec.od


@pytest.mark.parametrize(
    ("shuttles", "match"),
    [
        ({"stops": ["n0_0"]}, r"shuttles\.stops: expected at least 2 stop node ids"),
        ({"stops": ["n0_0", "n1_0", "n0_0"]}, r"shuttles\.stops\[2\]: expected a node id not listed before"),
        ({"timing_points": ["n1_1"]}, r"shuttles\.timing_points\[0\]: expected one of shuttles\.stops"),
        ({"od": [["n0_0", "n0_0", 3.0]]}, r"shuttles\.od\[0\]: expected an origin different"),
        ({"od": [["n0_0", "n1_1", 3.0]]}, r"shuttles\.od\[0\]: expected origin and destination among"),
        ({"od": [["n0_0", "n2_0"]]}, r"shuttles\.od\[0\]: expected an \[origin, destination, rate_pph\]"),
        ({"patience_s": 100.0}, r"shuttles\.patience_s: expected a patience >= shuttles\.max_wait_s"),
        (
            {"service_start_s": 1300.0},
            r"shuttles\.service_end_s: expected a time > shuttles\.service_start_s",
        ),
        ({"service": "taxi"}, r"shuttles\.service: expected one of 'fixed_route', 'on_demand'"),
        ({"signal_priority": 1}, r"shuttles\.signal_priority: expected true or false"),
        ({"fleet_size": -1}, r"shuttles\.fleet_size: expected an integer >= 0"),
        (
            {"profile": [[10.0, 1.0]]},
            r"shuttles\.profile\[0\]: expected the first piece to start at start_s = 0",
        ),
        ({"colour": "red"}, r"shuttles\.colour: unknown key"),
    ],
)
def test_bad_tables_name_the_key(shuttles, match):
    with pytest.raises(ScenarioError, match=match):
        _scenario(shuttles)


def test_stops_are_required():
    data = _scenario({}).to_dict()
    del data["shuttles"]["stops"]
    with pytest.raises(ScenarioError, match=r"shuttles\.stops: missing required key"):
        scenario_from_dict(data)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("time,origin,destination\n", r"\.csv:1: expected the header time_s,origin,destination"),
        ("time_s,origin,destination\n10,n0_0,n2_0\nsoon,n0_0,n2_0\n", r"\.csv:3: time_s: expected a number"),
        ("time_s,origin,destination\n10,n0_0,n9_9\n", r"\.csv:2: destination: expected one of the stops"),
        ("time_s,origin,destination\n10,n0_0,n0_0\n", r"\.csv:2: destination: expected a stop other than"),
        (
            "time_s,origin,destination,party_size\n10,n0_0,n2_0,0\n",
            r"\.csv:2: party_size: expected an integer",
        ),
        ("time_s,origin,destination\n10,n0_0\n", r"\.csv:2: expected 3 fields"),
    ],
)
def test_request_table_errors_name_file_and_line(tmp_path, text, match):
    table = tmp_path / "requests.csv"
    table.write_text(text)
    with pytest.raises(ScenarioError, match=r"shuttles\.requests: .*" + match):
        _scenario({"requests": str(table)})


def test_request_table_excludes_poisson_keys(tmp_path):
    table = tmp_path / "requests.csv"
    table.write_text("time_s,origin,destination\n10,n0_0,n2_0\n")
    with pytest.raises(ScenarioError, match=r"shuttles\.od: cannot be combined with shuttles\.requests"):
        _scenario({"requests": str(table), "od": [["n0_0", "n2_0", 5.0]]})


def test_a_stop_off_the_network_is_named_when_the_model_is_built():
    scenario = _scenario({"stops": ["n0_0", "nowhere"]})
    with pytest.raises(ScenarioError, match=r"shuttles\.stops\[1\]: expected a node of the network"):
        CityModel(scenario)


def test_poisson_requests_follow_the_profile():
    rng = np.random.default_rng(0)
    rates = [("a", "b", 600.0), ("b", "a", 300.0)]
    requests = poisson_requests(rates, [(0.0, 1.0), (1800.0, 0.0)], 0.0, 3600.0, rng)
    times = [r.time_s for r in requests]
    assert times == sorted(times) and max(times) < 1800.0
    assert 400 < len(requests) < 500  # 450 expected
    assert 0.6 < sum(r.origin == "a" for r in requests) / len(requests) < 0.73


# ----- legs -----------------------------------------------------------------------------
def test_legs_are_drivable_turn_aware_and_start_where_the_shuttle_is():
    model = CityModel(_scenario({"fleet_size": 0}))
    planner = model.features["shuttles"].planner
    net = model.net
    for edge, stop in itertools.product(range(net.n_edges), LOOP):
        leg = planner.leg(edge, stop)
        assert leg.path[:2] == net.edge_keys[edge] and leg.path[-1] == stop
        model.router.route_id(leg.path)  # raises if a turn is missing (no U-turns mid-network)
        assert leg.end == net.edge_index[leg.path[-2:]] and leg.time_s >= 0.0
    parked = planner.leg("n0_0", "n2_0")
    assert parked.path == ("n0_0", "n1_0", "n2_0") and parked.length_m == pytest.approx(400.0)


# ----- insertion heuristic --------------------------------------------------------------
def _line_legs(position, node):
    return abs(int(position[1:]) - int(node[1:])) * 30.0, node


def _check_plan(plan, riders, dwell, capacity, start="a0", start_s=0.0):
    """Drive a plan independently and assert capacity, latest pickups and maximum rides."""
    position, now, load, picked = start, start_s, 0, {}
    visits = [list(group) for _, group in itertools.groupby(plan, key=lambda t: t.node)]
    for visit in visits:
        now += _line_legs(position, visit[0].node)[0]
        position = visit[0].node
        for task in visit:
            if task.pickup:
                assert now <= riders[task.rider].latest_pickup_s + 1e-9
                picked[task.rider] = now
            else:
                assert now - picked[task.rider] <= riders[task.rider].max_ride_s + 1e-9
        boarding = sum(t.persons for t in visit if t.pickup)
        alighting = sum(t.persons for t in visit if not t.pickup)
        load += boarding - alighting
        assert load <= capacity
        now += dwell.visit_s(boarding, alighting)
    return now


def _brute_force(plan, riders, rider, pickup, dropoff, dwell, capacity):
    best = None
    for i in range(len(plan) + 1):
        for j in range(i, len(plan) + 1):
            candidate = (*plan[:i], pickup, *plan[i:j], dropoff, *plan[j:])
            try:
                end = _check_plan(candidate, riders, dwell, capacity)
            except AssertionError:
                continue
            added = end - _check_plan(plan, riders, dwell, capacity)
            best = added if best is None else min(best, added)
    return best


def test_insertion_is_the_cheapest_feasible_and_keeps_every_limit():
    rng = np.random.default_rng(7)
    dwell = Dwell(5.0, 2.0, 1.0)
    riders, plan = {}, ()
    outcomes = []
    for rider in range(40):
        origin, destination = (f"a{x}" for x in rng.choice(10, 2, replace=False))
        persons = int(rng.integers(1, 3))
        direct = _line_legs(origin, destination)[0]
        riders[rider] = Rider(latest_pickup_s=700.0, max_ride_s=1.5 * direct + 60.0)
        pickup, dropoff = Task(origin, rider, True, persons), Task(destination, rider, False, persons)
        found = best_insertion(plan, "a0", 0.0, 0, 4, riders, rider, pickup, dropoff, _line_legs, dwell, 0.0)
        brute = _brute_force(plan, riders, rider, pickup, dropoff, dwell, 4)
        assert (found is None) == (brute is None)
        outcomes.append(found is not None)
        if found is None:
            del riders[rider]
            continue
        assert found.added_s == pytest.approx(brute)
        plan = found.plan
        _check_plan(plan, riders, dwell, 4)
    assert 5 < sum(outcomes) < 35


def test_wait_weight_trades_vehicle_time_for_an_earlier_pickup():
    def one_way_legs(position, node):  # driving back down the line is twice as slow
        dx = int(node[1:]) - int(position[1:])
        return (30.0 if dx >= 0 else 60.0) * abs(dx), node

    dwell = Dwell(0.0, 0.0, 0.0)
    riders = {0: Rider(math.inf, math.inf), 1: Rider(math.inf, 120.0)}
    plan = (Task("a9", 0, True, 1), Task("a5", 0, False, 1))
    # a7 -> a6 lies on the way back from a9 (no added time) or costs a detour on the way out;
    # riding on to a9 and back would exceed its maximum ride
    new = (1, Task("a7", 1, True, 1), Task("a6", 1, False, 1), one_way_legs, dwell, 0.0)
    operator = best_insertion(plan, "a0", 0.0, 0, 4, riders, *new, wait_weight=0.0)
    passenger = best_insertion(plan, "a0", 0.0, 0, 4, riders, *new, wait_weight=1.0)
    assert (operator.added_s, operator.pickup_s) == (0.0, 390.0)
    assert (passenger.added_s, passenger.pickup_s) == (90.0, 210.0)


# ----- simulations ----------------------------------------------------------------------
def _max_load(passengers):
    """Most people on board any shuttle at once, from the journeys (alighting before boarding)."""
    top = 0
    rode = passengers[passengers["board_s"].notna()]
    for _, rows in rode.groupby("shuttle"):
        events = [(t, 0, -n) for t, n in zip(rows["alight_s"], rows["party_size"], strict=True) if t == t]
        events += [(t, 1, n) for t, n in zip(rows["board_s"], rows["party_size"], strict=True)]
        load = 0
        for _, _, change in sorted(events):
            load += change
            top = max(top, load)
    return top


def _assert_consistent_journeys(passengers):
    arrived = passengers[passengers["status"] == "arrived"]
    assert (arrived["request_s"] <= arrived["board_s"]).all()
    assert (arrived["board_s"] <= arrived["alight_s"]).all()
    never = passengers[passengers["status"].isin(["rejected", "gave_up"])]
    assert never["board_s"].isna().all() and never["alight_s"].isna().all() and (never["shuttle"] == -1).all()
    assert (passengers.loc[passengers["status"] == "rejected", "reason"] != "").all()
    riding = passengers[passengers["status"] == "riding"]
    assert riding["board_s"].notna().all() and riding["alight_s"].isna().all()


def test_fixed_route_respects_capacity_journeys_and_the_holding_rule():
    scenario = _scenario(
        {"fleet_size": 2, "capacity": 3, "request_rate_pph": 300.0, "timing_points": ["n0_0", "n2_2"]}
    )
    model, results = _run(scenario)
    passengers = results.extras["shuttle_passengers"]
    visits = results.extras["shuttle_visits"]
    summary = results.info["shuttles"]
    assert summary["requests"] > 50 and summary["served"] > 30
    assert _max_load(passengers) == 3, "the shuttles fill up, and never beyond capacity"
    assert (visits["load"] <= 3).all()
    _assert_consistent_journeys(passengers)
    timed = visits[visits["depart_due_s"].notna()]
    assert len(timed) > 4 and (timed["depart_s"] >= timed["depart_due_s"] - 1e-9).all()
    assert (visits.loc[visits["held_s"] > 0, "node"].isin(["n0_0", "n2_2"])).all()
    assert visits["passed"].any() or summary["gave_up"] > 0
    service = model.features["shuttles"].service
    assert service.headway_s == pytest.approx(service.loop_s / 2)
    vehicles = results.extras["shuttle_vehicles"]
    assert (vehicles["empty_m"] <= vehicles["distance_m"]).all() and vehicles["distance_m"].min() > 1000.0
    assert 0.0 < summary["occupancy_mean"] <= 1.0 and 0.0 < summary["utilization_mean"] <= 1.0


def _signal_free_network(tmp_path):
    path = tmp_path / "grid3_unsignalized.json"
    save_network_json(grid(3, 3, signalized=False), path)
    return {"type": "file", "path": str(path)}


def test_on_demand_keeps_the_wait_and_detour_limits_it_accepted(tmp_path):
    """Planned conservatively (70% of the speed limit, no signals, no driver noise), the
    realized journeys keep the limits too, not only the plans."""
    scenario = _scenario(
        {
            "service": "on_demand",
            "fleet_size": 2,
            "capacity": 3,
            "stops": ["n0_0", "n2_0", "n1_1", "n2_2", "n0_2"],
            "request_rate_pph": 150.0,
            "max_wait_s": 240.0,
            "detour_beta_s": 120.0,
            "planning_speed_factor": 0.7,
            "signal_delay_s": 0.0,
        },
        rate_vph=60.0,
        network=_signal_free_network(tmp_path),
        vehicles={"sigma": 0.0},
    )
    model, results = _run(scenario)
    passengers = results.extras["shuttle_passengers"]
    summary = results.info["shuttles"]
    accepted = passengers[passengers["status"] != "rejected"]
    served = passengers[passengers["status"] == "arrived"]
    assert len(served) > 20 and summary["rejected"] > 0
    assert set(passengers.loc[passengers["status"] == "rejected", "reason"]) == {NO_INSERTION}
    assert (accepted["promised_pickup_s"] <= accepted["latest_pickup_s"] + 1e-9).all()
    promised_ride = accepted["promised_dropoff_s"] - accepted["promised_pickup_s"]
    assert (promised_ride <= accepted["max_ride_s"] + 1e-9).all()
    assert (served["board_s"] <= served["latest_pickup_s"] + 1e-9).all()
    assert (served["ride_s"] <= served["max_ride_s"] + 1e-9).all()
    assert (served["latest_pickup_s"] == served["request_s"] + 240.0).all()
    assert summary["pickups_after_limit"] == 0 and summary["rides_over_limit"] == 0
    assert _max_load(passengers) <= 3
    _assert_consistent_journeys(passengers)


def test_idle_on_demand_shuttles_rebalance_toward_recent_demand():
    scenario = _scenario(
        {
            "service": "on_demand",
            "fleet_size": 2,
            "od": [["n2_2", "n0_0", 30.0]],
            "rebalance_interval_s": 120.0,
        }
    )
    model, results = _run(scenario)
    visits = results.extras["shuttle_visits"]
    empty_arrivals = visits[(visits["boarded"] == 0) & (visits["alighted"] == 0) & ~visits["passed"]]
    assert model.features["shuttles"].service.rebalanced > 0
    assert set(empty_arrivals["node"]) == {"n2_2"}, "idle shuttles move to where requests come from"
    assert results.info["shuttles"]["served"] > 5


def _signal_conns(model):
    net = model.net
    out = []
    for s in range(len(net.signal_nodes)):
        phases = range(net.signal_phase_ptr[s], net.signal_phase_ptr[s + 1])
        out.append(
            np.unique(
                np.concatenate(
                    [net.phase_conns[net.phase_conn_ptr[p] : net.phase_conn_ptr[p + 1]] for p in phases]
                )
            )
        )
    return out


def test_signal_priority_never_skips_yellow_or_all_red():
    """Shuttles planned at 160% of the speed limit are always late, so they ask for priority often."""
    signals = {"green_s": 20.0, "yellow_s": 3.0, "all_red_s": 2.0, "min_green_s": 5.0}
    scenario = _scenario(
        {
            "fleet_size": 3,
            "signal_priority": True,
            "planning_speed_factor": 1.6,
            "signal_delay_s": 0.0,
            "priority_lateness_s": 0.0,
            "priority_max_s": 8.0,
            "priority_recovery_s": 20.0,
        },
        signals=signals,
    )
    model = CityModel(scenario)
    conns = _signal_conns(model)
    states = []
    while model.time_s < 1500.0:
        model.step()
        states.append(model.traffic.conn_state.copy())
    states = np.array(states)
    actions = pd.DataFrame(model.features["shuttles"].priority.actions)
    assert {"extend", "truncate"} <= set(actions["mode"]), "both kinds of priority were given"
    held = actions["released_s"] - actions["time_s"]
    assert (held <= 8.0 + 5.0 + 2.0 + 1e-9).all()
    for signal_conns in conns:
        series = states[:, signal_conns]
        yellow_any = (series == YELLOW).any(axis=1)
        for c in range(series.shape[1]):
            s = series[:, c]
            before, after = s[:-1], s[1:]
            assert not np.any((before == GREEN) & (after == RED)), "green straight to red"
            assert not np.any((before == YELLOW) & (after == GREEN))
            assert not np.any((before == RED) & (after == YELLOW))
            for run_value, run in itertools.groupby(s[1:-1]):
                if run_value == YELLOW:
                    assert len(list(run)) == 3, "yellow runs in full"
            for t in np.flatnonzero((before == RED) & (after == GREEN)) + 1:
                last_yellow = np.flatnonzero(yellow_any[:t])
                if len(last_yellow):
                    assert t - last_yellow[-1] - 1 >= 2, "all-red runs in full"


@pytest.mark.parametrize("service", ["fixed_route", "on_demand"])
def test_a_fleet_of_zero_rejects_every_request_and_says_so(service):
    model, results = _run(_scenario({"service": service, "fleet_size": 0, "request_rate_pph": 60.0}))
    passengers = results.extras["shuttle_passengers"]
    summary = results.info["shuttles"]
    assert len(passengers) > 5
    assert (passengers["status"] == "rejected").all() and (passengers["reason"] == NO_FLEET).all()
    assert summary["rejection_rate"] == 1.0 and summary["served"] == 0
    assert summary["note"] == f"no shuttles (fleet_size = 0): all {len(passengers)} requests rejected"
    assert math.isnan(summary["wait_mean_s"]) and summary["vehicle_km"] == 0.0
    assert model.traffic.n_vehicles == len(model.trips), "no shuttle vehicle entered the kernel"


def test_request_table_parties_and_service_hours(tmp_path):
    table = tmp_path / "requests.csv"
    table.write_text(
        "time_s,origin,destination,party_size\n"
        "300,n2_0,n2_2,4\n"
        "60,n0_0,n2_2,2\n"
        "1500,n0_0,n2_0,1\n"
        "120,n2_2,n0_0,1\n"
    )
    _, results = _run(_scenario({"fleet_size": 1, "capacity": 3, "requests": str(table)}))
    rows = results.extras["shuttle_passengers"].set_index("request_s")
    assert list(rows.index) == [60.0, 120.0, 300.0, 1500.0]
    assert rows.loc[300.0, "reason"] == PARTY_TOO_LARGE and rows.loc[1500.0, "reason"] == OUTSIDE_HOURS
    assert (rows.loc[[60.0, 120.0], "status"] == PassengerState.ARRIVED.value).all()
    assert rows.loc[60.0, "party_size"] == 2 and rows.loc[60.0, "ride_m"] >= rows.loc[60.0, "direct_m"]


def test_same_seed_same_records():
    scenario = _scenario({"service": "on_demand", "fleet_size": 2, "request_rate_pph": 90.0})
    first, second = _run(scenario)[1], _run(scenario)[1]
    for name in ("shuttle_passengers", "shuttle_visits", "shuttle_vehicles", "shuttle_priority"):
        pd.testing.assert_frame_equal(first.extras[name], second.extras[name])
    assert first.info["shuttles"] == second.info["shuttles"] or math.isnan(
        first.info["shuttles"]["wait_mean_s"]
    )


def test_wait_vs_fleet_figure():
    from sim.plots.figures import PlotError
    from sim.plots.shuttle_figures import plot_wait_vs_fleet

    runs = pd.DataFrame(
        {
            "service": ["fixed_route"] * 4 + ["on_demand"] * 4,
            "fleet_size": [2, 2, 4, 4] * 2,
            "seed": [1, 2] * 4,
            "wait_mean_s": [300.0, 320.0, 120.0, 130.0, 280.0, 260.0, 90.0, 100.0],
            "wait_p95_s": [700.0, 720.0, 300.0, 310.0, 560.0, 600.0, 200.0, 220.0],
        }
    )
    figure = plot_wait_vs_fleet(runs)
    (ax,) = figure.axes
    assert len(ax.lines) == 4
    mean_fixed = next(line for line in ax.lines if line.get_label() == "fixed_route: mean")
    assert list(mean_fixed.get_ydata()) == pytest.approx([5.1667, 2.0833], abs=1e-3)
    with pytest.raises(PlotError, match="lacks column"):
        plot_wait_vs_fleet(runs.drop(columns="wait_p95_s"))


def test_shuttles_keep_their_operating_speed_limit():
    model = CityModel(_scenario({"fleet_size": 2, "max_speed_mps": 7.0}, max_time_s=900.0))
    shuttles = model.features["shuttles"]
    top = 0.0
    while model.time_s < 900.0:
        model.step()
        vids = [v for s in shuttles.shuttles for v in s.vids]
        if vids:
            top = max(top, float(model.traffic.speeds_mps(vids).max()))
    assert 6.0 < top <= 7.0 + 1e-9
