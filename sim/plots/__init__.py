"""citysim plots: matplotlib figures of run results and live frames (headless, no pyplot)."""

from sim.plots.emission_figures import EMISSION_MAP_METRICS, link_emissions, plot_emissions_map
from sim.plots.figures import (
    FIGURE_FORMATS,
    MAP_METRICS,
    PlotError,
    plot_network_map,
    plot_series,
    save_figure,
)
from sim.plots.incident_figures import link_volumes, plot_flow_difference
from sim.plots.network_figures import (
    CONGESTION_METRICS,
    link_congestion,
    mfd_points,
    plot_congestion_map,
    plot_mfd,
    plot_time_space,
)
from sim.plots.sweep_figures import plot_comparison_bars, plot_metric_curves, plot_series_over_runs

__all__ = [
    "CONGESTION_METRICS",
    "EMISSION_MAP_METRICS",
    "FIGURE_FORMATS",
    "MAP_METRICS",
    "PlotError",
    "link_congestion",
    "link_emissions",
    "link_volumes",
    "mfd_points",
    "plot_comparison_bars",
    "plot_congestion_map",
    "plot_emissions_map",
    "plot_flow_difference",
    "plot_metric_curves",
    "plot_mfd",
    "plot_network_map",
    "plot_series",
    "plot_series_over_runs",
    "plot_time_space",
    "save_figure",
]
