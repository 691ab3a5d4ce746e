"""Turn a node of a road graph into a single-lane roundabout.

Every builder that makes roundabouts (the standalone ``roundabout`` and the grid and arterial
option ``junction="roundabout"``) goes through :func:`make_roundabout`, so they share one
geometry and one naming rule.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import networkx as nx

from sim.network.graph import INTERSECTION, JUNCTION, NetworkError

__all__ = ["COMPASS", "compass_label", "make_roundabout", "on_grid"]

COMPASS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")
"""Labels of the eight compass directions, counter-clockwise from east (x east, y north)."""


def on_grid(coordinate_m: float) -> float:
    """``coordinate_m`` rounded to the micrometre (and -0.0 made 0.0): points on an axis lie exactly on it."""
    return round(coordinate_m, 6) + 0.0


def compass_label(angle: float) -> str:
    """The :data:`COMPASS` label nearest ``angle`` (radians counter-clockwise from east)."""
    return COMPASS[round(angle / (math.pi / 4)) % len(COMPASS)]


def make_roundabout(graph: nx.DiGraph, node: str, radius_m: float, ring_speed_mps: float) -> list[str]:
    """Replace ``node`` by a one-lane roundabout of radius ``radius_m`` centred where it stood.

    Each leg of the node (a neighbour, joined in either or both directions) gets a ring node
    on the circle, on the straight line towards the neighbour, named ``f"{node}{label}"``
    where ``label`` is the leg's compass direction (:data:`COMPASS`: ``"n1_0E"`` is the east
    leg of ``n1_0``). The ring nodes are unsignalized intersections with
    ``junction="roundabout"``; one-lane ring edges join each to the next counter-clockwise
    (right-hand traffic: entering and leaving are right turns), each as long as the arc
    between them. The legs keep their attributes and attach to their ring node, shorter
    by ``radius_m``.

    Args:
        graph: The road graph, changed in place.
        node: The node to replace; it must have at least 2 neighbours, each more than
            ``radius_m`` away and in a different compass direction.
        radius_m: Radius of the ring, metres.
        ring_speed_mps: Speed limit on the ring edges, metres per second.

    Returns:
        The ring nodes, counter-clockwise from the leg nearest east.

    Raises:
        NetworkError: If the node has fewer than 2 legs, a leg is not longer than the radius,
            or two legs share a compass direction.
    """
    x0, y0 = graph.nodes[node]["x"], graph.nodes[node]["y"]
    legs = sorted(
        ((_bearing(graph, node, other), other) for other in set(graph.pred[node]) | set(graph.succ[node])),
        key=lambda leg: (leg[0], str(leg[1])),
    )
    if len(legs) < 2:
        raise NetworkError(f"node {node!r} has {len(legs)} leg(s); a roundabout needs at least 2")
    labels = [compass_label(angle) for angle, _ in legs]
    if len(set(labels)) < len(labels):
        raise NetworkError(
            f"node {node!r}: two legs of the roundabout point the same compass direction ({labels}); "
            "expected legs at least 45 degrees apart"
        )
    ring = [f"{node}{label}" for label in labels]
    taken = [ring_node for ring_node in ring if ring_node in graph]
    if taken:
        raise NetworkError(f"node {node!r}: the roundabout's node {taken[0]!r} exists already")
    for (angle, other), ring_node in zip(legs, ring, strict=True):
        graph.add_node(
            ring_node,
            x=on_grid(x0 + radius_m * math.cos(angle)),
            y=on_grid(y0 + radius_m * math.sin(angle)),
            signalized=False,
            kind=INTERSECTION,
            **{JUNCTION: "roundabout"},
        )
        for old, new in (((other, node), (other, ring_node)), ((node, other), (ring_node, other))):
            if graph.has_edge(*old):
                _reattach(graph, old, new, radius_m)
    graph.remove_node(node)
    for i, (angle, _) in enumerate(legs):
        next_angle = legs[(i + 1) % len(legs)][0] + (2.0 * math.pi if i + 1 == len(legs) else 0.0)
        graph.add_edge(
            ring[i],
            ring[(i + 1) % len(ring)],
            length_m=radius_m * (next_angle - angle),
            lanes=1,
            speed_mps=float(ring_speed_mps),
        )
    return ring


def _bearing(graph: nx.DiGraph, node: Hashable, other: Hashable) -> float:
    """Direction from ``node`` to ``other`` (radians counter-clockwise from east, in [0, 2*pi))."""
    a, b = graph.nodes[node], graph.nodes[other]
    return math.atan2(b["y"] - a["y"], b["x"] - a["x"]) % (2.0 * math.pi)


def _reattach(
    graph: nx.DiGraph, old: tuple[Hashable, Hashable], new: tuple[Hashable, Hashable], radius_m: float
) -> None:
    """Replace edge ``old`` by edge ``new`` (one end moved onto the ring), ``radius_m`` shorter."""
    attrs = dict(graph.edges[old])
    if attrs["length_m"] <= radius_m:
        raise NetworkError(
            f"edge {old[0]!r} -> {old[1]!r} is {attrs['length_m']:g} m long; a roundabout of radius "
            f"{radius_m:g} m needs legs longer than the radius (and links between two roundabouts "
            "longer than both radii)"
        )
    attrs["length_m"] -= radius_m
    graph.remove_edge(*old)
    graph.add_edge(*new, **attrs)
