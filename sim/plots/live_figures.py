"""Live charts of a running model for the explorer: its delay and queues so far, and its clock.

They draw a history DataFrame, never the model, on ``Figure`` objects, never pyplot, so they are
safe in a server thread. The map of the city now is :mod:`sim.plots.city_map`.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["clock_text", "plot_live_charts"]

_SECONDS_PER_MINUTE = 60.0


def clock_text(time_s: float) -> str:
    """Simulated time as ``HH:MM:SS``, to the nearest second."""
    minutes, seconds = divmod(round(time_s), 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}"


def plot_live_charts(history: pd.DataFrame) -> Figure:
    """Mean delay of the trips finished so far, and vehicles queued (standing), over time.

    Args:
        history: :attr:`sim.viz.model.ExplorerModel.history`: ``time_s``, ``mean_delay_s``,
            ``queued_veh``, ``on_network`` per step.

    Returns:
        A figure with two stacked axes sharing the time axis (minutes).
    """
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    delay_ax, queue_ax = figure.subplots(2, 1, sharex=True)
    minutes = history["time_s"] / _SECONDS_PER_MINUTE
    delay_ax.plot(minutes, history["mean_delay_s"], color="#d7191c")
    delay_ax.set(ylabel="mean delay (s)", title="Mean delay so far, all trips due (unfinished ones too)")
    queue_ax.plot(minutes, history["queued_veh"], color="#2c7bb6", label="standing")
    queue_ax.plot(minutes, history["on_network"], color="0.6", linewidth=1.0, label="on the network")
    queue_ax.set(xlabel="simulated time (min)", ylabel="vehicles", title="Queues")
    queue_ax.legend(loc="upper left", fontsize="small")
    for ax in (delay_ax, queue_ax):
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    return figure
