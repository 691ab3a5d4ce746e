"""The explorer page: a Solara app with the city map filling the page and its controls in a side panel.

The same page runs in the browser (``citysim viz SCENARIO`` serves it with Solara) and in
Jupyter (leave ``explorer(...)`` as the last expression of a cell). Every browser session (every
cell output) builds its own :class:`~sim.viz.model.ExplorerModel` on first render, so two users
of one server never see each other's city. Simulated seconds per step apply at once; the signal
controller, the demand level and the seed apply on Reset.
"""

from __future__ import annotations

import io
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.control.registry import controller_names
from sim.plots.city_map import plot_city
from sim.plots.live_figures import clock_text, plot_live_charts
from sim.viz.model import ExplorerModel, explorer_scenario

__all__ = [
    "CLOCK_CLASS",
    "DEMAND_SCALE_RANGE",
    "MAP_CLASS",
    "STATUS_CLASS",
    "ExplorerSession",
    "Knobs",
    "View",
    "draw",
    "explorer",
    "explorer_page",
]

DEMAND_SCALE_RANGE = (0.1, 3.0)
"""Range of the demand-level slider (multiplier of the scenario's rates)."""
STATUS_CLASS = "citysim-status"
"""CSS class of the line under the map: simulated time and the vehicles drawn (read by the browser test)."""
CLOCK_CLASS = "citysim-clock"
"""CSS class of the simulated clock (``HH:MM:SS``) in the side panel."""
MAP_CLASS = "citysim-map"
"""CSS class of the map image."""

_SEED_MAX = 99
_STEP_S_RANGE = (1, 120)
# The map keeps its aspect ratio and fits the window's height below the title bar and status line.
_CSS = f"""
.{MAP_CLASS} {{ display: block; width: auto; height: auto; max-width: 100%;
  max-height: calc(100vh - 112px); margin: 0 auto; }}
.{CLOCK_CLASS} {{ font-size: 2rem; font-variant-numeric: tabular-nums; }}
.citysim-charts {{ display: block; max-width: 100%; height: auto; margin: 0 auto; }}
"""


@dataclass(frozen=True)
class Knobs:
    """What builds a model: :class:`~sim.viz.model.ExplorerModel`'s keyword arguments."""

    scenario: str
    demand_scale: float | None
    controller: str
    seed: int
    step_s: float


@dataclass(frozen=True)
class View:
    """One drawing of a model: map and live charts as PNG, the simulated time (s) and the status line."""

    map_png: bytes
    charts_png: bytes
    time_s: float
    status: str


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draw(model: ExplorerModel) -> View:
    """Draw ``model`` now: map (:func:`sim.plots.city_map.plot_city`), live charts, status line."""
    frame = model.frame()
    city = plot_city(
        frame, model.graph, model.net.edge_keys, model.open_incident_nodes(), model.traffic_incident_edges()
    )
    status = (
        f"simulated time {clock_text(frame.time_s)} · {frame.n_vehicles} vehicles on the network · "
        f"{frame.waiting_to_enter} waiting to enter · {model.traffic.n_arrived} trips done · "
        f"controller {model.config.signals.controller} · demand ×{model.config.demand.scale:g}"
    )
    return View(_png(city), _png(plot_live_charts(model.history)), frame.time_s, status)


class ExplorerSession:
    """One session's model and its latest drawing; steps and resets are serialized by a lock.

    Args:
        knobs: What builds the first model.
    """

    def __init__(self, knobs: Knobs) -> None:
        self._lock = threading.Lock()
        self.model = ExplorerModel(**asdict(knobs))
        self.view = draw(self.model)

    def step(self, model: ExplorerModel) -> View:
        """Advance ``model`` one step if it is still this session's and running; the drawing after."""
        with self._lock:
            if model is self.model and model.running:
                model.step()
                self.view = draw(model)
            return self.view

    def reset(self, knobs: Knobs) -> View:
        """Replace the model by a new one built from ``knobs``; its drawing."""
        with self._lock:
            self.model = ExplorerModel(**asdict(knobs))
            self.view = draw(self.model)
            return self.view


@solara.component
def explorer_page(knobs: Knobs, play_interval_ms: int = 200) -> None:
    """The explorer of one session: title bar, controls in the side panel, the map filling the rest.

    Args:
        knobs: What builds the session's first model.
        play_interval_ms: Shortest wall-clock time between steps while playing (ms).
    """
    session = solara.use_memo(lambda: ExplorerSession(knobs), [])
    view = solara.use_reactive(session.view)
    playing = solara.use_reactive(False)
    pending = solara.use_reactive(knobs)
    model = session.model

    def play() -> None:
        playing_model = session.model
        while playing.value and playing_model.running and playing_model is session.model:
            started = time.monotonic()
            view.set(session.step(playing_model))
            time.sleep(max(0.0, play_interval_ms / 1000 - (time.monotonic() - started)))
        playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    def reset() -> None:
        playing.set(False)
        view.set(session.reset(pending.value))

    def set_step_s(step_s: int) -> None:
        pending.set(replace(pending.value, step_s=float(step_s)))
        session.model.step_s = float(step_s)

    def set_knob(name: str) -> Any:
        return lambda value: pending.set(replace(pending.value, **{name: value}))

    solara.Style(_CSS)
    with solara.AppBar():
        solara.AppBarTitle(f"citysim explorer: {model.config.name}")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Simulated time"):
            solara.Text(clock_text(view.value.time_s), classes=[CLOCK_CLASS])
            with solara.Row(justify="space-between"):
                solara.Button("Reset", color="primary", on_click=reset)
                solara.Button(
                    "❚❚" if playing.value else "▶",
                    color="primary",
                    on_click=lambda: playing.set(not playing.value),
                    disabled=not model.running,
                )
                solara.Button(
                    "Step",
                    color="primary",
                    on_click=lambda: view.set(session.step(session.model)),
                    disabled=playing.value or not model.running,
                )
            step_s = round(pending.value.step_s)
            solara.SliderInt(
                f"step: {step_s} simulated s",
                value=step_s,
                on_value=set_step_s,
                min=_STEP_S_RANGE[0],
                max=max(_STEP_S_RANGE[1], step_s),
            )
        with solara.Card("Applied on Reset"):
            solara.Select(
                "signal controller",
                value=pending.value.controller,
                values=list(controller_names()),
                on_value=set_knob("controller"),
            )
            scale = pending.value.demand_scale
            if scale is not None:
                solara.SliderFloat(
                    f"demand: ×{scale:.1f}",
                    value=scale,
                    on_value=set_knob("demand_scale"),
                    min=DEMAND_SCALE_RANGE[0],
                    max=max(DEMAND_SCALE_RANGE[1], scale),
                    step=0.1,
                )
            seed = pending.value.seed
            solara.SliderInt(
                f"seed: {seed}",
                value=seed,
                on_value=set_knob("seed"),
                min=0,
                max=max(_SEED_MAX, seed),
            )
    with solara.Column(gap="4px"):
        solara.Image(view.value.map_png, classes=[MAP_CLASS])
        solara.Text(view.value.status, classes=[STATUS_CLASS])
        solara.Image(view.value.charts_png, classes=["citysim-charts"])


def explorer(
    scenario: str | os.PathLike[str],
    *,
    demand_scale: float | None = None,
    controller: str | None = None,
    seed: int | None = None,
    step_s: float = 10.0,
    play_interval_ms: int = 200,
) -> Any:
    """The explorer page for a scenario file (a Solara element; each session gets its own model).

    Args:
        scenario: The scenario TOML file.
        demand_scale: Starting demand level (multiplier of the scenario's rates); None keeps
            the file's. Scenarios with a trip table have no demand slider.
        controller: Starting signal controller; None keeps the file's.
        seed: Starting seed; None keeps the scenario's.
        step_s: Simulated seconds per step (> 0).
        play_interval_ms: Shortest wall-clock time between steps while playing (ms).

    Returns:
        The page; display it in Jupyter, or serve it with ``citysim viz``.

    Raises:
        ScenarioError: If the scenario or a starting value is invalid.
        ValueError: If ``step_s`` is not positive.
    """
    if not step_s > 0:
        raise ValueError(f"step_s: expected a number of simulated seconds > 0, got {step_s!r}")
    spec = explorer_scenario(Path(scenario).resolve(), demand_scale, controller)
    knobs = Knobs(
        scenario=str(spec.source),
        demand_scale=None if spec.demand.type == "trips" else spec.demand.scale,
        controller=spec.signals.controller,
        seed=spec.seed if seed is None else int(seed),
        step_s=float(step_s),
    )
    return explorer_page(knobs=knobs, play_interval_ms=play_interval_ms)
