"""The explorer page: Mesa's SolaraViz with the city map, live charts and knobs for demand and control.

The same page runs in the browser (``citysim viz SCENARIO`` serves it with Solara) and in
Jupyter (leave ``explorer(...)`` as the last expression of a cell). Play, pause, step and
reset are SolaraViz's own controls; the demand level, the signal controller, the seed and the
simulated seconds per step apply when the model is reset.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import solara

with warnings.catch_warnings():
    # Solara's hook-order check flags a line of Mesa's own SolaraViz at import: nothing a user can act on.
    warnings.filterwarnings("ignore", category=UserWarning, module="solara.validate_hooks")
    from mesa.visualization import SolaraViz

from sim.control.registry import controller_names
from sim.plots.live_figures import clock_text, plot_city, plot_live_charts
from sim.viz.model import ExplorerModel

__all__ = ["DEMAND_SCALE_RANGE", "STATUS_CLASS", "explorer"]

DEMAND_SCALE_RANGE = (0.1, 3.0)
"""Range of the demand-level slider (multiplier of the scenario's rates)."""
STATUS_CLASS = "citysim-status"
"""CSS class of the line under the map: simulated time and the vehicles drawn (read by the browser test)."""

_SEED_MAX = 99
_STEP_S_RANGE = (1, 120)


def city_view(model: ExplorerModel) -> Any:
    """The map of the city now, with a status line: simulated time, vehicles drawn, trips done."""
    frame = model.frame()
    figure = plot_city(frame, model.graph, model.net.edge_keys)
    with solara.Column() as column:
        solara.FigureMatplotlib(figure, format="png", bbox_inches="tight")
        solara.Text(
            f"simulated time {frame.time_s:.0f} s ({clock_text(frame.time_s)}) · "
            f"{frame.n_vehicles} vehicles drawn · {model.traffic.n_arrived} trips done · "
            f"controller {model.config.signals.controller} · demand ×{model.config.demand.scale:g}",
            classes=[STATUS_CLASS],
        )
    return column


def live_charts(model: ExplorerModel) -> Any:
    """Mean delay of finished trips and queued vehicles over the simulated time so far."""
    return solara.FigureMatplotlib(plot_live_charts(model.history), format="png", bbox_inches="tight")


def explorer(
    scenario: str | os.PathLike[str],
    *,
    demand_scale: float | None = None,
    controller: str | None = None,
    seed: int | None = None,
    step_s: float = 10.0,
    play_interval_ms: int = 200,
) -> Any:
    """The explorer page for a scenario file (a SolaraViz element).

    Args:
        scenario: The scenario TOML file.
        demand_scale: Starting demand level (multiplier of the scenario's rates); None keeps
            the file's. Scenarios with a trip table have no demand slider.
        controller: Starting signal controller; None keeps the file's.
        seed: Starting seed; None keeps the scenario's.
        step_s: Simulated seconds per step.
        play_interval_ms: Pause between steps while playing (ms).

    Returns:
        The page; display it in Jupyter, or serve it with ``citysim viz``.

    Raises:
        ScenarioError: If the scenario or a starting value is invalid.
    """
    path = str(Path(scenario).resolve())
    model = ExplorerModel(path, demand_scale=demand_scale, controller=controller, seed=seed, step_s=step_s)
    spec = model.config
    low, high = DEMAND_SCALE_RANGE
    params: dict[str, Any] = {
        "scenario": path,
        "controller": {
            "type": "Select",
            "value": spec.signals.controller,
            "values": list(controller_names()),
            "label": "signal controller",
        },
        "seed": {
            "type": "SliderInt",
            "value": model.seed,
            "min": 0,
            "max": max(_SEED_MAX, model.seed),
            "step": 1,
        },
        "step_s": {
            "type": "SliderInt",
            "value": round(step_s),
            "min": _STEP_S_RANGE[0],
            "max": _STEP_S_RANGE[1],
            "step": 1,
            "label": "simulated seconds per step",
        },
    }
    if spec.demand.type != "trips":
        params["demand_scale"] = {
            "type": "SliderFloat",
            "value": spec.demand.scale,
            "min": low,
            "max": max(high, spec.demand.scale),
            "step": 0.1,
            "label": "demand level (× the scenario's rates)",
        }
    return SolaraViz(
        model,
        components=[(city_view, 0), (live_charts, 0)],
        model_params=params,
        name=f"citysim explorer: {spec.name}",
        play_interval=play_interval_ms,
    )
