"""The explorer's model, frame and figures, and ``citysim viz`` input errors (no browser here)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from test_cli import assert_one_line_error

from sim.cli import main
from sim.metrics.frames import CAR, EMERGENCY, SHUTTLE
from sim.plots.city_map import LIGHT_ZORDER, VEHICLE_ZORDER, plot_city
from sim.plots.live_figures import clock_text, plot_live_charts
from sim.schema import ScenarioError
from sim.traffic.codes import GREEN, HALT_MPS, ST_ON_NETWORK, YELLOW
from sim.viz import ExplorerModel
from sim.viz.page import ExplorerSession, Knobs

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


def _vehicle_layers(figure: Figure, frame) -> dict[str, PathCollection]:
    """The map's vehicle scatters by drawing order: moving, stopped, shuttle, emergency, incidents."""
    layers = sorted(
        (
            c
            for c in figure.axes[0].collections
            if isinstance(c, PathCollection) and c.get_zorder() >= VEHICLE_ZORDER
        ),
        key=lambda c: c.get_zorder(),
    )
    return dict(zip(("moving", "stopped", "shuttle", "emergency", "incident"), layers, strict=True))


def test_city_map_draws_every_vehicle_by_kind_and_state(busy_model):
    frame = busy_model.frame()
    incidents = busy_model.open_incident_nodes()
    figure = plot_city(frame, busy_model.graph, busy_model.net.edge_keys, incidents)
    layers = _vehicle_layers(figure, frame)
    count = {name: len(layer.get_offsets()) for name, layer in layers.items()}
    car = frame.vehicle_kind == CAR
    assert count["moving"] == (car & ~frame.vehicle_halted).sum() > 0
    assert count["stopped"] == (car & frame.vehicle_halted).sum() > 0
    assert count["shuttle"] == (frame.vehicle_kind == SHUTTLE).sum()
    assert count["emergency"] == (frame.vehicle_kind == EMERGENCY).sum() >= 1
    assert count["incident"] == len(incidents) >= 1
    markers = [layer.get_paths()[0].vertices.shape for layer in layers.values() if len(layer.get_offsets())]
    assert len(set(markers)) >= 4, "moving, stopped, shuttle and emergency markers must differ in shape"
    lights = [c for c in figure.axes[0].collections if c.get_zorder() == LIGHT_ZORDER]
    assert len(lights) == 1 and len(lights[0].get_offsets()) == len(frame.approach_edge)
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert {"stopped car (< 0.1 m/s)", "emergency vehicle", "open emergency call", "red light"} <= set(labels)


def test_moving_cars_are_coloured_by_their_share_of_the_speed_limit(busy_model):
    frame = busy_model.frame()
    moving = _vehicle_layers(plot_city(frame, busy_model.graph, busy_model.net.edge_keys), frame)["moving"]
    mask = (frame.vehicle_kind == CAR) & ~frame.vehicle_halted
    limits = busy_model.net.edge_speed_mps[frame.vehicle_edge[mask]]
    np.testing.assert_allclose(moving.get_array(), frame.vehicle_speed_mps[mask] / limits)
    assert (moving.norm.vmin, moving.norm.vmax) == (0.0, 1.0)


@pytest.mark.parametrize("scenario", ["grid10", "helsinki"])
def test_city_map_keeps_the_network_aspect_and_marker_sizes(scenario):
    model = ExplorerModel(SCENARIOS / f"{scenario}.toml")
    figure = plot_city(model.frame(), model.graph, model.net.edge_keys)
    ax = figure.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    xs, ys = zip(*((d["x"], d["y"]) for _, d in model.graph.nodes(data=True)), strict=True)
    assert x0 <= min(xs) and max(xs) <= x1 and y0 <= min(ys) and max(ys) <= y1
    # cropped: the network spans most of the axes along its longer side
    assert max((max(xs) - min(xs)) / (x1 - x0), (max(ys) - min(ys)) / (y1 - y0)) > 0.85
    box = ax.get_position().transformed(figure.transFigure).transformed(figure.dpi_scale_trans.inverted())
    assert box.width / box.height == pytest.approx((x1 - x0) / (y1 - y0), rel=0.02)


def test_clock_reads_hours_minutes_seconds():
    assert clock_text(0) == "00:00:00"
    assert clock_text(3725.4) == "01:02:05"


def test_sessions_hold_independent_models():
    knobs = Knobs(scenario=str(DEMO), demand_scale=1.0, controller="fixed_time", seed=1, step_s=30.0)
    first, second = ExplorerSession(knobs), ExplorerSession(knobs)
    assert first.model is not second.model
    view = first.step(first.model)
    assert view.time_s == 30.0 and "simulated time 00:00:30" in view.status
    assert second.view.time_s == 0.0 and second.model.time_s == 0.0
    stale = first.model
    first.reset(knobs)
    assert first.step(stale).time_s == 0.0, "a step meant for the replaced model must not advance the new one"


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
