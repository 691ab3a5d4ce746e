"""SUMO interoperability: read ``.net.xml`` networks, export networks and trips, run ``sumo``.

Reading (:mod:`sim.interop.sumo.net`) needs only the standard library. Exporting
(:mod:`~sim.interop.sumo.export`) and running (:mod:`~sim.interop.sumo.run`) use
``netconvert`` and ``sumo`` from the ``eclipse-sumo`` wheel: ``pip install 'citysim[sumo]'``.
The names below are imported on first use (PEP 562), so that importing one submodule does
not load the others (the command line reads :data:`JUNCTION_TYPES` without pandas).
"""

from __future__ import annotations

from sim.lazy import lazy_attributes

__all__ = [
    "JUNCTION_TYPES",
    "DemandReport",
    "ExportOptions",
    "RouteTrip",
    "SignalTiming",
    "SumoDemand",
    "SumoNetwork",
    "SumoReport",
    "SumoRun",
    "build_net",
    "net_connections",
    "read_sumo_net",
    "read_sumo_routes",
    "run_sumo",
    "run_tool",
    "sumo_binary",
    "sumo_edge_ids",
    "write_plain_xml",
    "write_routes",
    "write_trip_table",
]

_LAZY = {
    "JUNCTION_TYPES": "sim.interop.sumo.junctions",
    "ExportOptions": "sim.interop.sumo.export",
    "RouteTrip": "sim.interop.sumo.export",
    "SignalTiming": "sim.interop.sumo.export",
    "build_net": "sim.interop.sumo.export",
    "net_connections": "sim.interop.sumo.export",
    "sumo_edge_ids": "sim.interop.sumo.export",
    "write_plain_xml": "sim.interop.sumo.export",
    "write_routes": "sim.interop.sumo.export",
    "SumoNetwork": "sim.interop.sumo.net",
    "SumoReport": "sim.interop.sumo.net",
    "read_sumo_net": "sim.interop.sumo.net",
    "DemandReport": "sim.interop.sumo.routes",
    "SumoDemand": "sim.interop.sumo.routes",
    "read_sumo_routes": "sim.interop.sumo.routes",
    "write_trip_table": "sim.interop.sumo.routes",
    "SumoRun": "sim.interop.sumo.run",
    "run_sumo": "sim.interop.sumo.run",
    "run_tool": "sim.interop.sumo.binaries",
    "sumo_binary": "sim.interop.sumo.binaries",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
