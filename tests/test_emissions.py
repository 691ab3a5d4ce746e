"""Emissions and energy: the model against hand-computed values, the bookkeeping, the keys, and SUMO."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sim.emissions import EMISSION_CLASSES, drive_cycle
from sim.model import CityModel
from sim.scenario import ScenarioError, scenario_from_dict

PETROL = "HBEFA4/PC_petrol_Euro-4"
GRID = {
    "name": "emissions",
    "seed": 3,
    "network": {"type": "grid", "rows": 3, "cols": 3},
    "demand": {"type": "uniform", "rate_vph": 900, "duration_s": 300},
    "simulation": {"max_time_s": 900},
}


def run(**tables):
    model = CityModel(scenario_from_dict({**GRID, **tables}))
    model.run()
    return model, model.results()


def test_idling_petrol_car_emits_its_published_idle_rate():
    # SUMO's HBEFA4 PC_petrol_Euro-4 row: CO2 c0 = 1521 mg/s, fuel 493.1 mg/s, NOx 0.6117 mg/s
    steps = drive_cycle(PETROL, np.zeros(10))
    assert steps["co2_g"].to_numpy() == pytest.approx(1.521)
    assert steps["fuel_g"].to_numpy() == pytest.approx(0.4931)
    assert steps["nox_g"].to_numpy() == pytest.approx(0.6117e-3)
    assert (steps["co_g"] == 0).all()


def test_cruising_and_accelerating_match_the_polynomial_by_hand():
    # v = 10 m/s, a = 1 m/s^2: 1521 + 15.59*10 + 695.1*1 + 0.1199*1000 + 132.5*10 + 3.434*100 mg/s
    steps = drive_cycle(PETROL, np.array([10.0, 10.0]), np.array([0.0, 1.0]))
    assert steps["co2_g"].iloc[0] == pytest.approx((1521 + 155.9 + 119.9) / 1000)
    assert steps["co2_g"].iloc[1] == pytest.approx((1521 + 155.9 + 695.1 + 119.9 + 1325 + 343.4) / 1000)


def test_a_coasting_combustion_engine_emits_nothing_and_a_gentle_one_still_does():
    steps = drive_cycle(PETROL, np.array([15.0, 15.0]), np.array([-1.0, -0.1]))
    assert steps.iloc[0].drop(["speed_mps", "accel_mps2"]).sum() == 0.0
    assert steps["co2_g"].iloc[1] > 0.0


def test_battery_electric_burns_no_fuel_and_recuperates_when_braking():
    steps = drive_cycle("Energy/default", np.array([0.0, 10.0, 10.0, 5.0]), np.array([0.0, 1.0, 0.0, -5.0]))
    assert (steps[["co2_g", "fuel_g", "nox_g", "co_g", "hc_g", "pm10_g"]] == 0).all().all()
    wh = steps["electricity_wh"].to_numpy()
    assert wh[0] == pytest.approx(100.0 / 3600.0)  # standing: the 100 W auxiliaries only
    assert wh[1] > wh[2] > 0.0 > wh[3]  # accelerating > cruising > braking (energy back)


def test_uphill_costs_more_than_level_road():
    level = drive_cycle("Energy/default", np.full(5, 10.0), np.zeros(5))["electricity_wh"].sum()
    uphill = drive_cycle("Energy/default", np.full(5, 10.0), np.zeros(5), np.full(5, 3.0))[
        "electricity_wh"
    ].sum()
    assert uphill > level * 1.5


def test_run_totals_are_the_sum_of_trips_and_of_links():
    model, results = run(emissions={"enabled": True})
    trips, links = results.trips, results.links
    for column in ("co2_g", "fuel_g", "nox_g", "pm10_g"):
        assert trips[column].sum() == pytest.approx(links[column].sum(), rel=1e-9)
        assert (trips[column] >= 0).all()
    summary = results.summary()
    assert summary["emissions_co2_kg"] == pytest.approx(trips["co2_g"].sum() / 1000, rel=1e-9)
    vkm = trips["distance_m"].sum() / 1000
    assert summary["emissions_co2_g_per_vkm"] == pytest.approx(trips["co2_g"].sum() / vkm, rel=1e-9)
    # a trip that waited longer at the same distance burnt more: idling costs fuel
    arrived = trips.dropna(subset=["arrive_s"])
    assert (
        np.corrcoef(arrived["arrive_s"] - arrived["enter_s"], arrived["co2_g"] / arrived["distance_m"])[0, 1]
        > 0
    )


def test_vehicle_types_take_their_emission_classes():
    types = {"ev": {"share": 0.5, "emission_class": "Energy/default"}}
    _, results = run(emissions={"enabled": True}, vehicle_types=types)
    trips = results.trips
    ev, car = trips[trips["type"] == "ev"], trips[trips["type"] == "default"]
    assert len(ev) and len(car)
    assert (ev["co2_g"] == 0).all() and (ev["electricity_wh"] != 0).all()
    assert (car["co2_g"] > 0).all() and (car["electricity_wh"] == 0).all()


def test_without_the_table_nothing_changes():
    _, plain = run()
    _, off = run(emissions={"enabled": False})
    assert "co2_g" not in plain.trips and "co2_g" not in plain.links
    assert plain.trips.equals(off.trips)
    assert not any(key.startswith("emissions_") for key in off.summary())


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"vehicles": {"emission_class": "HBEFA4/PC_petrol_Euro4"}}, "vehicles.emission_class"),
        (
            {"vehicle_types": {"bus": {"vclass": "bus", "emission_class": "diesel"}}},
            "vehicle_types.bus.emission_class",
        ),
        ({"emissions": {"enabled": "yes"}}, "emissions.enabled"),
        ({"emissions": {"on": True}}, "emissions.on"),
    ],
)
def test_bad_keys_are_named_with_what_is_allowed(table, key):
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict({**GRID, **table})
    assert key in str(error.value)
    if "emission_class" in key:
        assert EMISSION_CLASSES[0] in str(error.value)


def test_a_bus_type_defaults_to_a_diesel_bus():
    from sim.tables import VehicleSpec, VehicleTypeSpec

    assert VehicleTypeSpec(vclass="bus").resolved(VehicleSpec()).emission_class.startswith("HBEFA4/UBus")
    assert (
        VehicleTypeSpec().resolved(VehicleSpec(emission_class="Energy/default")).emission_class
        == "Energy/default"
    )


SUMO_CYCLE = shutil.which("emissionsDrivingCycle") or next(
    (
        str(p)
        for p in Path(__import__("sys").prefix).glob(
            "lib/python*/site-packages/sumo/bin/emissionsDrivingCycle"
        )
    ),
    None,
)


@pytest.mark.skipif(SUMO_CYCLE is None, reason="SUMO's emissionsDrivingCycle is not installed")
@pytest.mark.parametrize("emission_class", [PETROL, "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C", "Energy/default"])
def test_a_driving_cycle_matches_sumo(tmp_path, emission_class):
    speed = np.concatenate(
        [np.zeros(5), np.linspace(0, 14, 8), np.full(10, 14.0), np.linspace(14, 0, 6), np.zeros(4)]
    )
    accel = np.diff(speed, prepend=0.0)
    cycle = tmp_path / "cycle.csv"
    cycle.write_text(
        "".join(f"{t};{float(v)!r};{float(a)!r}\n" for t, (v, a) in enumerate(zip(speed, accel, strict=True)))
    )
    out = tmp_path / "out.csv"
    vclass = "bus" if "Bus" in emission_class else "passenger"
    vtype = tmp_path / "vtype.add.xml"
    vtype.write_text(
        f'<additional><vType id="t" vClass="{vclass}" emissionClass="{emission_class}"/></additional>'
    )
    args = ["-t", str(cycle), "--additional-files", str(vtype), "--vtype", "t", "-o", str(out)]
    subprocess.run([SUMO_CYCLE, *args], check=True, capture_output=True)
    sumo = np.loadtxt(out, delimiter=";")
    ours = drive_cycle(emission_class, speed, accel)
    for column, index, scale in (("co2_g", 5, 1e-3), ("nox_g", 8, 1e-3), ("electricity_wh", 10, 1.0)):
        expected = sumo[:, index] * scale
        assert ours[column].sum() == pytest.approx(expected.sum(), rel=0.005, abs=1e-9)


def test_the_emissions_map_draws_a_run_with_emissions_and_names_the_fix_without(tmp_path):
    from sim.cli import main

    _, results = run(emissions={"enabled": True})
    with_emissions = results.save(tmp_path / "on", figures=False)
    assert main(["plot", str(with_emissions), "--kind", "emissions", "--metric", "nox"]) == 0
    assert (with_emissions / "plot-emissions-nox.png").read_bytes().startswith(b"\x89PNG")
    _, plain = run()
    without = plain.save(tmp_path / "off", figures=False)
    assert main(["plot", str(without), "--kind", "emissions"]) == 2


def test_steps_without_deceleration_add_up_as_the_polynomial_and_braking_ones_are_cut():
    # the kernel adds up the terms of the steps with a >= 0 and multiplies by the coefficients
    # once; those steps must give what the polynomial gives step by step
    from sim.emissions import class_table

    table = class_table()
    c = EMISSION_CLASSES.index(PETROL)
    speed = np.array([0.0, 2.0, 5.0, 9.0, 9.0, 12.0, 0.0])
    accel = np.array([0.0, 2.0, 3.0, 4.0, 0.0, 3.0, 0.0])
    terms = np.stack([np.ones_like(speed), speed, accel, speed**2, speed**3, accel * speed, accel * speed**2])
    expected = table.coef[c] @ terms  # (outputs, steps), mg/s
    steps = drive_cycle(PETROL, speed, accel)
    assert steps["co2_g"].to_numpy() == pytest.approx(expected[0] / 1000, rel=1e-12)
    assert steps["nox_g"].to_numpy() == pytest.approx(expected[4] / 1000, rel=1e-12)
    # the same speeds braking hard: the engine coasts above 0.5 m/s and emits nothing
    braking = drive_cycle(PETROL, speed, -np.full(len(speed), 3.0))
    assert (braking["co2_g"].to_numpy()[speed > 0.5] == 0).all()


def test_linear_classes_are_the_hbefa_ones_with_non_negative_pollutant_coefficients():
    from sim.emissions import class_table
    from sim.traffic.emissions import linear_classes

    table = class_table()
    linear = linear_classes(table.coef, table.cls)
    assert linear.tolist() == [not name.startswith("Energy/") for name in table.names]
    negative = table.coef.copy()
    negative[0, 1, 1] = -1.0  # a CO term below 0: a step may fall below 0 and be cut
    assert not linear_classes(negative, table.cls)[0] and linear_classes(negative, table.cls)[1]


def _rates(coef: np.ndarray, speed: np.ndarray, accel: np.ndarray) -> np.ndarray:
    """``(outputs, steps)`` the polynomial's rates (mg/s; Wh/s), nothing cut."""
    terms = np.stack([np.ones_like(speed), speed, accel, speed**2, speed**3, accel * speed, accel * speed**2])
    return coef @ terms


def test_no_pollutant_rate_is_below_zero_from_the_bound_of_its_speed_bin_on():
    # the kernel adds braking steps up as terms and takes back only those of steps below
    # cut_below's bound: the bound must be safe for every speed of its bin
    from sim.emissions import class_table
    from sim.traffic.emissions import _BIN_MPS, _N_BINS, cut_below, linear_classes

    table = class_table()
    bounds = cut_below(table.coef)
    rng = np.random.default_rng(0)
    speed = np.concatenate([[0.0], rng.uniform(0.0, 80.0, 20_000), np.arange(0.0, 45.0, 0.25)])
    bins = np.minimum(np.ceil(speed / _BIN_MPS), _N_BINS - 1).astype(int)
    tight = 0
    for c in np.flatnonzero(linear_classes(table.coef, table.cls)):
        for k in range(bounds.shape[1]):
            at_bound = np.maximum(bounds[c, k, bins], -50.0)  # -inf: never cut
            rate = _rates(table.coef[c], speed, at_bound)[k]  # the pollutant at its bound
            assert (rate >= -1e-9 * np.abs(table.coef[c, k]).sum()).all()
        tight += (bounds[c].max(axis=0) < -0.05).sum()
    assert tight > 0  # not all 0: braking steps are added up too


@pytest.mark.parametrize("emission_class", ["HBEFA4/PC_petrol_Euro-4", "HBEFA4/PC_diesel_Euro-6d",
                                            "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C"])  # fmt: skip
def test_random_stop_and_go_steps_are_the_polynomial_cut_at_zero_and_off_when_coasting(emission_class):
    from sim.emissions import class_table
    from sim.traffic.emission_codes import COAST_MIN_MPS, COAST_RAMP_MPS, OUTPUTS

    table = class_table()
    c = table.names.index(emission_class)
    rng = np.random.default_rng(1)
    speed = np.clip(rng.normal(6.0, 5.0, 4000), 0.0, None)
    speed[rng.random(4000) < 0.2] = 0.0
    accel = rng.choice([-3.0, -0.5, -0.05, 0.0, 0.3, 1.5], 4000) * rng.random(4000)
    incl, base = table.cls[c, 1], table.cls[c, 2]
    decel = np.minimum(0.0, incl * np.maximum(speed, COAST_RAMP_MPS) + base)
    coast = np.where(speed < COAST_RAMP_MPS, decel * speed / COAST_RAMP_MPS, decel)
    engine = (speed <= COAST_MIN_MPS) | (accel >= coast)
    expected = np.clip(_rates(table.coef[c], speed, accel), 0.0, None) * engine / 1000.0  # g
    steps = drive_cycle(emission_class, speed, accel)
    for k, column in enumerate(OUTPUTS[:-1]):
        name = column.replace("_mg", "_g").replace("pmx", "pm10")
        assert steps[name].to_numpy() == pytest.approx(expected[k], rel=1e-9, abs=1e-12), name


def test_totals_read_mid_run_and_at_the_end_agree_with_the_links():
    # reading the totals turns every vehicle's added-up terms into amounts; reading twice adds nothing
    model = CityModel(scenario_from_dict({**GRID, "emissions": {"enabled": True}}))
    model.run(until_s=200.0)
    first = model.traffic.emission_totals(model.traffic.n_vehicles)
    again = model.traffic.emission_totals(model.traffic.n_vehicles)
    assert first.sum() > 0 and np.array_equal(first, again)
    model.run()
    results = model.results()
    assert results.trips["co2_g"].sum() == pytest.approx(results.links["co2_g"].sum(), rel=1e-9)


def test_shuttles_are_battery_electric():
    data = {
        **GRID,
        "demand": {"type": "uniform", "rate_vph": 120, "duration_s": 600},
        "shuttles": {"stops": ["n0_0", "n2_0", "n2_2", "n0_2"], "service_end_s": 600.0},
        "emissions": {"enabled": True},
    }
    model = CityModel(scenario_from_dict(data))
    model.run()
    vids = [vid for shuttle in model.features["shuttles"].shuttles for vid in shuttle.vids]
    totals = model.traffic.emission_totals(model.traffic.n_vehicles)
    assert vids and (totals[vids, 0] == 0).all() and (totals[vids, 6] > 0).all()  # no CO2, some Wh
    others = np.setdiff1d(np.arange(model.traffic.n_vehicles), vids)
    assert (totals[others, 0] > 0).all()


def test_reading_a_scenario_loads_no_numba():
    code = "import sys, sim.scenario, sim.vehicle_specs\nassert 'numba' not in sys.modules, 'numba'\n"
    done = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
