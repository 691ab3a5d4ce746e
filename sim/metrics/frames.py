"""What a live probe hands a plot: the city now, and a corridor sampled over time.

A frame holds values only (arrays, DataFrames, names): the probes of :mod:`sim.probes` read
them from a running model, the figures of :mod:`sim.plots` draw them, and neither side
needs the other's imports. Signal lights are named ``"red"``, ``"yellow"`` or ``"green"``,
never kernel codes, so a plot never imports the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CAR", "EMERGENCY", "SHUTTLE", "CityFrame", "CorridorTrajectories"]

CAR, SHUTTLE, EMERGENCY = range(3)
"""Vehicle kinds in :attr:`CityFrame.vehicle_kind`."""


@dataclass(frozen=True)
class CityFrame:
    """The drawable state of a model at ``time_s``.

    Vehicles are positions along links (edge index and fraction of the link), not coordinates:
    the drawing (:func:`sim.plots.city_map.plot_city`) places them on the same link
    geometry as the roads.

    Attributes:
        time_s: Simulated time (s).
        vehicle_edge: Edge index of each vehicle on the network.
        vehicle_fraction: Position along its edge, 0 (upstream node) to 1 (stop line).
        vehicle_lane: Lane within the edge, 0 = rightmost.
        vehicle_speed_mps: Speed (m/s).
        vehicle_halted: Whether it stands: slower than the kernel's halted speed (0.1 m/s).
        vehicle_kind: :data:`CAR`, :data:`SHUTTLE` or :data:`EMERGENCY`.
        approach_edge: Every edge that ends at a signalized intersection.
        approach_light: Its light: ``"green"``, ``"yellow"`` or ``"red"`` (the most permissive
            over its movements; a permitted left turn shows as its phase's green).
        parking: One row per parking facility (``sim.parking.metrics.facility_frame``'s
            columns) with ``occupied`` spaces now; empty without a ``[parking]`` table.
        waiting_to_enter: Vehicles due to depart but held at their origin (entry queues).
    """

    time_s: float
    vehicle_edge: np.ndarray
    vehicle_fraction: np.ndarray
    vehicle_lane: np.ndarray
    vehicle_speed_mps: np.ndarray
    vehicle_halted: np.ndarray
    vehicle_kind: np.ndarray
    approach_edge: np.ndarray
    approach_light: np.ndarray
    parking: pd.DataFrame
    waiting_to_enter: int

    @property
    def n_vehicles(self) -> int:
        """Vehicles on the network (drawn)."""
        return len(self.vehicle_edge)


@dataclass(frozen=True, eq=False)
class CorridorTrajectories:
    """Positions of the vehicles on a corridor and its signal states, one sample per step.

    Attributes:
        nodes: The corridor's node ids, in driving order.
        edge_start_m: Distance of each corridor edge's start from the corridor's start (m).
        length_m: Length of the corridor (m).
        dt_s: Time between samples: the model's step (s).
        vehicles: One row per sample and vehicle on the corridor: ``time_s``, ``vehicle`` (the
            vehicle's index in the run), ``distance_m`` (its front, from the corridor's start),
            ``speed_mps``.
        signals: One row per sample and signalized corridor node: ``time_s``, ``node``,
            ``distance_m`` (the stop line), ``state`` (``"red"``, ``"yellow"`` or ``"green"``,
            for the movement that continues along the corridor).
        title: What was sampled, for figure titles.
    """

    nodes: tuple[str, ...]
    edge_start_m: np.ndarray
    length_m: float
    dt_s: float
    vehicles: pd.DataFrame
    signals: pd.DataFrame
    title: str = ""
