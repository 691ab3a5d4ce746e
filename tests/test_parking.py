"""Smart parking: supply and capacity, background parkers, sensors, cruising and guided drivers."""

import json
import math

import mesa
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.metrics.results import load_results, write_results
from sim.model import CityModel
from sim.parking import (
    FacilityFullError,
    Occupancy,
    ParkingError,
    ParkingInformation,
    ParkingSensor,
    ParkingTrip,
    Spec,
)
from sim.parking.background import BackgroundParkers, erlang_load
from sim.parking.guidance import poisson_at_least
from sim.parking.supply import GARAGE, STREET, Facility
from sim.plots.parking_figures import plot_occupancy_map
from sim.scenario import ScenarioError, scenario_from_dict


def _scenario(parking=None, rows=3, cols=3, rate_vph=200.0, max_time_s=2400.0, seed=11):
    data = {
        "name": "parking-test",
        "seed": seed,
        "network": {"type": "grid", "rows": rows, "cols": cols, "block_m": 150.0},
        "demand": {"type": "uniform", "rate_vph": rate_vph, "duration_s": 900.0},
        "simulation": {"max_time_s": max_time_s},
    }
    if parking is not None:
        data["parking"] = parking
    return scenario_from_dict(data)


def _busy(**parking):
    """A 3x3 grid whose on-street parking is nearly full and sought by many drivers."""
    base = {
        "trips_vph": 400.0,
        "duration_s": 900.0,
        "occupancy": 0.95,
        "background_stay_s": 600.0,
        "stay_mean_s": 900.0,
        "garages": [{"node": "n1_1", "capacity": 10, "occupied": 9, "entry_rate_vph": 360.0}],
    }
    return _scenario({**base, **parking})


def _facility(capacity=10, kind=STREET, rate_vph=math.inf, max_stay_s=math.inf):
    return Facility("f", kind, capacity, max_stay_s, 0, "a", "b", rate_vph, 0.0, 0.0)


# ----- scenario table -----------------------------------------------------------------
def test_parking_table_defaults_and_round_trip():
    scenario = _scenario({"streets": [{"from_node": "n0_0", "to_node": "n1_0", "spaces": 4}]})
    spec = scenario.section("parking")
    assert isinstance(spec, Spec)
    assert spec.occupancy == 0.9 and spec.guided_share == 0.0
    assert spec.streets[0].spaces == 4 and spec.streets[0].max_stay_s is None
    again = scenario.with_overrides({"parking.occupancy": 0.85})
    assert again.section("parking").streets == spec.streets
    assert again.section("parking").occupancy == 0.85
    json.dumps(scenario.to_dict())


@pytest.mark.parametrize(
    ("parking", "key"),
    [
        ({"occupancy": 1.5}, "parking.occupancy"),
        ({"guided_share": -0.1}, "parking.guided_share"),
        ({"return_trips": 1}, "parking.return_trips"),
        ({"streets": [{"from_node": "n0_0", "to_node": "n1_0"}]}, "parking.streets[0].spaces"),
        (
            {"streets": [{"from_node": "n0_0", "to_node": "n1_0", "spaces": 2, "lot": 1}]},
            "parking.streets[0].lot",
        ),
        (
            {"streets": [{"from_node": "n0_0", "to_node": "n1_0", "spaces": 2, "occupied": 3}]},
            "parking.streets[0].occupied",
        ),
        ({"garages": [{"node": "n1_1", "capacity": 0}]}, "parking.garages[0].capacity"),
        ({"garages": "n1_1"}, "parking.garages"),
        ({"sensor_latency": 5}, "parking.sensor_latency"),
    ],
)
def test_bad_parking_keys_are_named(parking, key):
    with pytest.raises(ScenarioError) as err:
        _scenario(parking)
    assert err.value.key == key


def test_listed_parking_off_the_network_is_named():
    with pytest.raises(ParkingError, match=r"parking\.streets\[0\].*'n0_0' -> 'n2_2'"):
        CityModel(_scenario({"streets": [{"from_node": "n0_0", "to_node": "n2_2", "spaces": 3}]}))
    with pytest.raises(ParkingError, match=r"parking\.garages\[0\]\.node.*'nowhere'"):
        CityModel(_scenario({"garages": [{"node": "nowhere", "capacity": 3}]}))


# ----- supply and capacity ------------------------------------------------------------
def test_generated_supply_counts_spaces_per_metre_of_kerb():
    model = CityModel(_scenario({"spaces_per_m": 0.1, "garage_share": 0.25, "trips_vph": 0.0}))
    feature = model.features["parking"]
    streets = [f for f in feature.facilities if f.kind == STREET]
    garages = [f for f in feature.facilities if f.kind == GARAGE]
    # 3x3 grid: 12 two-way links between intersections; fringe stubs get no parking
    assert len(streets) == 24 and all(f.capacity == 15 for f in streets)
    assert len(garages) == 2 and all(f.capacity == 200 for f in garages)


def test_a_full_facility_refuses_another_vehicle():
    occupancy = Occupancy([_facility(capacity=2)])
    occupancy.set_background(np.array([1]), 0.0)
    occupancy.park(0, 1.0)
    with pytest.raises(FacilityFullError, match="no free space"):
        occupancy.park(0, 2.0)
    with pytest.raises(FacilityFullError, match="exceed its capacity 2"):
        occupancy.set_background(np.array([2]), 3.0)


def test_garage_gate_admits_at_its_entry_rate():
    occupancy = Occupancy([_facility(capacity=5, kind=GARAGE, rate_vph=360.0)])
    assert [occupancy.park(0, 100.0) for _ in range(3)] == [100.0, 110.0, 120.0]


def test_no_facility_ever_holds_more_than_its_capacity():
    model = CityModel(_busy(guided_share=0.5, return_trips=True))
    feature = model.features["parking"]
    over = []

    def check(_changed, time_s):
        taken = feature.occupancy.occupied
        if (taken > feature.occupancy.capacity).any() or (taken < 0).any():
            over.append(time_s)

    feature.occupancy.watch(check)
    model.run()
    records = feature.records()
    assert not over
    occ = records["parking_occupancy"]
    assert (occ["occupied"] <= occ["capacity"]).all()
    assert occ["occupancy"].max() == pytest.approx(1.0), "the test must push facilities to full"
    trips = records["parking_trips"]
    assert len(trips) > 50 and trips["outcome"].isin(["parked", "garage", "gave_up"]).all()
    assert feature.return_vehicles, "return trips were made"


# ----- background parkers -------------------------------------------------------------
def test_erlang_load_matches_the_one_space_formula():
    # one server: occupancy = a / (1 + a)
    assert erlang_load(1, 0.5) == pytest.approx(1.0, rel=1e-6)
    assert erlang_load(1, 0.9) == pytest.approx(9.0, rel=1e-6)
    assert erlang_load(10, 0.0) == 0.0


@pytest.mark.parametrize("target", [0.85, 0.95])
def test_background_parkers_hold_occupancy_near_the_target(target):
    facilities = [_facility(capacity=12) for _ in range(50)]
    background = BackgroundParkers(facilities, target, 0.5, 600.0, np.random.default_rng(3))
    occupancy = Occupancy(facilities)
    occupancy.set_background(background.initial_counts(), 0.0)
    shares = []
    for step in range(1, 400):
        background.step(occupancy, 10.0, 10.0 * step)
        shares.append(occupancy.occupied.sum() / occupancy.capacity.sum())
    assert np.mean(shares) == pytest.approx(target, abs=0.015)


# ----- sensors and the information service --------------------------------------------
def _sensor(error=0.0, latency_s=0.0, fails_at_s=math.inf, capacity=20, seed=0):
    service = ParkingInformation(np.array([capacity]))
    sensor = ParkingSensor(
        mesa.Model(), 0, capacity, service, np.random.default_rng(seed), error, latency_s, fails_at_s
    )
    return sensor, service


def test_perfect_sensor_reports_the_truth_at_once():
    sensor, service = _sensor()
    for t, taken in enumerate([0, 5, 20, 13]):
        sensor.read(taken, float(t))
        assert service.free_spaces(float(t))[0] == 20 - taken


def test_sensor_misreads_each_space_with_its_error_probability():
    sensor, service = _sensor(error=0.1, capacity=20)
    reports = []
    for t in range(4000):
        sensor.read(15, float(t))
        reports.append(20 - service.free_spaces(float(t))[0])
    reports = np.array(reports)
    # Binomial(15, 0.9) + Binomial(5, 0.1): mean 14.0, variance 15*.09 + 5*.09 = 1.8
    assert reports.mean() == pytest.approx(14.0, abs=0.1)
    assert reports.var() == pytest.approx(1.8, rel=0.15)
    assert 0.2 < np.mean(reports == 15) < 0.35


def test_sensor_latency_delays_reports_and_a_failed_sensor_goes_silent():
    sensor, service = _sensor(latency_s=60.0, fails_at_s=200.0)
    sensor.read(4, 0.0)
    sensor.read(9, 100.0)
    assert service.free_spaces(59.0)[0] == -1, "nothing has arrived yet"
    assert service.free_spaces(60.0)[0] == 16
    assert service.free_spaces(159.0)[0] == 16
    assert service.free_spaces(160.0)[0] == 11
    assert service.measured_s[0] == 100.0
    sensor.read(1, 250.0)
    assert service.free_spaces(1000.0)[0] == 11, "a failed sensor's last report stays"


def _history(feature):
    """Record the true occupancy after every change: (times, occupied rows)."""
    times, rows = [0.0], [feature.occupancy.occupied.copy()]

    def keep(_changed, time_s):
        times.append(time_s)
        rows.append(feature.occupancy.occupied.copy())

    feature.occupancy.watch(keep)
    return times, rows


def _truth_at(times, rows, t):
    i = np.searchsorted(np.array(times), t + 1e-9, side="right") - 1
    return rows[i]


@pytest.mark.parametrize("latency_s", [0.0, 60.0])
def test_service_knows_the_truth_as_of_its_latency_in_a_run(latency_s):
    model = CityModel(_busy(sensor_latency_s=latency_s, guided_share=1.0))
    feature = model.features["parking"]
    times, rows = _history(feature)
    mismatches = stale = checks = 0
    for t in range(100, 1500, 37):
        model.run(until_s=float(t))
        reported = feature.occupancy.capacity - feature.service.free_spaces(model.time_s)
        mismatches += int((reported != _truth_at(times, rows, model.time_s - latency_s)).sum())
        stale += int((reported != feature.occupancy.occupied).sum())
        checks += 1
    assert checks > 30 and mismatches == 0
    assert (stale > 0) == (latency_s > 0)


# ----- drivers ------------------------------------------------------------------------
def _corridor(**parking):
    """1x4 row of intersections; every street full but the ones listed free."""
    free = parking.pop("free", {})
    links = [(f"n{c}_0", f"n{c + 1}_0") for c in range(3)]
    links += [(v, u) for u, v in links]
    streets = [
        {"from_node": u, "to_node": v, "spaces": 4, "occupied": 4 - free.get((u, v), 0)} for u, v in links
    ]
    spec = {
        "trips_vph": 0.0,
        "background": False,
        "streets": streets,
        "search_radius_m": 1000.0,
        "stay_mean_s": 600.0,
        **parking,
    }
    return _scenario(spec, rows=1, cols=4, rate_vph=1.0)


def _drive_one(scenario, guided=False):
    model = CityModel(scenario)
    feature = model.features["parking"]
    feature.add_trip(ParkingTrip("t", "W0", "n1_0", 5.0, guided, 600.0))
    model.run(until_s=600.0)
    return feature, feature.drivers[0]


def test_cruising_driver_takes_the_first_free_space_it_passes():
    # from W0 to n1_0 and on eastwards: n0_0->n1_0 and n1_0->n2_0 are full,
    # n2_0->n3_0 has a space, and so has n3_0->n2_0 further on
    feature, driver = _drive_one(_corridor(free={("n2_0", "n3_0"): 1, ("n3_0", "n2_0"): 2}))
    names = [feature.facilities[f].name for _, f, _ in driver.seen]
    assert names == ["street n0_0->n1_0", "street n1_0->n2_0", "street n2_0->n3_0"]
    assert [free for *_, free in driver.seen] == [0, 0, 1]
    assert driver.outcome == "parked"
    assert feature.facilities[driver.facility].name == "street n2_0->n3_0"
    assert driver.walk_m == pytest.approx(75.0 + 150.0)
    assert driver.search_distance_m == pytest.approx(300.0, abs=25.0)
    assert feature.occupancy.free(driver.facility) == 0


def test_cruising_driver_parks_at_once_on_a_free_last_link():
    feature, driver = _drive_one(_corridor(free={("n0_0", "n1_0"): 1}))
    assert driver.outcome == "parked" and len(driver.seen) == 1
    assert driver.search_end_s - driver.search_start_s == 0.0
    assert driver.search_distance_m == pytest.approx(0.0, abs=1e-9)


def test_guided_driver_goes_straight_for_the_reported_space():
    # the only free space is behind the driver (n1_0->n0_0): cruising never finds it
    # soon, guidance sends the driver round to it
    scenario = _corridor(free={("n1_0", "n0_0"): 1}, give_up_s=400.0)
    feature, guided = _drive_one(scenario, guided=True)
    assert guided.outcome == "parked"
    assert feature.facilities[guided.facility].name == "street n1_0->n0_0"
    assert guided.guidance and all(true_free >= 1 for _, _, true_free, _ in guided.guidance)
    _, cruiser = _drive_one(scenario, guided=False)
    assert guided.search_end_s - guided.search_start_s < 0.5 * (cruiser.search_end_s - cruiser.search_start_s)


def _guidance_errors(feature):
    """Guidance decisions to a facility that was full when the driver was sent there."""
    return [g for d in feature.drivers if d is not None for g in d.guidance if g[2] < 1]


def test_guided_driver_with_perfect_information_arrives_full_only_if_it_filled_meanwhile():
    model = CityModel(_busy(guided_share=1.0, occupancy=0.97))
    model.run()
    feature = model.features["parking"]
    drivers = [d for d in feature.drivers if d is not None]
    assert not _guidance_errors(feature), "perfect information never sends a driver to a full facility"
    full_arrivals = 0
    for driver in drivers:
        for time_s, facility, free in driver.arrivals:
            if free == 0:
                full_arrivals += 1
                sent = [g for g in driver.guidance if g[1] == facility and g[0] <= time_s]
                assert sent and sent[-1][2] >= 1, "it was free when the driver was sent: it filled meanwhile"
    assert sum(len(d.guidance) for d in drivers) > 50
    # the same drivers with misreading, late sensors are sent to full facilities
    noisy = CityModel(_busy(guided_share=1.0, occupancy=0.97, sensor_error=0.2, sensor_latency_s=120.0))
    noisy.run()
    assert len(_guidance_errors(noisy.features["parking"])) > 10


def test_poisson_tail():
    assert poisson_at_least(0.0, 1) == 0.0
    assert poisson_at_least(2.0, 0) == 1.0
    assert poisson_at_least(2.0, 1) == pytest.approx(1.0 - math.exp(-2.0))
    assert poisson_at_least(2.0, 3) == pytest.approx(1.0 - math.exp(-2.0) * (1 + 2 + 2))


# ----- records ------------------------------------------------------------------------
def test_records_summary_determinism_and_map(tmp_path):
    scenario = _busy(guided_share=0.5, sensor_error=0.1, sensor_latency_s=30.0, sensor_failure=0.3)
    first = CityModel(scenario).run().results()
    second = CityModel(scenario).run().results()
    for name in ("parking_trips", "parking_occupancy", "parking_series", "parking_facilities"):
        pd.testing.assert_frame_equal(first.extras[name], second.extras[name])
    summary = first.info["parking"]
    json.dumps(summary, allow_nan=False)
    assert summary["trips"] == summary["parked"] + summary["garage"] + summary["gave_up"]
    assert 0.0 < summary["share_searching"] < 1.0
    series = first.extras["parking_series"]
    assert (series["searching"] <= series["vehicles_on_network"]).all()
    write_results(first, tmp_path / "run")
    loaded = load_results(tmp_path / "run")
    assert len(loaded.extras["parking_trips"]) == summary["trips"]
    figure = plot_occupancy_map(first)
    assert isinstance(figure, Figure) and len(figure.axes) == 2


def test_parking_does_not_change_the_private_demand_draws():
    plain = CityModel(_scenario())
    parked = CityModel(_busy())
    pd.testing.assert_frame_equal(plain.trip_records(), parked.trip_records())
