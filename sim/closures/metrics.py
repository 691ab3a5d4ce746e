"""Incident metrics from a run's trips: delay of the trips departing before, during and after."""

from __future__ import annotations

import pandas as pd

__all__ = ["delay_by_phase"]


def delay_by_phase(trips: pd.DataFrame, start_s: float, end_s: float, horizon_s: float) -> dict[str, float]:
    """Mean delay of the trips departing before ``start_s``, in ``[start_s, end_s)`` and after (s).

    Delay is travel time (arrival, or ``horizon_s`` for a trip that has not arrived, minus the
    scheduled departure) less the planned route's free-flow time, so every trip counts.

    Returns:
        ``delay_before_s``, ``delay_during_s``, ``delay_after_s`` (NaN where no trip departs).
    """
    depart = trips["depart_s"].to_numpy()
    delay = trips["arrive_s"].fillna(horizon_s).to_numpy() - depart - trips["free_flow_s"].to_numpy()
    phases = {
        "delay_before_s": depart < start_s,
        "delay_during_s": (depart >= start_s) & (depart < end_s),
        "delay_after_s": depart >= end_s,
    }
    return {key: float(delay[mask].mean()) if mask.any() else float("nan") for key, mask in phases.items()}
