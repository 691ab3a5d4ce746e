"""citysim plots: matplotlib figures of run results (headless, no pyplot)."""

from sim.plots.figures import (
    FIGURE_FORMATS,
    MAP_METRICS,
    PlotError,
    plot_network_map,
    plot_series,
    save_figure,
)

__all__ = ["FIGURE_FORMATS", "MAP_METRICS", "PlotError", "plot_network_map", "plot_series", "save_figure"]
