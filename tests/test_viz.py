"""The explorer's model, frame and figures, and ``citysim viz`` input errors (no browser here)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from test_cli import assert_one_line_error

from sim.cli import main
from sim.metrics.frames import CAR, EMERGENCY, SHUTTLE
from sim.plots.live_figures import LIGHT_ZORDER, VEHICLE_ZORDER, plot_city, plot_live_charts
from sim.schema import ScenarioError
from sim.traffic.codes import GREEN, HALT_MPS, ST_ON_NETWORK, YELLOW
from sim.viz import ExplorerModel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEMO = SCENARIOS / "demo.toml"
EXPLORER = SCENARIOS / "explorer.toml"


@pytest.fixture(scope="module")
def busy_model():
    """The everything-at-once scenario at double demand, run until an emergency vehicle drives."""
    model = ExplorerModel(EXPLORER, demand_scale=2.0, step_s=10.0)
    while not (model.frame().vehicle_kind == EMERGENCY).any():
        assert model.time_s < 3600, "no emergency vehicle drove within the hour"
        model.step()
    return model


def test_frame_holds_every_vehicle_on_the_network_on_its_link(busy_model):
    frame = busy_model.frame()
    traffic, net = busy_model.traffic, busy_model.net
    assert frame.n_vehicles == traffic.n_on_network > 0
    assert np.all((frame.vehicle_fraction >= 0) & (frame.vehicle_fraction <= 1))
    assert np.all(frame.vehicle_lane < net.edge_lanes[frame.vehicle_edge])
    vids = np.flatnonzero(traffic.statuses() == ST_ON_NETWORK)
    np.testing.assert_allclose(np.sort(frame.vehicle_speed_mps), np.sort(traffic.speeds_mps(vids)))
    np.testing.assert_array_equal(frame.vehicle_halted, frame.vehicle_speed_mps < HALT_MPS)
    assert frame.vehicle_halted.any()


def test_frame_marks_shuttles_and_emergency_vehicles(busy_model):
    frame = busy_model.frame()
    shuttles = busy_model.features["shuttles"].shuttles
    driving = [s for s in shuttles if s.vid is not None]
    assert (frame.vehicle_kind == SHUTTLE).sum() == len(driving)
    assert (frame.vehicle_kind == EMERGENCY).sum() >= 1
    assert (frame.vehicle_kind == CAR).sum() == frame.n_vehicles - len(driving) - (
        frame.vehicle_kind == EMERGENCY
    ).sum()


def test_approach_light_is_the_most_permissive_of_its_movements(busy_model):
    frame = busy_model.frame()
    net, state = busy_model.net, busy_model.traffic.conn_state
    assert len(frame.approach_edge) > 0
    for edge, light in zip(frame.approach_edge, frame.approach_light, strict=True):
        movements = state[net.conn_from == edge]
        expected = (
            "green" if (movements == GREEN).any() else "yellow" if (movements == YELLOW).any() else "red"
        )
        assert light == expected
    assert set(frame.approach_light) >= {"green", "red"}


def test_frame_carries_parking_occupancy_now(busy_model):
    parking = busy_model.frame().parking
    occupancy = busy_model.features["parking"].occupancy
    np.testing.assert_array_equal(parking["occupied"], occupancy.occupied)
    assert (parking["occupied"] <= parking["capacity"]).all()


def test_city_figure_draws_every_vehicle_and_light(busy_model):
    frame = busy_model.frame()
    figure = plot_city(frame, busy_model.graph, busy_model.net.edge_keys)
    collections = figure.axes[0].collections
    vehicles = [c for c in collections if isinstance(c, PathCollection) and c.get_zorder() >= VEHICLE_ZORDER]
    assert sum(len(c.get_offsets()) for c in vehicles) == frame.n_vehicles
    lights = [c for c in collections if isinstance(c, LineCollection) and c.get_zorder() == LIGHT_ZORDER]
    assert len(lights) == 1 and len(lights[0].get_segments()) == len(frame.approach_edge)


def test_live_charts_follow_the_steps():
    model = ExplorerModel(DEMO, step_s=30.0)
    for _ in range(10):
        model.step()
    history = model.history
    assert list(history["time_s"]) == [30.0 * i for i in range(11)]
    assert history["on_network"].iloc[-1] == model.traffic.n_on_network
    assert np.isnan(history["mean_delay_s"].iloc[0]) and history["mean_delay_s"].iloc[-1] >= 0
    assert isinstance(plot_live_charts(history), Figure)


def test_knobs_apply_as_validated_overrides():
    light = ExplorerModel(DEMO, demand_scale=0.5, controller="max_pressure", seed=4)
    heavy = ExplorerModel(DEMO, demand_scale=2.0, seed=4)
    assert light.config.signals.controller == "max_pressure" and light.seed == 4
    assert 3.0 < len(heavy.trips) / len(light.trips) < 5.0
    with pytest.raises(ScenarioError, match="signals.controller"):
        ExplorerModel(DEMO, controller="magic")
    with pytest.raises(ValueError, match="step_s"):
        ExplorerModel(DEMO, step_s=0)


def test_explorer_stops_at_the_scenario_end_and_is_deterministic():
    runs = []
    for _ in range(2):
        model = ExplorerModel(DEMO, step_s=120.0, seed=2)
        while model.running:
            model.step()
        runs.append(model)
    assert runs[0].time_s == runs[0].config.simulation.max_time_s or runs[0].finished
    assert runs[0].history.equals(runs[1].history)


def test_viz_command_rejects_bad_input_in_one_line(capsys, tmp_path):
    assert main(["viz", str(tmp_path / "missing.toml"), "--no-browser"]) == 2
    assert_one_line_error(capsys, "missing.toml")
    assert main(["viz", str(DEMO), "--controller", "magic", "--no-browser"]) == 2
    assert_one_line_error(capsys, "signals.controller")


def test_viz_command_names_the_extra_when_solara_is_missing(capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "solara" else real(name, *a)
    )
    assert main(["viz", str(DEMO), "--no-browser"]) == 2
    assert_one_line_error(capsys, "citysim[viz]")
