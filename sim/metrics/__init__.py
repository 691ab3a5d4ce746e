"""citysim metrics: run results on disk and back, summaries, confidence intervals, and live frames.

The frames (:mod:`sim.metrics.frames`) are what the live probes of :mod:`sim.probes` hand the plots.
"""

from sim.metrics.results import (
    LINK_COLUMNS,
    SERIES_COLUMNS,
    TRIP_COLUMNS,
    ResultsError,
    RunResults,
    load_results,
    load_summary,
    write_results,
)
from sim.metrics.summary import SUMMARY_KEYS, MetricsError, format_summary, mean_ci, summarize, trip_metrics

__all__ = [
    "LINK_COLUMNS",
    "SERIES_COLUMNS",
    "SUMMARY_KEYS",
    "TRIP_COLUMNS",
    "MetricsError",
    "ResultsError",
    "RunResults",
    "format_summary",
    "load_results",
    "load_summary",
    "mean_ci",
    "summarize",
    "trip_metrics",
    "write_results",
]
