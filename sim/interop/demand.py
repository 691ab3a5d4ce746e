"""Demand for imported networks, where not every fringe node reaches every other one.

A uniform demand draws any pair of fringe nodes, which fails on a network that is not
strongly connected (a motorway, an imported SUMO scenario with one-way entries). An OD
matrix over the pairs that can be driven works on any network.

A pair can be driven when some route from the origin reaches the destination making only
the turns the compiled network connects (an imported network bans the turns its source
does not connect): the pairs the router (:class:`sim.routing.Router`) can route.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import networkx as nx

from sim.interop.errors import InteropError
from sim.network.compile import compile_network
from sim.network.graph import FRINGE
from sim.routing import Router, RoutingError

__all__ = ["drivable_fringe_pairs", "write_od_matrix"]


def drivable_fringe_pairs(graph: nx.DiGraph) -> list[tuple[str, str]]:
    """Every (origin, destination) pair of distinct fringe nodes that can be driven, sorted."""
    fringe = sorted(node for node, kind in graph.nodes(data="kind") if kind == FRINGE)
    router = Router(graph, compile_network(graph))
    pairs = []
    for origin in fringe:
        reachable = nx.descendants(graph, origin)
        for destination in fringe:
            if destination in reachable and _routable(router, origin, destination):
                pairs.append((origin, destination))
    return pairs


def _routable(router: Router, origin: str, destination: str) -> bool:
    try:
        router.shortest_path(origin, destination)
    except RoutingError:
        return False
    return True


def write_od_matrix(graph: nx.DiGraph, path: str | os.PathLike[str], rate_vph: float) -> int:
    """Write an OD matrix (``origin,destination,rate_vph``), ``rate_vph`` spread over the drivable pairs.

    Args:
        graph: The road network.
        path: The CSV file to write (a scenario's ``demand.matrix``).
        rate_vph: Total departures per hour over all pairs.

    Returns:
        The number of pairs written.

    Raises:
        InteropError: If no fringe node can drive to another one.
    """
    pairs = drivable_fringe_pairs(graph)
    if not pairs:
        raise InteropError("no fringe node can drive to another fringe node; no demand can be written", path)
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["origin", "destination", "rate_vph"])
        writer.writerows((o, d, rate_vph / len(pairs)) for o, d in pairs)
    return len(pairs)
