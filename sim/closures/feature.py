"""The ``[[incidents]]`` entries attached to a model: closures on timers, drivers who react.

At every start and end of an incident the links' state is computed afresh from the network as
built and the incidents active then (overlapping incidents on one link combine: the lanes
closed from each side add up, the lowest speed limit holds):

* **lanes closed:** the lanes that serve each turn out of the link narrow to its open lanes
  (a turn served only by closed lanes moves to the nearest open lane), so the lane-change stage
  moves the vehicles on closed lanes out of them as it moves any vehicle off a lane that does
  not serve its turn, and vehicles entering the link pick an open lane; a vehicle that cannot
  merge waits at the end of its lane, as at any lane drop. Informed drivers expect the link to
  take ``lanes / open lanes`` times its current travel time.
* **road closed** (every lane): routing treats the link as impassable. Vehicles already on it
  drive out; a driver whose next link is closed re-plans from its current link, on free-flow
  times if uninformed, on the smoothed ones if equipped (checked every ``poll_s`` while a road
  is closed); a driver with no other way (its origin or destination link is closed) keeps its
  route and drives through.
* **speed limit:** the link's limit while it lasts.

Informed drivers (``[route_choice] equipped_share``) re-plan at every start and end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.closures.metrics import delay_by_phase
from sim.closures.spec import Spec
from sim.metrics.catalog import Metric
from sim.routing.navigation import navigation_for
from sim.schema import ScenarioError
from sim.services import Services
from sim.traffic.codes import ST_ON_NETWORK, ST_WAITING

__all__ = ["ClosureFeature", "attach"]


class ClosureFeature:
    """The ``[[incidents]]`` section of a model.

    Attributes:
        entries: The incidents.
        links: Per incident, its link's index.
        active: Per incident, whether it is in force now.
        found_closed: Route changes of drivers who reached a closed road.
    """

    headline_metrics = (
        Metric("delay_before_s", "mean delay of trips departing before the incidents (s)"),
        Metric("delay_during_s", "mean delay of trips departing during the incidents (s)"),
        Metric("delay_after_s", "mean delay of trips departing after the incidents (s)"),
        Metric("found_closed", "route changes at a closed road", "{:,.0f}", "none"),
    )

    def __init__(self, model: Services, spec: Spec, links: list[int]) -> None:
        self.model, self.spec = model, spec
        self.entries = spec.entries
        self.links = np.array(links, dtype=np.int64)
        self.active = np.zeros(len(links), dtype=bool)
        self.navigation = navigation_for(model)
        self.found_closed = 0
        traffic, net = model.traffic, model.net
        self._touched = np.isin(net.conn_from, self.links)
        self._base_lanes = traffic.connection_lanes()
        self._base_speed = traffic.link_speeds_mps()
        self._polling = False
        for i, entry in enumerate(self.entries):
            model.schedule(entry.start_s, lambda i=i: self._switch(i, True))
            model.schedule(entry.end_s, lambda i=i: self._switch(i, False))

    def _switch(self, i: int, on: bool) -> None:
        self.active[i] = on
        self._apply()
        if self.spec.inform:
            self.navigation.reroute_equipped()
        if self.navigation.closed.any() and not self._polling:
            self._polling = True
            self.model.schedule(self.model.time_s + self.spec.poll_s, self._poll)

    def _apply(self) -> None:
        """Set lanes, limits, closed links and informed penalties from the incidents active now."""
        net, traffic, nav = self.model.net, self.model.traffic, self.navigation
        n_lanes = net.edge_lanes
        right = np.zeros(net.n_edges, dtype=np.int64)
        left = np.zeros(net.n_edges, dtype=np.int64)
        speed = self._base_speed.copy()
        closed = np.zeros(net.n_edges, dtype=bool)
        for entry, e, on in zip(self.entries, self.links, self.active, strict=True):
            if not on:
                continue
            if entry.full:
                closed[e] = True
            elif entry.side == "right":
                right[e] += entry.lanes
            else:
                left[e] += entry.lanes
            if entry.speed_mps is not None:
                speed[e] = min(speed[e], entry.speed_mps)
        lo_open, hi_open = right, n_lanes - 1 - left
        closed |= lo_open > hi_open
        conns = np.flatnonzero(self._touched)
        frm = net.conn_from[conns]
        lo, hi = self._base_lanes[0][conns], self._base_lanes[1][conns]
        narrow = ~closed[frm]
        a, b = lo_open[frm], hi_open[frm]
        lo = np.where(narrow, np.minimum(np.maximum(lo, a), b), lo)
        hi = np.where(narrow, np.maximum(np.minimum(hi, b), a), hi)
        traffic.set_connection_lanes(conns, lo, hi)
        traffic.set_link_speeds(self.links, speed[self.links])
        nav.closed = closed
        open_lanes = np.maximum(hi_open - lo_open + 1, 1)
        nav.penalty = np.where(closed, 1.0, n_lanes / open_lanes)

    def _poll(self) -> None:
        """Re-route the drivers whose next link is closed; keep polling while a road is closed."""
        nav, traffic = self.navigation, self.model.traffic
        status = traffic.statuses()[: nav.n_trips]
        vids = np.flatnonzero((status == ST_ON_NETWORK) | (status == ST_WAITING))
        rp, rend = traffic.route_positions(vids), traffic.route_ends(vids)
        hit = (rp < rend) & nav.closed[traffic.route_edges_at(np.minimum(rp + 1, rend))]
        informed = nav.equipped[vids]
        nav.reroute(vids[hit & informed], nav.informed_costs_s())
        self.found_closed += nav.reroute(vids[hit & ~informed], nav.blind_costs_s())
        if nav.closed.any():
            self.model.schedule(self.model.time_s + self.spec.poll_s, self._poll)
        else:
            self._polling = False

    def records(self) -> dict[str, pd.DataFrame]:
        """The ``traffic_incidents`` frame, one row per incident (``[emergency]`` has ``incidents``)."""
        net = self.model.net
        return {
            "traffic_incidents": pd.DataFrame(
                {
                    "id": [c.id for c in self.entries],
                    "u": [c.nodes[0] for c in self.entries],
                    "v": [c.nodes[1] for c in self.entries],
                    "lanes_closed": [
                        int(net.edge_lanes[e]) if c.full else c.lanes
                        for c, e in zip(self.entries, self.links, strict=True)
                    ],
                    "lanes": net.edge_lanes[self.links].astype(int),
                    "speed_mps": [c.speed_mps for c in self.entries],
                    "start_s": [c.start_s for c in self.entries],
                    "end_s": [c.end_s for c in self.entries],
                }
            )
        }

    def summary(self) -> dict:
        """Delay before, during and after the incidents (by departure), and route changes at closures."""
        start = min((c.start_s for c in self.entries), default=0.0)
        end = max((c.end_s for c in self.entries), default=0.0)
        return {
            "incidents": len(self.entries),
            **delay_by_phase(self.model.trip_records(), start, end, self.model.time_s),
            "found_closed": self.found_closed,
            "route_changes": int(self.navigation.route_changes.sum()),
        }


def attach(model: Services, spec: Spec) -> ClosureFeature:
    """Add the ``[[incidents]]`` entries to a model before its first step.

    Raises:
        ScenarioError: If an incident's link is not in the network, or closes more lanes than it has.
    """
    index = model.net.edge_index
    links = []
    for i, entry in enumerate(spec.entries):
        if entry.nodes not in index:
            raise ScenarioError(
                model.config.source,
                f"incidents.entries[{i}].link",
                f"expected a link of the network, got {entry.link!r}",
            )
        e = index[entry.nodes]
        if not entry.full and entry.lanes > model.net.edge_lanes[e]:
            raise ScenarioError(
                model.config.source,
                f"incidents.entries[{i}].lanes",
                f"expected at most the link's {int(model.net.edge_lanes[e])} lanes "
                f'(or "all"), got {entry.lanes}',
            )
        links.append(e)
    return ClosureFeature(model, spec, links)
