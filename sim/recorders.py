"""What a run records at each report: the interval series, per-link sums, gridlock, stalls, starvation.

The model calls :meth:`Recorder.report` at the end of every reporting interval; the
recorder reads the traffic state's accumulators and counts and keeps the rows from which
the results' ``series`` and ``links`` frames are built.
"""

from __future__ import annotations

import logging
import math

import mesa
import numpy as np
import pandas as pd

from sim.network.compile import CompiledNetwork
from sim.traffic.emission_codes import RECORD_COLUMNS, RECORD_SCALE
from sim.traffic.lane_state import EdgeSums
from sim.traffic.state import TrafficState

__all__ = ["Recorder"]

_log = logging.getLogger(__name__)

_INTERVAL_KEYS = (
    "departed",
    "arrived",
    "mean_speed_mps",
    "queued_vehicles",
    "vehicle_steps",
    "max_green_wait_s",
)


class Recorder:
    """The records of one run.

    Args:
        model: The model whose Mesa ``DataCollector`` collects the interval series.
        traffic: Its traffic state.
        net: Its compiled network.
        gridlock_s: How long a circular wait or a standstill must last to count (s).

    Attributes:
        last_report_s: End of the last reporting interval (s).
        gridlock: One report per circular spillback found: ``edges``, ``lanes``, ``since_s``,
            ``detected_s``.
        stalled_at_s: When the run stalled in gridlock (s), or None.
        longest_green_wait: ``wait_s`` and ``approach`` of the run's longest wait for green.
        vehicle_steps: Vehicle-steps so far.
    """

    def __init__(
        self, model: mesa.Model, traffic: TrafficState, net: CompiledNetwork, gridlock_s: float
    ) -> None:
        self._model = model
        self.traffic = traffic
        self.net = net
        self.dt_s = traffic.dt_s
        self.gridlock_s = gridlock_s
        self.last_report_s = 0.0
        self._last_counts = (0, 0)
        self._last_progress_s = 0.0
        self._link_rows: list[tuple[float, float, EdgeSums]] = []
        self._emission_rows: list[np.ndarray] = []
        self._interval: dict[str, float] = {}
        self.gridlock: list[dict] = []
        self.stalled_at_s: float | None = None
        self.longest_green_wait: dict = {"wait_s": 0.0, "approach": None}
        self.vehicle_steps = 0
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "time_s": lambda _: traffic.t_s,
                "vehicles_on_network": lambda _: traffic.n_on_network,
                "entry_backlog": lambda _: traffic.n_waiting,
                **{key: self._interval_value(key) for key in _INTERVAL_KEYS},
            }
        )

    def _interval_value(self, key: str):
        return lambda _: self._interval[key]

    def series(self) -> pd.DataFrame:
        """One row per reporting interval (see :class:`sim.metrics.results.RunResults`)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def report(self) -> bool:
        """Close the reporting interval that ends now.

        Returns:
            Whether the run stalled: a gridlock exists and nothing entered or arrived for
            ``gridlock_s``.
        """
        traffic = self.traffic
        now = traffic.t_s
        span = now - self.last_report_s
        sums = traffic.take_accumulators()
        if traffic.emissions_on:
            self._emission_rows.append(traffic.take_emission_sums() * RECORD_SCALE)
        entered, arrived = traffic.n_entered, traffic.n_arrived
        veh_steps = float(sums.vehicle_steps.sum())
        self.vehicle_steps += int(veh_steps)
        steps = span / self.dt_s
        self._interval = {
            "departed": entered - self._last_counts[0],
            "arrived": arrived - self._last_counts[1],
            "mean_speed_mps": float(sums.speed_sum_mps.sum()) / veh_steps if veh_steps else math.nan,
            "queued_vehicles": float(sums.halted_steps.sum()) / steps,
            "vehicle_steps": int(veh_steps),
            "max_green_wait_s": self._take_green_waits(),
        }
        if (entered, arrived) != self._last_counts:
            self._last_progress_s = now
        self._last_counts = (entered, arrived)
        self._link_rows.append((now, span, sums))
        self.datacollector.collect(self._model)
        self.last_report_s = now
        return self._check_gridlock()

    def _take_green_waits(self) -> float:
        """The longest wait for green in the interval (s); remembers the approach of the run's longest."""
        waits = self.traffic.take_green_waits()
        if not waits.size:
            return 0.0
        lane = int(np.argmax(waits))
        if waits[lane] > self.longest_green_wait["wait_s"]:
            u, v = self.net.edge_keys[self.net.lane_edge[lane]]
            self.longest_green_wait = {"wait_s": float(waits[lane]), "approach": f"{u}->{v}"}
        return float(waits[lane])

    def _check_gridlock(self) -> bool:
        traffic = self.traffic
        limit = self.gridlock_s
        known = {tuple(g["lanes"]) for g in self.gridlock}
        cycles = traffic.gridlock_cycles(limit)
        for lanes, since in cycles:
            key = tuple(sorted(lanes.tolist()))
            if key in known:
                continue
            edges = [self.net.edge_keys[self.net.lane_edge[lane]] for lane in lanes.tolist()]
            names = [f"{u}->{v}" for u, v in edges]
            self.gridlock.append(
                {"edges": names, "lanes": list(key), "since_s": since, "detected_s": traffic.t_s}
            )
            _log.warning("gridlock since t=%.0f s: circular spillback %s", since, " | ".join(names))
        stalled = traffic.n_on_network > 0 and traffic.t_s - self._last_progress_s >= limit
        if stalled and cycles:
            self.stalled_at_s = traffic.t_s
            _log.warning("network stalled: no vehicle entered or arrived for %.0f s", limit)
        return self.stalled_at_s is not None

    def link_records(self) -> pd.DataFrame:
        """One row per reporting interval and edge (see :class:`sim.metrics.results.RunResults`)."""
        net = self.net
        n_e = net.n_edges
        if not self._link_rows:
            return pd.DataFrame(
                columns=["time_s", "u", "v", "flow_vph", "density_vpkm", "mean_speed_mps", "queue_veh"]
            )
        times = np.array([r[0] for r in self._link_rows])
        spans = np.array([r[1] for r in self._link_rows])[:, None]
        sums = EdgeSums.stack([r[2] for r in self._link_rows])
        steps = spans / self.dt_s
        veh = sums.vehicle_steps
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(veh > 0, sums.speed_sum_mps / veh, np.nan)
        lane_km = net.edge_length_m * net.edge_lanes / 1000.0
        u = np.array([key[0] for key in net.edge_keys], dtype=object)
        v = np.array([key[1] for key in net.edge_keys], dtype=object)
        return pd.DataFrame(
            {
                "time_s": np.repeat(times, n_e),
                "u": np.tile(u, len(times)),
                "v": np.tile(v, len(times)),
                "flow_vph": (sums.exits * 3600.0 / spans).ravel(),
                "density_vpkm": (veh / steps / lane_km).ravel(),
                "mean_speed_mps": speed.ravel(),
                "queue_veh": (sums.halted_steps / steps).ravel(),
                # with [emissions]: what each edge's vehicles emitted in the interval (g; Wh)
                **(
                    dict(zip(RECORD_COLUMNS, np.concatenate(self._emission_rows).T, strict=True))
                    if self._emission_rows
                    else {}
                ),
            }
        )
