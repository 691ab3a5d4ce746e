"""The ``[emissions]`` scenario table: turn the kernel's emission stage on and report its totals.

With ``enabled = true`` every vehicle's emissions and energy are computed in every step
(:mod:`sim.traffic.emissions`) at the rates of its type's ``emission_class``; the run then has
them per trip (``trips.csv``), per link and interval (``links.csv``) and as run totals and
per vehicle-km figures in its summary (the metrics ``emissions_<key>`` of :data:`HEADLINE_METRICS`,
which ``compare`` and sweeps carry with confidence intervals). Without the table, or with
``enabled = false``, nothing is computed and every output stays as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from sim.emissions.classes import class_table
from sim.metrics.catalog import Metric
from sim.network.compile import CompiledNetwork
from sim.schema import flag, spec_field
from sim.services import Services

__all__ = ["ELEVATION_ATTR", "HEADLINE_METRICS", "EmissionsFeature", "Spec", "attach", "edge_slopes_deg"]

ELEVATION_ATTR = "elevation_m"
"""Node attribute giving its height (m); a link between two nodes that have it gets their slope."""
HEADLINE_METRICS = (
    Metric("vehicle_km", "vehicle-km driven (all vehicles)", "{:,.1f}", "none"),
    Metric("co2_kg", "CO2 emitted (kg)", "{:,.1f}"),
    Metric("co2_g_per_vkm", "CO2 per vehicle-km (g/km)", "{:,.1f}"),
    Metric("fuel_kg", "fuel burnt (kg)", "{:,.2f}"),
    Metric("fuel_g_per_vkm", "fuel per vehicle-km (g/km)", "{:,.1f}"),
    Metric("nox_g", "NOx emitted (g)", "{:,.1f}"),
    Metric("nox_mg_per_vkm", "NOx per vehicle-km (mg/km)", "{:,.1f}"),
    Metric("pm10_g", "PM10 emitted, exhaust and wear (g)", "{:,.2f}"),
    Metric("pm10_mg_per_vkm", "PM10 per vehicle-km (mg/km)", "{:,.2f}"),
    Metric("co_g", "CO emitted (g)", "{:,.1f}"),
    Metric("hc_g", "HC emitted (g)", "{:,.2f}"),
    Metric("electricity_kwh", "battery energy used, net of recuperation (kWh)", "{:,.2f}", low=None),
    Metric("electricity_wh_per_vkm", "battery energy per vehicle-km (Wh/km)", "{:,.1f}", low=None),
)
"""The summary metrics of a run with emissions (keys of :meth:`EmissionsFeature.summary`)."""


@dataclass(frozen=True)
class Spec:
    """Emissions and energy of every vehicle-step, ``[emissions]`` (see docs/emissions.md).

    Each vehicle emits at the rates of its type's ``emission_class`` (``[vehicles]``,
    ``[vehicle_types.<name>]``): SUMO 1.28's HBEFA 4.2-based classes for petrol and diesel cars,
    vans, trucks and buses, SUMO's Energy model (with recuperation) for battery-electric ones.

    Attributes:
        enabled: Compute CO2, CO, HC, NOx, PM10, fuel and electricity in every step, reported
            per trip, per link and interval and in the run's summary (default false: the step
            does no extra work and every output stays as it was).
    """

    enabled: bool = spec_field(False, flag)


def edge_slopes_deg(graph: nx.DiGraph, net: CompiledNetwork) -> np.ndarray:
    """Each compiled edge's slope (deg, uphill positive) from its nodes' :data:`ELEVATION_ATTR`; 0 without."""
    slopes = np.zeros(len(net.edge_keys))
    for e, (u, v) in enumerate(net.edge_keys):
        z_u, z_v = graph.nodes[u].get(ELEVATION_ATTR), graph.nodes[v].get(ELEVATION_ATTR)
        if z_u is not None and z_v is not None:
            slopes[e] = math.degrees(math.atan2(float(z_v) - float(z_u), float(net.edge_length_m[e])))
    return slopes


class EmissionsFeature:
    """The ``[emissions]`` section of a model.

    Args:
        model: The model (its traffic state gets the class table when enabled).
        spec: The table.
    """

    def __init__(self, model: Services, spec: Spec) -> None:
        self.model = model
        self.spec = spec
        if spec.enabled:
            table = class_table()
            model.traffic.enable_emissions(table.coef, table.cls, edge_slopes_deg(model.graph, model.net))

    @property
    def headline_metrics(self) -> tuple[Metric, ...]:
        """:data:`HEADLINE_METRICS` when enabled, else none."""
        return HEADLINE_METRICS if self.spec.enabled else ()

    def records(self) -> dict[str, pd.DataFrame]:
        """No frames of its own: the trips and links frames carry the emission columns."""
        return {}

    def summary(self) -> dict:
        """Run totals and per vehicle-km figures of every vehicle (demand and agents'), or {} when off."""
        traffic = self.model.traffic
        if not self.spec.enabled:
            return {}
        n = traffic.n_vehicles
        vkm = float(traffic.distances_m(np.arange(n)).sum()) / 1000.0
        co2, co, hc, fuel, nox, pm10, wh = traffic.emission_totals(n).sum(axis=0)  # mg, Wh
        per_km = (lambda x: x / vkm) if vkm > 0 else (lambda _: math.nan)
        return {
            "vehicle_km": vkm,
            "co2_kg": co2 / 1e6,
            "co2_g_per_vkm": per_km(co2 / 1e3),
            "fuel_kg": fuel / 1e6,
            "fuel_g_per_vkm": per_km(fuel / 1e3),
            "nox_g": nox / 1e3,
            "nox_mg_per_vkm": per_km(nox),
            "pm10_g": pm10 / 1e3,
            "pm10_mg_per_vkm": per_km(pm10),
            "co_g": co / 1e3,
            "hc_g": hc / 1e3,
            "electricity_kwh": wh / 1e3,
            "electricity_wh_per_vkm": per_km(wh),
        }


def attach(model: Services, spec: Spec) -> EmissionsFeature:
    """Add the ``[emissions]`` section to a model (see :class:`Spec`)."""
    return EmissionsFeature(model, spec)
