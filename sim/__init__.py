"""citysim: a fast multi-agent smart-city traffic simulator.

The public API: :func:`run` runs a scenario file to its end and returns its :class:`RunResults`
(``sim.run("scenarios/demo.toml", demand__scale=1.5, seed=3)``); :func:`load_scenario` reads a
scenario file, and :class:`CityModel` (or :meth:`CityModel.from_file`) runs it step by step or
in chunks. Results give their headline metrics (:meth:`RunResults.summary`) and write the results
folder of ``citysim run`` (:meth:`RunResults.save`). Also here: the metrics of runs, controller
comparison, the signal controller interface and its registry (a scenario may name a controller
class as ``"package.module:Class"``), and the tables of sweeps. Figures are in :mod:`sim.plots`,
sweeps in :mod:`sim.sweep`, the Gymnasium and PettingZoo environments in :mod:`sim.rl.envs`.

Every name but :func:`run` is imported on first use (PEP 562), because the model pulls in mesa
and numba (about 1.5 s); ``import sim`` stays cheap and does nothing else.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sim.lazy import lazy_attributes

if TYPE_CHECKING:
    from sim.compare import compare_controllers, format_comparison
    from sim.control.base import Decision, IntersectionView, SignalController, Stage
    from sim.control.registry import controller_class, controller_names, register_controller
    from sim.metrics.results import RunResults, RunSummary, load_results, write_results
    from sim.metrics.stats import group_summary, paired_differences
    from sim.metrics.summary import all_trip_metrics, format_summary, summarize, trip_metrics
    from sim.model import CityModel
    from sim.plots.compare_figures import plot_delay_over_time
    from sim.plots.parking_figures import plot_occupancy_map
    from sim.plots.shuttle_figures import plot_wait_vs_fleet
    from sim.probes.trajectories import sample_corridor
    from sim.scenario import Overrides, Scenario, ScenarioError, load_scenario
    from sim.sweep.summaries import format_differences, format_summary_table

__version__ = "0.1.0"

_LAZY = {
    "CityModel": "sim.model",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "RunResults": "sim.metrics.results",
    "RunSummary": "sim.metrics.results",
    "load_results": "sim.metrics.results",
    "write_results": "sim.metrics.results",
    "all_trip_metrics": "sim.metrics.summary",
    "format_summary": "sim.metrics.summary",
    "summarize": "sim.metrics.summary",
    "trip_metrics": "sim.metrics.summary",
    "group_summary": "sim.metrics.stats",
    "paired_differences": "sim.metrics.stats",
    "compare_controllers": "sim.compare",
    "format_comparison": "sim.compare",
    "Decision": "sim.control.base",
    "IntersectionView": "sim.control.base",
    "SignalController": "sim.control.base",
    "Stage": "sim.control.base",
    "controller_class": "sim.control.registry",
    "controller_names": "sim.control.registry",
    "register_controller": "sim.control.registry",
    "sample_corridor": "sim.probes.trajectories",
    "format_differences": "sim.sweep.summaries",
    "format_summary_table": "sim.sweep.summaries",
    "plot_delay_over_time": "sim.plots.compare_figures",
    "plot_occupancy_map": "sim.plots.parking_figures",
    "plot_wait_vs_fleet": "sim.plots.shuttle_figures",
}

__all__ = [
    "CityModel",
    "Decision",
    "IntersectionView",
    "RunResults",
    "RunSummary",
    "Scenario",
    "ScenarioError",
    "SignalController",
    "Stage",
    "__version__",
    "all_trip_metrics",
    "compare_controllers",
    "controller_class",
    "controller_names",
    "format_comparison",
    "format_differences",
    "format_summary",
    "format_summary_table",
    "group_summary",
    "load_results",
    "load_scenario",
    "paired_differences",
    "plot_delay_over_time",
    "plot_occupancy_map",
    "plot_wait_vs_fleet",
    "register_controller",
    "run",
    "sample_corridor",
    "summarize",
    "trip_metrics",
    "write_results",
]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


def run(
    scenario: Scenario | str | os.PathLike[str],
    seed: int | None = None,
    overrides: Overrides = (),
    **settings: Any,
) -> RunResults:
    """Run a scenario to its end and return its results.

    ``sim.run("scenarios/demo.toml", demand__scale=1.5, seed=3)`` is ``citysim run
    scenarios/demo.toml --set demand.scale=1.5 --seed 3`` without the printing and the files
    (``results.summary()`` and ``results.save(folder)`` give those). The run stops at
    ``simulation.max_time_s``, when every trip has arrived, or when the network stalls in
    gridlock, as :meth:`CityModel.run` does.

    Args:
        scenario: A validated :class:`Scenario`, or the path of a scenario TOML file.
        seed: Overrides the scenario's seed.
        overrides: ``["demand.rate_vph=3000", ...]`` or ``{"demand.rate_vph": 3000}``, validated
            like the scenario's own keys (see :func:`load_scenario`).
        **settings: More overrides as keywords, ``__`` standing for the dot of a dotted key:
            ``signals__controller="max_pressure"`` is ``{"signals.controller": "max_pressure"}``.
            Applied after ``overrides``.

    Returns:
        The run's results, with ``sim_wall_s``, ``setup_wall_s`` and ``vehicle_steps`` in ``info``.

    Raises:
        ScenarioError: If the file cannot be read or the scenario or an override is invalid.
        NetworkError, DemandError, RoutingError: If the network, demand or routes cannot be built.
    """
    from sim.model import CityModel
    from sim.scenario import Scenario, load_scenario

    if not isinstance(scenario, Scenario):
        scenario, overrides = load_scenario(scenario, overrides), ()
    keyword = {key.replace("__", "."): value for key, value in settings.items()}
    for each in (overrides, keyword):
        if each:
            scenario = scenario.with_overrides(each)
    return CityModel(scenario, seed=seed).run().results()
