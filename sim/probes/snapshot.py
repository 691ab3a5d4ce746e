"""A snapshot of a running model: vehicles, signal lights and parking occupancy, as a frame.

:func:`city_frame` reads a :class:`~sim.metrics.frames.CityFrame` from a running
:class:`~sim.model.CityModel` in a few vectorized numpy operations (no loop over vehicles), so
the explorer (:mod:`sim.viz`) can redraw it at every step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.emergency.vehicles import EmergencyVehicle
from sim.metrics.frames import CAR, EMERGENCY, SHUTTLE, CityFrame
from sim.probes.lights import light_names
from sim.shuttles.shuttle import AutonomousShuttle
from sim.traffic.codes import HALT_MPS, RED, ST_ON_NETWORK

if TYPE_CHECKING:
    from sim.model import CityModel

__all__ = ["city_frame"]


def city_frame(model: CityModel, parking_facilities: pd.DataFrame | None = None) -> CityFrame:
    """Read the drawable state of ``model`` now.

    Args:
        model: A model between steps.
        parking_facilities: The facility table of the model's parking feature, if any (built
            once by the caller with ``sim.parking.metrics.facility_frame``); its current
            occupancy is added as ``occupied``.
    """
    traffic, net = model.traffic, model.net
    vids = np.flatnonzero(traffic.statuses() == ST_ON_NETWORK)
    lanes = traffic.lanes_of(vids)
    edges = net.lane_edge[lanes]
    length_m = net.edge_length_m[edges]
    fraction = np.clip(traffic.positions_m(vids) / np.maximum(length_m, 1e-9), 0.0, 1.0)
    speed_mps = traffic.speeds_mps(vids)
    kind = np.full(len(vids), CAR, dtype=np.int8)
    for agent_kind, agent_type in ((SHUTTLE, AutonomousShuttle), (EMERGENCY, EmergencyVehicle)):
        kind[np.isin(vids, _driven_vids(model, agent_type))] = agent_kind

    signalized = np.zeros(len(net.node_ids), dtype=bool)
    signalized[net.signal_nodes] = True
    approach = np.flatnonzero(signalized[net.edge_to])
    # An approach shows the most permissive light among its movements; the kernel's codes are
    # ordered that way (RED < YELLOW < GREEN), so it is their maximum.
    light = np.full(net.n_edges, RED, dtype=np.int8)
    np.maximum.at(light, net.conn_from, traffic.conn_state)

    parking = pd.DataFrame()
    if parking_facilities is not None:
        parking = parking_facilities.assign(occupied=model.features["parking"].occupancy.occupied)
    return CityFrame(
        time_s=model.time_s,
        vehicle_edge=edges,
        vehicle_fraction=fraction,
        vehicle_lane=lanes - net.edge_lane0[edges],
        vehicle_speed_mps=speed_mps,
        vehicle_halted=speed_mps < HALT_MPS,
        vehicle_kind=kind,
        approach_edge=approach,
        approach_light=light_names(light[approach]),
        parking=parking,
        waiting_to_enter=int(traffic.n_waiting),
    )


def _driven_vids(model: CityModel, agent_type: type[mesa.Agent]) -> np.ndarray:
    """Kernel vehicle ids of the agents of one type that are driving now."""
    agents = model.agents_by_type.get(agent_type, ())
    return np.array([agent.vid for agent in agents if agent.vid is not None], dtype=np.int64)
