"""What the feature packages may use of the model they are attached to: the :class:`Services` protocol.

The feature packages (:mod:`sim.emergency`, :mod:`sim.parking`, :mod:`sim.shuttles`, and the
ones to come) are given the model by ``attach(model, spec)`` and annotate it as
:class:`Services`, never as :class:`~sim.model.CityModel`: they drive vehicles of their own,
set timers, hold signals and read the traffic state through these members only, so the
model can be rebuilt behind them and a feature can be tested against a stand-in.

Their agents are Mesa agents, and :class:`mesa.Agent` registers itself with the model it is
given. Python has no intersection type to say "a ``mesa.Model`` that also offers these
services", and ``attach`` receives one object, so the protocol also declares the two Mesa
hooks agents call (:meth:`Services.register_agent` on creation,
:meth:`Services.deregister_agent` on ``remove()``): any object that satisfies the protocol
can host the features' agents, and a :class:`~sim.model.CityModel` does.

Read-only members are properties: features read them and call their methods, never rebind
them. Times are simulated seconds since the start of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from sim.agents.vehicle import VehicleListener
from sim.control.holds import SignalHolds
from sim.network.compile import CompiledNetwork
from sim.routing import Router
from sim.scenario import Scenario
from sim.tables import DEFAULT_VEHICLE_TYPE
from sim.traffic.state import TrafficState

__all__ = ["Services"]


@runtime_checkable
class Services(Protocol):
    """The model as the feature packages see it (see the module docstring)."""

    # ----- Mesa: where the features' agents register ------------------------------
    def register_agent(self, agent: mesa.Agent) -> None:
        """Add ``agent`` to the model's agents (called by :class:`mesa.Agent` on creation)."""

    def deregister_agent(self, agent: mesa.Agent) -> None:
        """Remove ``agent`` from the model's agents (called by :meth:`mesa.Agent.remove`)."""

    # ----- the run and the city, read only -----------------------------------------
    @property
    def time_s(self) -> float:
        """Simulated time (s) at the end of the last step."""

    @property
    def seed(self) -> int:
        """The run's seed; a feature spawns its own streams from it (``[seed, key, ...]``)."""

    @property
    def config(self) -> Scenario:
        """The validated scenario (for ``source`` in error messages and the run's limits)."""

    @property
    def graph(self) -> nx.DiGraph:
        """The road network as built (nodes with ``kind``, ``x``, ``y``; links with ``length_m``)."""

    @property
    def net(self) -> CompiledNetwork:
        """The compiled network: edges, lanes, connections, signals and phases by index."""

    @property
    def router(self) -> Router:
        """Routes on the network; features call its ``shortest_path`` (node path of least free-flow time)."""

    @property
    def traffic(self) -> TrafficState:
        """The traffic state, read through its named readers (positions in m, speeds in m/s, routes).

        The one writer features call is ``set_flags``, to switch an own vehicle's emergency flag.
        """

    @property
    def holds(self) -> SignalHolds:
        """The arbiter of signal holds (preemption above transit priority above the controller)."""

    # ----- vehicles of their own ------------------------------------------------------
    def add_vehicle(
        self,
        path: Sequence[str],
        listener: VehicleListener | None = None,
        *,
        emergency: bool = False,
        vehicle_type: str = DEFAULT_VEHICLE_TYPE,
        max_speed_mps: float | None = None,
    ) -> int:
        """Put a vehicle that is not part of the demand in the entry queue of its first link now.

        Args:
            path: Node path of its route.
            listener: Told of the vehicle's events; with one, the vehicle waits at the end of
                its route for :meth:`set_route` or :meth:`remove_vehicle` instead of arriving.
            emergency: Traffic makes way for it; it crosses red lights at a crawl.
            vehicle_type: Its type: ``"default"`` (``[vehicles]``) or a ``[vehicle_types.<name>]``.
            max_speed_mps: Its own speed cap below the links' limits (m/s; default: its type's).

        Returns:
            The vehicle's id.
        """

    def set_route(self, vid: int, path: Sequence[str]) -> None:
        """Send a vehicle on a new node path that starts with the link it is on."""

    def remove_vehicle(self, vid: int) -> None:
        """Take a vehicle off the network now (parked, or out of service)."""

    # ----- timers, signals, link times and trips ----------------------------------------
    def schedule(self, time_s: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at the start of the first step at or after ``time_s`` (s)."""

    def next_decision_s(self, signal: int) -> float:
        """Simulated time (s) of the next decision of a signal's controller."""

    def link_travel_times_s(self) -> np.ndarray:
        """Current travel time of every edge (s): length over the mean speed on it now."""

    def trip_records(self) -> pd.DataFrame:
        """One row per demand trip so far (see :class:`sim.metrics.results.RunResults`)."""
