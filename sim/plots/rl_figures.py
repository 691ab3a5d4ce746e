"""The learning curve of a training: reward and delay over episodes (headless, no pyplot)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["CURVE_COLUMNS", "plot_learning_curve"]

CURVE_COLUMNS = ("episode", "epsilon", "mean_reward", "train_delay_s", "eval_delay_s")
"""Columns of the training curve the figure reads."""

_SMOOTH_EPISODES = 10


def plot_learning_curve(
    curve: pd.DataFrame, axes: tuple[Axes, Axes] | None = None, title: str | None = None
) -> Figure:
    """Plot mean reward (with exploration rate) and mean delay per episode.

    Args:
        curve: One row per episode, with the columns of :data:`CURVE_COLUMNS` (see
            :func:`sim.rl.train.train`).
        axes: Two Axes (reward, delay) to draw on; ``None`` makes a new figure.
        title: Figure title; ``None`` for none.

    Returns:
        The figure holding the axes.

    Raises:
        ValueError: If a column is missing.
    """
    missing = [c for c in CURVE_COLUMNS if c not in curve.columns]
    if missing:
        raise ValueError(f"learning curve lacks column(s) {missing}; it has {list(curve.columns)}")
    if axes is None:
        figure = Figure(figsize=(8.0, 6.0), layout="constrained")
        ax_reward, ax_delay = figure.subplots(2, 1, sharex=True)
    else:
        ax_reward, ax_delay = axes
        figure = ax_reward.get_figure()
    episode = curve["episode"]
    smooth = min(_SMOOTH_EPISODES, max(len(curve), 1))
    ax_reward.plot(episode, curve["mean_reward"], color="0.75", lw=0.8, label="per episode")
    ax_reward.plot(
        episode,
        curve["mean_reward"].rolling(smooth, min_periods=1).mean(),
        color="C0",
        label=f"{smooth}-episode mean",
    )
    ax_reward.set_ylabel("mean reward per decision")
    ax_reward.legend(loc="lower right", fontsize="small")
    ax_eps = ax_reward.twinx()
    ax_eps.plot(episode, curve["epsilon"], color="C2", ls=":", lw=1.0)
    ax_eps.set_ylabel("exploration rate", color="C2")
    ax_eps.set_ylim(0.0, 1.05)
    ax_delay.plot(
        episode, curve["train_delay_s"], color="0.75", lw=0.8, label="training episodes (exploring)"
    )
    evaluated = curve.dropna(subset=["eval_delay_s"])
    ax_delay.plot(
        evaluated["episode"], evaluated["eval_delay_s"], "o-", color="C3", label="greedy evaluation"
    )
    ax_delay.set_xlabel("episode")
    ax_delay.set_ylabel("mean delay (s)")
    ax_delay.legend(loc="upper right", fontsize="small")
    if title:
        figure.suptitle(title)
    return figure
