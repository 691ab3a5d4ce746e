"""Dynamic user equilibrium by iterated runs: route sets, experienced costs, MSA and the relative gap.

As SUMO's ``duaIterate``, over whole runs: after each run every group of trips (same first
link, same destination) and departure bin gets the quickest route on the run's link travel
times added to its set (at most ``max_routes``); each route is costed by the mean travel time
its trips experienced, or, if no trip of the bin took it, by driving it through the run's
interval link travel times; and each trip not on its bin's cheapest route switches to it with
the method of successive averages' probability ``1 / (iteration + 2)``. The relative gap
measures how far a run is from equilibrium::

    gap = sum_r n_r (c_r - c*) / sum_r n_r c*

over the routes ``r`` of every group and bin, with ``n_r`` the trips on a route, ``c_r`` its
mean experienced travel time and ``c*`` the cheapest route's cost; at equilibrium every used
route of a group costs the same and no unused one costs less, so the gap is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.routing.paths import EdgeGraph
from sim.routing.route_sets import RouteGroup, RouteSet

__all__ = ["Equilibrium", "IterationResult"]

_MIN_SPEED_MPS = 0.5
"""Floor of a link's mean speed when it becomes a travel time (as the live link times)."""


@dataclass(frozen=True)
class IterationResult:
    """What one run of the assignment measured.

    Attributes:
        iteration: Its index (0: the scenario's own routes).
        relative_gap: The relative gap of the run's route choices (see the module docstring).
        mean_travel_time_s: Mean travel time from network entry of the trips that entered
            (unfinished ones counted to the end of the run).
        switched: Trips that changed route for the next run.
    """

    iteration: int
    relative_gap: float
    mean_travel_time_s: float
    switched: int


class Equilibrium:
    """Route sets per group of trips and the trips' choices, updated run by run.

    Args:
        net: The compiled network.
        trip_ids: The demand's trip ids, in vehicle order.
        routes: Per trip, the edge indices of its route in the first run.
        depart_s: Per trip, its departure time (s).
        bin_s: Width of the departure bins whose costs are compared (s).
        max_routes: Most routes kept per group.
        seed: Seed of the MSA switches.
    """

    def __init__(
        self,
        net,
        trip_ids: list[str],
        routes: list[np.ndarray],
        depart_s: np.ndarray,
        bin_s: float = 900.0,
        max_routes: int = 4,
        seed: int = 0,
    ) -> None:
        self.net = net
        self.graph = EdgeGraph(net)
        self.trip_ids = list(trip_ids)
        self.bins = np.floor(np.asarray(depart_s, dtype=float) / bin_s).astype(np.int64)
        self.depart_s = np.asarray(depart_s, dtype=float)
        self.bin_s, self.max_routes, self.seed = bin_s, max_routes, seed
        self.free_flow_s = net.edge_length_m / net.edge_speed_mps
        self.group_routes: list[list[tuple[int, ...]]] = []
        keys: dict[tuple[int, int], int] = {}
        self.group = np.empty(len(routes), dtype=np.int64)
        self.choice = np.zeros(len(routes), dtype=np.int64)
        for i, edges in enumerate(routes):
            path = tuple(int(e) for e in edges)
            key = (path[0], int(net.edge_to[path[-1]]))
            g = keys.setdefault(key, len(keys))
            if g == len(self.group_routes):
                self.group_routes.append([])
            options = self.group_routes[g]
            if path not in options:
                options.append(path)
            self.group[i] = g
            self.choice[i] = options.index(path)
        self.iteration = 0

    def route_set(self, meta: dict) -> RouteSet:
        """The current route sets and choices, to write and to run with (``[route_choice] route_set``)."""
        keys, nodes = self.net.edge_keys, self.net.node_ids
        groups = []
        for g, options in enumerate(self.group_routes):
            counts = np.bincount(self.choice[self.group == g], minlength=len(options))
            paths = [(keys[r[0]][0], *(keys[e][1] for e in r)) for r in options]
            shares = (counts / max(counts.sum(), 1)).tolist()
            groups.append(
                RouteGroup(keys[options[0][0]], nodes[self.net.edge_to[options[0][-1]]], paths, shares)
            )
        trips = {tid: (int(self.group[i]), int(self.choice[i])) for i, tid in enumerate(self.trip_ids)}
        return RouteSet(groups, trips, meta)

    def update(
        self, trips: pd.DataFrame, links: pd.DataFrame, horizon_s: float, stop_gap: float = 0.0
    ) -> IterationResult:
        """Cost the run's routes, add the quickest ones, measure the gap; above ``stop_gap``, switch trips.

        Args:
            trips: The run's trip records, in vehicle order (``depart_s``, ``arrive_s``).
            links: The run's link records (``time_s``, ``u``, ``v``, ``mean_speed_mps``).
            horizon_s: When the run ended (s): an unfinished trip counts until then.
            stop_gap: No trip switches if the run's gap is at most this (the choices stay those
                measured).

        Returns:
            The run's gap and mean travel time, and how many trips switched.
        """
        # from network entry: the wait to enter is the same whichever route follows
        travel = trips["arrive_s"].fillna(horizon_s).to_numpy() - trips["enter_s"].to_numpy()
        times, link_tt = _interval_link_times(links, self.net, self.free_flow_s)
        entered = ~np.isnan(travel)
        cells = pd.DataFrame({"group": self.group, "bin": self.bins, "route": self.choice, "tt": travel})
        used = cells[entered].groupby(["group", "bin", "route"])["tt"].agg(["mean", "size"]).reset_index()
        pairs = used[["group", "bin"]].drop_duplicates().to_numpy()
        for b in np.unique(pairs[:, 1]):
            self._add_best_routes(pairs[pairs[:, 1] == b, 0], int(b), times, link_tt)
        # every route of every (group, bin): its walked cost, replaced by the experienced mean if used
        options = [(g, b, r) for g, b in pairs.tolist() for r in range(len(self.group_routes[g]))]
        table = pd.DataFrame(options, columns=["group", "bin", "route"])
        table["cost"] = self._walk(
            [self.group_routes[g][r] for g, _, r in options],
            (table["bin"].to_numpy() + 0.5) * self.bin_s,
            times,
            link_tt,
        )
        table = table.merge(used, on=["group", "bin", "route"], how="left")
        table["cost"] = table["mean"].fillna(table["cost"])
        best = table.groupby(["group", "bin"])["cost"].transform("min")
        taken = table["size"].notna()
        num = float(((table["mean"] - best) * table["size"])[taken].sum())
        den = float((best * table["size"])[taken].sum())
        gap = num / den if den > 0 else 0.0
        switched = 0
        if gap > stop_gap:
            cheapest = table.loc[table.groupby(["group", "bin"])["cost"].idxmin(), ["group", "bin", "route"]]
            target = cells[["group", "bin"]].merge(cheapest, on=["group", "bin"], how="left")["route"]
            target = target.fillna(pd.Series(self.choice)).to_numpy(dtype=np.int64)
            rng = np.random.default_rng([self.seed, self.iteration])
            move = (target != self.choice) & (rng.random(len(target)) < 1.0 / (self.iteration + 2))
            self.choice[move] = target[move]
            switched = int(move.sum())
        mean_s = float(travel[entered].mean()) if entered.any() else 0.0
        result = IterationResult(self.iteration, gap, mean_s, switched)
        self.iteration += 1
        return result

    def _add_best_routes(self, groups: np.ndarray, b: int, times: np.ndarray, link_tt: np.ndarray) -> None:
        """Add each group's quickest route for bin ``b`` on the run's link times, if new and there is room."""
        start = (b + 0.5) * self.bin_s
        window = (times >= start) & (times <= start + self.bin_s)
        cost = link_tt[window].mean(axis=0) if window.any() else self.free_flow_s
        first = np.array([self.group_routes[g][0][0] for g in groups], dtype=np.int64)
        dest = self.net.edge_to[[self.group_routes[g][0][-1] for g in groups]]
        trees = self.graph.trees_to(dest, first, cost)
        rows = trees.rows_of(dest)
        reach = np.isfinite(trees.cost_s[rows, first])
        ptr, edges = self.graph.paths(trees, rows[reach], first[reach])
        for i, g in enumerate(groups[reach].tolist()):
            path = tuple(edges[ptr[i] : ptr[i + 1]].tolist())
            options = self.group_routes[g]
            if path not in options and len(options) < self.max_routes:
                options.append(path)

    def _walk(
        self, routes: list[tuple[int, ...]], depart_s: np.ndarray, times: np.ndarray, link_tt: np.ndarray
    ) -> np.ndarray:
        """Travel time (s) of each route departing at ``depart_s``, each link at the time it is entered."""
        sizes = np.array([len(r) for r in routes], dtype=np.int64)
        if not len(routes):
            return np.zeros(0)
        edges = np.full((len(routes), int(sizes.max())), -1, dtype=np.int64)
        edges[np.arange(int(sizes.max())) < sizes[:, None]] = np.concatenate([np.array(r) for r in routes])
        tt = link_tt if len(times) else self.free_flow_s[None, :]
        t = np.asarray(depart_s, dtype=float).copy()
        for k in range(edges.shape[1]):
            on = edges[:, k] >= 0
            interval = np.minimum(np.searchsorted(times, t[on]), len(tt) - 1)
            t[on] += tt[interval, edges[on, k]]
        return t - depart_s


def _interval_link_times(links: pd.DataFrame, net, free_flow_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per reporting interval (its end time, s), every link's travel time (s).

    By Little's law, vehicles on the link over the rate at which they leave it; a link that
    nobody left takes its length over its vehicles' mean speed (floored), and an empty one
    its free-flow time.
    """
    if links.empty:
        return np.zeros(0), np.zeros((0, net.n_edges))
    times = np.sort(links["time_s"].unique())
    shape = (len(times), net.n_edges)
    speed = links["mean_speed_mps"].to_numpy().reshape(shape)
    on_link = links["density_vpkm"].to_numpy().reshape(shape) * net.edge_length_m * net.edge_lanes / 1000.0
    exits_per_s = links["flow_vph"].to_numpy().reshape(shape) / 3600.0
    by_speed = net.edge_length_m / np.maximum(np.nan_to_num(speed), _MIN_SPEED_MPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        little = np.where(exits_per_s > 0, np.maximum(on_link / exits_per_s, free_flow_s), by_speed)
    return times, np.where(on_link > 0, little, free_flow_s)
