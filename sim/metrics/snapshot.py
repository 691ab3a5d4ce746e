"""A snapshot of a running model: vehicles, signal lights and parking occupancy, as arrays.

A :class:`CityFrame` is read from a running :class:`~sim.model.CityModel` in a few vectorized
numpy operations (no loop over vehicles), so the explorer (:mod:`sim.viz`) can redraw it at
every step. It
holds positions along links (edge index and fraction of the link), not coordinates: the
drawing (:func:`sim.plots.live_figures.plot_city`) places them on the same link geometry as
the roads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.emergency.vehicles import EmergencyVehicle
from sim.shuttles.shuttle import AutonomousShuttle
from sim.traffic import kernel as k

if TYPE_CHECKING:
    from sim.model import CityModel

__all__ = ["CAR", "EMERGENCY", "SHUTTLE", "CityFrame", "city_frame"]

CAR, SHUTTLE, EMERGENCY = range(3)
"""Vehicle kinds in :attr:`CityFrame.vehicle_kind`."""

# An approach shows the most permissive light among its movements; the kernel's codes are
# ordered that way (RED < YELLOW < GREEN), so it is their maximum.


@dataclass(frozen=True)
class CityFrame:
    """The drawable state of a model at ``time_s``.

    Attributes:
        time_s: Simulated time (s).
        vehicle_edge: Edge index of each vehicle on the network.
        vehicle_fraction: Position along its edge, 0 (upstream node) to 1 (stop line).
        vehicle_lane: Lane within the edge, 0 = rightmost.
        vehicle_speed_mps: Speed (m/s).
        vehicle_kind: :data:`CAR`, :data:`SHUTTLE` or :data:`EMERGENCY`.
        approach_edge: Every edge that ends at a signalized intersection.
        approach_light: Its light: ``kernel.GREEN``, ``kernel.YELLOW`` or ``kernel.RED`` (the
            most permissive over its movements; a permitted left turn shows as its phase's green).
        parking: One row per parking facility (``sim.parking.metrics.facility_frame``'s
            columns) with ``occupied`` spaces now; empty without a ``[parking]`` table.
        waiting_to_enter: Vehicles due to depart but held at their origin (entry queues).
    """

    time_s: float
    vehicle_edge: np.ndarray
    vehicle_fraction: np.ndarray
    vehicle_lane: np.ndarray
    vehicle_speed_mps: np.ndarray
    vehicle_kind: np.ndarray
    approach_edge: np.ndarray
    approach_light: np.ndarray
    parking: pd.DataFrame
    waiting_to_enter: int

    @property
    def n_vehicles(self) -> int:
        """Vehicles on the network (drawn)."""
        return len(self.vehicle_edge)


def city_frame(model: CityModel, parking_facilities: pd.DataFrame | None = None) -> CityFrame:
    """Read the drawable state of ``model`` now.

    Args:
        model: A model between steps.
        parking_facilities: The facility table of the model's parking feature, if any (built
            once by the caller with ``sim.parking.metrics.facility_frame``); its current
            occupancy is added as ``occupied``.
    """
    traffic, net = model.traffic, model.net
    n = traffic.n_vehicles
    vids = np.flatnonzero(traffic.vi[k.VI_STATUS, :n] == k.ST_ON_NETWORK)
    lanes = traffic.vi[k.VI_LANE, vids]
    edges = net.lane_edge[lanes]
    length_m = net.edge_length_m[edges]
    fraction = np.clip(traffic.vf[k.VF_POS, vids] / np.maximum(length_m, 1e-9), 0.0, 1.0)
    kind = np.full(len(vids), CAR, dtype=np.int8)
    for agent_kind, agent_type in ((SHUTTLE, AutonomousShuttle), (EMERGENCY, EmergencyVehicle)):
        kind[np.isin(vids, _driven_vids(model, agent_type))] = agent_kind

    signalized = np.zeros(len(net.node_ids), dtype=bool)
    signalized[net.signal_nodes] = True
    approach = np.flatnonzero(signalized[net.edge_to])
    light = np.full(net.n_edges, k.RED, dtype=np.int8)
    np.maximum.at(light, net.conn_from, traffic.conn_state)

    parking = pd.DataFrame()
    if parking_facilities is not None:
        parking = parking_facilities.assign(occupied=model.features["parking"].occupancy.occupied)
    return CityFrame(
        time_s=model.time_s,
        vehicle_edge=edges,
        vehicle_fraction=fraction,
        vehicle_lane=lanes - net.edge_lane0[edges],
        vehicle_speed_mps=traffic.vf[k.VF_SPEED, vids].copy(),
        vehicle_kind=kind,
        approach_edge=approach,
        approach_light=light[approach],
        parking=parking,
        waiting_to_enter=int(traffic.n_waiting),
    )


def _driven_vids(model: CityModel, agent_type: type[mesa.Agent]) -> np.ndarray:
    """Kernel vehicle ids of the agents of one type that are driving now."""
    agents = model.agents_by_type.get(agent_type, ())
    return np.array([agent.vid for agent in agents if agent.vid is not None], dtype=np.int64)
