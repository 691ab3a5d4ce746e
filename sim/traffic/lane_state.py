"""Named readers of the lanes and edges for :class:`sim.traffic.state.TrafficState` (numpy only).

Outside ``sim/traffic/`` nothing indexes the lane rows or the per-edge sums: the model's
recorders, the probes and the tests ask these readers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.traffic.layout import (
    ACC_EXITS,
    ACC_HALTED,
    ACC_SPEED_SUM,
    ACC_VEH_STEPS,
    LF_BLOCKED_SINCE,
    LF_GREEN_WAIT_MAX,
    LF_GREEN_WAIT_SINCE,
    LI_CAP,
    LI_COUNT,
    LI_HEAD,
    LI_OFF,
)

__all__ = ["EdgeSums", "LaneReaders"]


class EdgeSums(NamedTuple):
    """Per-edge sums over a reporting interval, one array each indexed by edge.

    Attributes:
        vehicle_steps: Vehicles on the edge, summed over the steps (vehicle-steps).
        speed_sum_mps: Their speeds, summed over the steps (m/s).
        halted_steps: Halted vehicles on the edge, summed over the steps (vehicle-steps).
        exits: Vehicles that left the edge (vehicles).
    """

    vehicle_steps: np.ndarray
    speed_sum_mps: np.ndarray
    halted_steps: np.ndarray
    exits: np.ndarray

    @classmethod
    def stack(cls, intervals: list[EdgeSums]) -> EdgeSums:
        """The sums of many intervals, each field an ``(intervals, edges)`` array."""
        return cls(*(np.stack(field) for field in zip(*intervals, strict=True)))


class LaneReaders:
    """Lane and edge readers mixed into ``TrafficState``, which provides the attributes below.

    Attributes:
        net: The compiled network (``edge_lane0``, ``n_lanes``).
        li: ``(5, n_lanes)`` int rows ``LI_*``.
        lf: ``(3, n_lanes)`` float rows ``LF_*`` (s).
        lane_buf: Every lane's ring buffer of vehicle ids.
        lane_target: Per lane, the lane its first vehicle enters next (-1: none yet).
        acc: ``(4, n_edges)`` per-edge sums ``ACC_*``.
        t_s: Simulated time (s).
    """

    net: object
    li: np.ndarray
    lf: np.ndarray
    lane_buf: np.ndarray
    lane_target: np.ndarray
    acc: np.ndarray
    t_s: float

    def lane_vehicles(self, lane: int) -> np.ndarray:
        """Vehicle ids on ``lane`` from its stop line backwards."""
        off, cap, head, n = (int(x) for x in self.li[[LI_OFF, LI_CAP, LI_HEAD, LI_COUNT], lane])
        return self.lane_buf[off + (head + np.arange(n)) % cap]

    def queued_vehicles(self) -> tuple[np.ndarray, np.ndarray]:
        """Every vehicle on a lane, lane by lane, each lane from its stop line backwards.

        Returns:
            The lane of each, and the vehicle ids.
        """
        li = self.li
        counts = li[LI_COUNT]
        lane = np.repeat(np.arange(len(counts)), counts)
        rank = np.arange(len(lane)) - np.repeat(np.cumsum(counts) - counts, counts)
        return lane, self.lane_buf[li[LI_OFF, lane] + (li[LI_HEAD, lane] + rank) % li[LI_CAP, lane]]

    def lane_counts(self) -> np.ndarray:
        """Vehicles on each lane (a copy)."""
        return self.li[LI_COUNT].copy()

    def lane_capacities(self) -> np.ndarray:
        """The most vehicles each lane holds: its jam capacity plus two partly in the junction."""
        return self.li[LI_CAP].copy()

    def edge_occupancy(self) -> np.ndarray:
        """Vehicles on each edge divided by the number it holds at jam spacing."""
        net = self.net
        counts = np.add.reduceat(self.li[LI_COUNT], net.edge_lane0) if net.n_lanes else np.zeros(0)
        caps = np.add.reduceat(self.li[LI_CAP] - 2, net.edge_lane0) if net.n_lanes else np.zeros(0)
        return counts / np.maximum(caps, 1)

    def take_accumulators(self) -> EdgeSums:
        """Per-edge sums since the last call, and reset them."""
        acc = self.acc.copy()
        self.acc[:] = 0.0
        return EdgeSums(acc[ACC_VEH_STEPS], acc[ACC_SPEED_SUM], acc[ACC_HALTED], acc[ACC_EXITS])

    def take_green_waits(self) -> np.ndarray:
        """Per lane, the longest time (s) its first vehicle stood at the stop line without green.

        Covers the waits that ended since the last call and the one going on now, and resets
        the record of ended waits.
        """
        ongoing = np.where(self.lf[LF_GREEN_WAIT_SINCE] >= 0.0, self.t_s - self.lf[LF_GREEN_WAIT_SINCE], 0.0)
        out = np.maximum(self.lf[LF_GREEN_WAIT_MAX], ongoing)
        self.lf[LF_GREEN_WAIT_MAX] = 0.0
        return out

    def blocked_lanes(self, min_duration_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Lanes whose first vehicle has waited for room downstream at least ``min_duration_s``.

        Returns:
            Lane indices and the time (s) since when each has been held.
        """
        since = self.lf[LF_BLOCKED_SINCE]
        lanes = np.flatnonzero((since >= 0.0) & (self.t_s - since >= min_duration_s - 1e-9))
        return lanes, since[lanes]

    def gridlock_cycles(self, min_duration_s: float) -> list[tuple[np.ndarray, float]]:
        """Circular waits: lanes each held by spillback from the next, closing a loop.

        Each lane whose first vehicle waits for room on a full lane points at that lane;
        a cycle of such lanes, all held at least ``min_duration_s``, can never clear.

        Returns:
            One ``(lanes, since_s)`` per cycle: its lanes in order and the time (s) since
            when all of them have been held.
        """
        since = self.lf[LF_BLOCKED_SINCE]
        held = np.zeros(len(since), dtype=bool)
        held[self.blocked_lanes(min_duration_s)[0]] = True
        state = np.zeros(len(since), dtype=np.int8)  # 0 unseen, 1 on the current walk, 2 done
        cycles = []
        for start in np.flatnonzero(held).tolist():
            walk = []
            lane = start
            while lane >= 0 and held[lane] and state[lane] == 0:
                state[lane] = 1
                walk.append(lane)
                lane = int(self.lane_target[lane])
            if lane >= 0 and state[lane] == 1:
                loop = np.array(walk[walk.index(lane) :])
                cycles.append((loop, float(since[loop].max())))
            state[walk] = 2
        return cycles
