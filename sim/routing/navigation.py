"""En-route rerouting: drivers who re-plan their remaining route on smoothed link travel times.

As SUMO's rerouting device: every ``adaptation_interval_s`` each link's mean speed is
sampled (of the vehicles on it, its limit when empty) and smoothed (a moving average over
``adaptation_steps`` samples, or exponentially); a link's time is its length over that speed; every
``reroute_period_s`` each equipped driver re-plans, at staggered times (from its departure
on): the drivers fall in ``reroute_groups`` groups by departure time, and an event every
``reroute_period_s / reroute_groups`` re-plans the group due. They are routed in one batch
(:class:`~sim.routing.paths.EdgeGraph`: one search per destination), on the network's
connections only, so a new route never makes a banned turn. A driver re-plans from the next
junction where it can still choose: a vehicle within ``commit_m`` of its stop line keeps its
next turn (its lane was chosen for it) and re-plans from the link after it. A new route
replaces the old one only if it is quicker on the same costs (ties keep the old route), so a
driver does not switch between equal routes. A driver re-plans first at the event after its
departure (as SUMO's device routes at insertion), while it waits to enter or on its first link.

Closures (:mod:`sim.closures`) add to the costs: a closed link is impassable (``inf``), a link
with lanes closed costs more for informed drivers (:attr:`Navigation.penalty`); uninformed
drivers re-plan only when their route becomes impossible, on free-flow times.
"""

from __future__ import annotations

import time
import weakref

import numpy as np

from sim.routing.paths import EdgeGraph, spans
from sim.routing.spec import Spec
from sim.services import Services
from sim.traffic.codes import ST_ON_NETWORK, ST_WAITING

__all__ = ["ROUTING_STREAM", "LinkTimes", "Navigation", "navigation_for"]

ROUTING_STREAM = 0x524F5554
"""Spawn key of the routing layer's random stream (``[seed, ROUTING_STREAM]``): who is equipped."""
_GAIN = 1e-6
"""A new route must be quicker than the old by this share (ties keep the old route)."""


class LinkTimes:
    """Smoothed link travel times (s), as SUMO's rerouting device adapts its edge weights.

    As SUMO does, the *speeds* are smoothed and a link's time is its length over the smoothed
    speed: averaging the times instead would let the few samples taken while a link's queue
    stands at a red light (speeds near 0, times near infinite) dominate, and drivers would
    detour around every signal queue.

    Args:
        length_m: Per link, its length (m).
        free_flow_s: Per link, its free-flow time (s): the starting value of every sample.
        steps: Samples in the moving average.
        weight: If > 0, exponential smoothing instead: the old value's weight per sample.
    """

    def __init__(self, length_m: np.ndarray, free_flow_s: np.ndarray, steps: int, weight: float) -> None:
        self.length_m = np.asarray(length_m, dtype=float)
        self.weight = weight
        self._speed = self.length_m / np.asarray(free_flow_s, dtype=float)
        self._samples = np.tile(self._speed, (steps, 1))
        self._sum = self._samples.sum(axis=0)
        self._next = 0

    @property
    def value(self) -> np.ndarray:
        """Per link, its smoothed travel time (s)."""
        return self.length_m / self._speed

    def add(self, sample_s: np.ndarray) -> None:
        """Take a new sample of every link's travel time (s)."""
        speed = self.length_m / np.asarray(sample_s, dtype=float)
        if self.weight > 0.0:
            self._speed = self.weight * self._speed + (1.0 - self.weight) * speed
            return
        self._sum += speed - self._samples[self._next]
        self._samples[self._next] = speed
        self._next = (self._next + 1) % len(self._samples)
        self._speed = self._sum / len(self._samples)


class Navigation:
    """Who re-plans, on which link costs, and the batch re-planning itself.

    Args:
        model: The model (its services).
        spec: The ``[route_choice]`` table.

    Attributes:
        equipped: Per demand trip, whether its driver re-plans en route.
        times: The smoothed link travel times.
        closed: Per link, whether it is closed to traffic now.
        penalty: Per link, the factor informed drivers expect on its travel time (lanes closed).
        route_changes: Per demand trip, how many times its route changed.
        events: Batches re-planned (of at least one vehicle).
        wall_s: Wall time spent sampling and re-planning (s).
    """

    def __init__(self, model: Services, spec: Spec) -> None:
        self.model, self.spec = model, spec
        net = model.net
        self.graph = EdgeGraph(net)
        self.free_flow_s = net.edge_length_m / net.edge_speed_mps
        self.depart_s = model.trip_records()["depart_s"].to_numpy()
        self.n_trips = len(self.depart_s)
        rng = np.random.default_rng([model.seed, ROUTING_STREAM])
        self.equipped = rng.random(self.n_trips) < spec.equipped_share
        self.times = LinkTimes(
            net.edge_length_m, self.free_flow_s, spec.adaptation_steps, spec.adaptation_weight
        )
        self.closed = np.zeros(net.n_edges, dtype=bool)
        self.penalty = np.ones(net.n_edges)
        self.route_changes = np.zeros(self.n_trips, dtype=np.int64)
        self.events = 0
        self.wall_s = 0.0
        self._started = False

    def start(self) -> None:
        """Schedule the sampling and the re-planning (once; nothing if nobody is equipped).

        Loads (or compiles, once per machine) the compiled search now, so that the run's loop
        does not pay for it.
        """
        if self._started or not self.equipped.any():
            return
        self._started = True
        self.graph.trees_to(self.graph.edge_to[:1], np.zeros(1, dtype=np.int64), self.free_flow_s)
        self.model.schedule(self.spec.adaptation_interval_s, self._adapt)
        self.model.schedule(self._group_s, self._replan)

    @property
    def _group_s(self) -> float:
        """Time between two re-planning events (s): one group of drivers is due at each."""
        return self.spec.reroute_period_s / self.spec.reroute_groups

    @property
    def _pending(self) -> bool:
        """Whether a demand trip has yet to arrive (the timers stop after the last one)."""
        return self.model.traffic.n_arrived_of(self.n_trips) < self.n_trips

    def informed_costs_s(self) -> np.ndarray:
        """Link costs of an equipped driver (s): smoothed times, closures' penalties, closed links ``inf``."""
        return np.where(self.closed, np.inf, self.times.value * self.penalty)

    def blind_costs_s(self) -> np.ndarray:
        """Link costs of an uninformed driver who met a closure (s): free-flow times, closed links ``inf``."""
        return np.where(self.closed, np.inf, self.free_flow_s)

    def reroute_equipped(self, due_only: bool = False) -> int:
        """Let the equipped drivers on the network or waiting to enter re-plan now.

        Args:
            due_only: Only those whose period is due: a driver re-plans at the first event after
                its departure and every ``reroute_period_s`` after it, in one of
                ``reroute_groups`` groups by departure time (so, as with SUMO's device, the
                drivers re-plan at staggered times, not all at once).

        Returns:
            How many routes changed.
        """
        status = self.model.traffic.statuses()[: self.n_trips]
        due = self.equipped & ((status == ST_ON_NETWORK) | (status == ST_WAITING))
        if due_only:
            since = self.model.time_s - self.depart_s
            due &= (since >= 0.0) & (np.mod(since, self.spec.reroute_period_s) < self._group_s)
        return self.reroute(np.flatnonzero(due), self.informed_costs_s())

    def reroute(self, vids: np.ndarray, cost_s: np.ndarray) -> int:
        """Re-plan the remaining routes of demand vehicles ``vids`` on link costs ``cost_s`` (s) in one batch.

        Each keeps its route unless the new one is quicker on these costs (a route through a
        closed link costs ``inf``).

        Returns:
            How many routes changed.
        """
        if not len(vids):
            return 0
        t0 = time.perf_counter()
        changed = self._reroute(np.asarray(vids, dtype=np.int64), np.asarray(cost_s, dtype=float))
        self.events += 1
        self.wall_s += time.perf_counter() - t0
        return changed

    def _reroute(self, vids: np.ndarray, cost: np.ndarray) -> int:
        traffic, length = self.model.traffic, self.model.net.edge_length_m
        rp = traffic.route_positions(vids).astype(np.int64)
        rend = traffic.route_ends(vids).astype(np.int64)
        edge = traffic.route_edges_at(rp)
        nxt = traffic.route_edges_at(np.minimum(rp + 1, rend))
        on = traffic.statuses()[vids] == ST_ON_NETWORK
        near = on & (length[edge] - traffic.positions_m(vids) < self.spec.commit_m)
        # a closed next link is never kept; a vehicle on a closed link drives it to its end
        keep = (near & ~self.closed[nxt]) | (on & self.closed[edge])
        start = rp + keep
        choice = start < rend
        vids, rp, rend, edge, keep, start = (a[choice] for a in (vids, rp, rend, edge, keep, start))
        if not len(vids):
            return 0
        dest = self.graph.edge_to[traffic.route_edges_at(rend)]
        src = traffic.route_edges_at(start)
        trees = self.graph.trees_to(dest, src, cost)
        rows = trees.rows_of(dest)
        new = trees.cost_s[rows, src]
        sizes = rend - start + 1
        old = np.add.reduceat(cost[traffic.route_edges_at(spans(start, sizes))], np.cumsum(sizes) - sizes)
        better = np.isfinite(new) & (new < old * (1.0 - max(self.spec.min_gain, _GAIN)))
        if not better.any():
            return 0
        vids, edge, keep, rows, src = (a[better] for a in (vids, edge, keep, rows, src))
        ptr, tails = self.graph.paths(trees, rows, src)
        sizes = keep + np.diff(ptr)
        out_ptr = np.concatenate([[0], np.cumsum(sizes)])
        edges = np.empty(out_ptr[-1], dtype=np.int64)
        edges[out_ptr[:-1][keep]] = edge[keep]
        edges[spans(out_ptr[:-1] + keep, np.diff(ptr))] = tails
        conns = np.full(len(edges), -1, dtype=np.int64)
        conns[:-1] = self.graph.connections(edges[:-1], edges[1:])
        conns[out_ptr[1:] - 1] = -1
        traffic.set_routes(vids, out_ptr, edges, conns)
        self.route_changes[vids] += 1
        return len(vids)

    def _adapt(self) -> None:
        t0 = time.perf_counter()
        self.times.add(self.model.link_travel_times_s())
        self.wall_s += time.perf_counter() - t0
        if self._pending:
            self.model.schedule(self.model.time_s + self.spec.adaptation_interval_s, self._adapt)

    def _replan(self) -> None:
        self.reroute_equipped(due_only=True)
        if self._pending:
            self.model.schedule(self.model.time_s + self._group_s, self._replan)


_NAVIGATIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def navigation_for(model: Services, spec: Spec | None = None) -> Navigation:
    """The model's one :class:`Navigation`, made on first use from ``spec`` (default: ``[route_choice]``).

    The ``[route_choice]`` feature and the closures of :mod:`sim.closures` share it, so that both
    re-plan the same equipped drivers on the same smoothed times.
    """
    found = _NAVIGATIONS.get(model)
    if found is None:
        found = _NAVIGATIONS[model] = Navigation(
            model, spec or model.config.section("route_choice") or Spec()
        )
    return found
