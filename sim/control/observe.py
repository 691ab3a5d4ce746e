"""One network-wide observation per decision time, shared by every controller's view."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from sim.traffic.state import TrafficState

__all__ = ["Observation"]


class Observation:
    """Lazily computed per-connection and per-edge arrays at one moment.

    Args:
        traffic: The live traffic state (read only).
        horizon_m: Distance before the stop line within which moving vehicles count as
            approaching (m).
    """

    def __init__(self, traffic: TrafficState, horizon_m: float) -> None:
        self._traffic = traffic
        self._horizon_m = horizon_m
        self.now_s = traffic.t_s

    @cached_property
    def _by_connection(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._traffic.observe_connections(self._horizon_m)

    @property
    def queue(self) -> np.ndarray:
        """Halted vehicles per connection."""
        return self._by_connection[0]

    @property
    def approaching(self) -> np.ndarray:
        """Moving vehicles within the horizon per connection."""
        return self._by_connection[1]

    @property
    def waiting_s(self) -> np.ndarray:
        """Summed waiting time on the current link per connection (s)."""
        return self._by_connection[2]

    @cached_property
    def edge_occupancy(self) -> np.ndarray:
        """Vehicles per edge over its jam capacity."""
        return self._traffic.edge_occupancy()

    @cached_property
    def _signal_rows(self) -> tuple[list[int], list[int], list[int], list[float], list[float]]:
        # Read once per decision time as Python lists: controllers read their state several
        # times per decision, and requests are applied only after every controller decided.
        phase, stage, next_phase, age_s, min_green_s = self._traffic.signal_states()
        return phase.tolist(), stage.tolist(), next_phase.tolist(), age_s.tolist(), min_green_s.tolist()

    def signal_state(self, signal: int) -> tuple[int, int, int, float, float]:
        """(global phase, stage, next global phase or -1, stage age s, min green s) of a signal."""
        phase, stage, next_phase, age_s, min_green_s = self._signal_rows
        return phase[signal], stage[signal], next_phase[signal], age_s[signal], min_green_s[signal]
