"""Synthetic road networks: grid, arterial, ring and roundabout.

Every builder returns a ``networkx.DiGraph`` following the schema of :mod:`sim.network.graph`.
Coordinates are in metres, with x pointing east and y pointing north.

The grid and the arterial take a ``junction`` option, one of :data:`LATTICE_JUNCTIONS`, for
all their intersections: ``"traffic_light"`` (the default), an unsignalized control
(``"priority"``, ``"stop"``, ``"allway_stop"``, ``"right_before_left"``), or
``"roundabout"``, which replaces every intersection by a one-lane roundabout
(:func:`sim.network.roundabouts.make_roundabout`). With ``"priority"`` and ``"stop"`` the
east-west roads are the major ones: their edges get ``priority`` :data:`MAJOR_PRIORITY`,
the north-south roads (the arterial's side streets) :data:`MINOR_PRIORITY`.
"""

from __future__ import annotations

import math

import networkx as nx

from sim.network.bays import add_left_bays
from sim.network.graph import (
    FRINGE,
    INTERSECTION,
    JUNCTION,
    PRIORITY,
    TRAFFIC_LIGHT,
    NetworkError,
    is_count,
    is_positive_number,
)
from sim.network.roundabouts import compass_label, make_roundabout, on_grid

__all__ = [
    "COMPASS_LEGS",
    "LATTICE_JUNCTIONS",
    "MAJOR_PRIORITY",
    "MINOR_PRIORITY",
    "arterial",
    "grid",
    "ring",
    "roundabout",
]

ROUNDABOUT = "roundabout"
LATTICE_JUNCTIONS = (TRAFFIC_LIGHT, "priority", "stop", "allway_stop", "right_before_left", ROUNDABOUT)
"""Values of the grid's and the arterial's ``junction`` option."""
MAJOR_PRIORITY = 2
"""Edge ``priority`` of the major (east-west) roads of a ``priority`` or ``stop`` grid or arterial."""
MINOR_PRIORITY = 1
"""Edge ``priority`` of their minor (north-south) roads."""
_RANKED = ("priority", "stop")
COMPASS_LEGS = 8
"""Most legs of the standalone roundabout: one per compass direction."""


def grid(
    rows: int,
    cols: int,
    block_m: float = 200.0,
    lanes: int = 1,
    speed_mps: float = 13.89,
    fringe: bool = True,
    signalized: bool | None = None,
    name: str | None = None,
    junction: str | None = None,
    roundabout_radius_m: float = 15.0,
    roundabout_speed_mps: float = 8.33,
    left_bay_m: float = 0.0,
    left_bay_lanes: int = 1,
) -> nx.DiGraph:
    """Build a rectangular grid of two-way streets: the benchmark ``gridN`` family.

    Intersections ``n{c}_{r}`` (column ``c``, row ``r``) stand at x = block_m * (c + 1),
    y = block_m * (r + 1). With ``fringe``, every boundary intersection has a two-way stub of
    length block_m to a fringe node: ``W{r}`` at x = 0, ``E{r}`` at x = block_m * (cols + 1),
    ``S{c}`` at y = 0, ``N{c}`` at y = block_m * (rows + 1); so there are 2 * (rows + cols)
    fringe nodes and every intersection has 4 legs. ``grid(n, n)`` equals the benchmark
    ``network.json`` of ``grid{n}``, node and edge order included.

    Args:
        rows: Number of intersection rows (>= 1).
        cols: Number of intersection columns (>= 1).
        block_m: Block length in metres, also the length of the fringe stubs. Default 200.
        lanes: Lanes per direction on every link. Default 1.
        speed_mps: Speed limit in metres per second on every link. Default 13.89 (50 km/h).
        fringe: Add the fringe stubs (default). Without them the boundary intersections
            themselves are the fringe nodes (trip origins and destinations).
        signalized: Whether intersections are signalized: ``True`` is ``junction="traffic_light"``,
            ``False`` (without ``junction``) ``"priority"``. Default: as ``junction`` says.
            Fringe stubs are never signalized.
        name: Graph name. Default ``"grid{rows}"`` for a square grid, else ``"grid{rows}x{cols}"``.
        junction: Control of every intersection, one of :data:`LATTICE_JUNCTIONS` (see the
            module docstring: the east-west roads are the major ones). Default
            ``"traffic_light"``, or ``"priority"`` with ``signalized=False``.
        roundabout_radius_m: Radius of each roundabout with ``junction="roundabout"``, metres
            (less than half of block_m). Default 15.
        roundabout_speed_mps: Speed limit on the roundabouts' ring, metres per second.
            Default 8.33 (30 km/h).
        left_bay_m: Length of a left-turn bay on every approach to an intersection, metres;
            0 (the default) builds none. Each approach must be at least 20 m longer
            (:func:`sim.network.bays.add_left_bays`). Not with ``junction="roundabout"``.
        left_bay_lanes: Lanes of each left-turn bay, added on the left of the approach's
            lanes. Default 1.

    Returns:
        The road network.

    Raises:
        NetworkError: If a parameter is out of range, or ``junction`` and ``signalized``
            contradict each other.
    """
    _check_counts(rows=rows, cols=cols, lanes=lanes)
    _check_positive(block_m=block_m, speed_mps=speed_mps)
    if not fringe and rows * cols < 2:
        raise NetworkError("grid without fringe stubs needs at least 2 intersections, got rows=1, cols=1")
    control = _control(junction, signalized)
    if control == ROUNDABOUT and not fringe:
        raise NetworkError("junction='roundabout' needs the fringe stubs (fringe=True)")
    default_name = f"grid{rows}" if rows == cols else f"grid{rows}x{cols}"
    graph = _lattice(
        rows,
        cols,
        block_m,
        block_m,
        ew=(lanes, speed_mps),
        ns=(lanes, speed_mps),
        fringe=fringe,
        control=control,
        name=default_name if name is None else name,
    )
    graph = _with_bays(graph, control, left_bay_m, left_bay_lanes)
    return _with_roundabouts(graph, control, roundabout_radius_m, roundabout_speed_mps, block_m=block_m)


def arterial(
    n_intersections: int,
    block_m: float = 200.0,
    side_street_m: float = 200.0,
    lanes_main: int = 2,
    lanes_side: int = 1,
    speed_main_mps: float = 13.89,
    speed_side_mps: float = 11.11,
    signalized: bool | None = None,
    name: str | None = None,
    junction: str | None = None,
    roundabout_radius_m: float = 15.0,
    roundabout_speed_mps: float = 8.33,
    left_bay_m: float = 0.0,
    left_bay_lanes: int = 1,
) -> nx.DiGraph:
    """Build an east-west arterial crossed by a two-way side street at every intersection.

    It is the one-row member of the grid family with its own side-street geometry:
    intersections ``n{i}_0`` at x = block_m * (i + 1), y = side_street_m; fringe nodes ``W0``
    (x = 0) and ``E0`` (x = block_m * (n_intersections + 1)) at the ends of the corridor, and
    ``S{i}`` (y = 0) and ``N{i}`` (y = 2 * side_street_m) at the ends of each side street.
    All links are two-way.

    Args:
        n_intersections: Number of intersections along the corridor (>= 1).
        block_m: Spacing of the intersections and length of the end stubs, metres. Default 200.
        side_street_m: Length of each side-street stub, metres. Default 200.
        lanes_main: Lanes per direction on the corridor. Default 2.
        lanes_side: Lanes per direction on the side streets. Default 1.
        speed_main_mps: Corridor speed limit, metres per second. Default 13.89 (50 km/h).
        speed_side_mps: Side-street speed limit, metres per second. Default 11.11 (40 km/h).
        signalized: Whether the intersections are signalized, as for :func:`grid`.
        name: Graph name. Default ``"arterial{n_intersections}"``.
        junction: Control of every intersection, as for :func:`grid`; with ``"priority"`` and
            ``"stop"`` the corridor is the major road. Default ``"traffic_light"``.
        roundabout_radius_m: Radius of each roundabout with ``junction="roundabout"``, metres
            (less than half of block_m and half of side_street_m). Default 15.
        roundabout_speed_mps: Speed limit on the roundabouts' ring, metres per second.
            Default 8.33 (30 km/h).
        left_bay_m: Length of a left-turn bay on every approach to an intersection, metres;
            0 (the default) builds none. Each approach must be at least 20 m longer
            (:func:`sim.network.bays.add_left_bays`). Not with ``junction="roundabout"``.
        left_bay_lanes: Lanes of each left-turn bay, added on the left of the approach's
            lanes. Default 1.

    Returns:
        The road network.

    Raises:
        NetworkError: If a parameter is out of range, or ``junction`` and ``signalized``
            contradict each other.
    """
    _check_counts(n_intersections=n_intersections, lanes_main=lanes_main, lanes_side=lanes_side)
    _check_positive(
        block_m=block_m,
        side_street_m=side_street_m,
        speed_main_mps=speed_main_mps,
        speed_side_mps=speed_side_mps,
    )
    control = _control(junction, signalized)
    graph = _lattice(
        1,
        n_intersections,
        block_m,
        side_street_m,
        ew=(lanes_main, speed_main_mps),
        ns=(lanes_side, speed_side_mps),
        fringe=True,
        control=control,
        name=f"arterial{n_intersections}" if name is None else name,
    )
    graph = _with_bays(graph, control, left_bay_m, left_bay_lanes)
    return _with_roundabouts(
        graph,
        control,
        roundabout_radius_m,
        roundabout_speed_mps,
        block_m=block_m,
        side_street_m=side_street_m,
    )


def ring(
    n_nodes: int,
    radius_m: float = 500.0,
    lanes: int = 1,
    speed_mps: float = 13.89,
    stub_m: float = 200.0,
    name: str | None = None,
) -> nx.DiGraph:
    """Build a one-way, counter-clockwise ring road with a two-way fringe stub at every ring node.

    One-way, as in the classic ring-road experiments: every ring node is a merge/diverge, not a
    crossing, so ring nodes are unsignalized. Ring node ``r{i}`` stands at angle 2*pi*i/n_nodes
    on a circle of radius radius_m centred on the origin; ring links ``r{i} -> r{i+1}`` follow
    the arc, so their length is 2*pi*radius_m/n_nodes and the ring is one circumference long.
    Fringe node ``f{i}`` stands stub_m further out on the same ray.

    Args:
        n_nodes: Number of ring nodes (>= 3).
        radius_m: Ring radius, metres. Default 500.
        lanes: Lanes per direction on every link. Default 1.
        speed_mps: Speed limit on every link, metres per second. Default 13.89 (50 km/h).
        stub_m: Length of each fringe stub, metres. Default 200.
        name: Graph name. Default ``"ring{n_nodes}"``.

    Returns:
        The road network.

    Raises:
        NetworkError: If a parameter is out of range.
    """
    _check_counts(lanes=lanes)
    if not is_count(n_nodes, 3):
        raise NetworkError(f"n_nodes must be an integer >= 3, got {n_nodes!r}")
    _check_positive(radius_m=radius_m, speed_mps=speed_mps, stub_m=stub_m)
    graph = nx.DiGraph(name=f"ring{n_nodes}" if name is None else name)
    link = {"lanes": int(lanes), "speed_mps": float(speed_mps)}
    for i in range(n_nodes):
        angle = 2.0 * math.pi * i / n_nodes
        for node, radius, kind in ((f"r{i}", radius_m, INTERSECTION), (f"f{i}", radius_m + stub_m, FRINGE)):
            graph.add_node(
                node,
                x=radius * math.cos(angle),
                y=radius * math.sin(angle),
                signalized=False,
                kind=kind,
            )
    arc_m = 2.0 * math.pi * radius_m / n_nodes
    for i in range(n_nodes):
        graph.add_edge(f"r{i}", f"r{(i + 1) % n_nodes}", length_m=arc_m, **link)
        graph.add_edge(f"f{i}", f"r{i}", length_m=float(stub_m), **link)
        graph.add_edge(f"r{i}", f"f{i}", length_m=float(stub_m), **link)
    return graph


def roundabout(
    n_legs: int = 4,
    radius_m: float = 15.0,
    leg_m: float = 200.0,
    lanes: int = 1,
    speed_mps: float = 13.89,
    ring_speed_mps: float = 8.33,
    name: str | None = None,
) -> nx.DiGraph:
    """Build a single-lane roundabout centred on the origin, with ``n_legs`` two-way legs.

    Leg ``i`` points at angle 2*pi*i/n_legs (counter-clockwise from east) and is named by its
    compass direction ``D`` (``"E"``, ``"NE"``, ``"N"``, ...): its fringe node ``D`` (a trip
    origin and destination) stands radius_m + leg_m from the centre and the leg, leg_m long,
    meets the ring at node ``c{D}`` (``"cE"``, ...). The ring runs counter-clockwise, one lane
    (see :func:`sim.network.roundabouts.make_roundabout`); its nodes have ``junction="roundabout"``.

    Args:
        n_legs: Number of legs (3 to 8).
        radius_m: Ring radius, metres. Default 15.
        leg_m: Length of each leg from the ring to its fringe node, metres. Default 200.
        lanes: Lanes per direction on the legs. Default 1.
        speed_mps: Speed limit on the legs, metres per second. Default 13.89 (50 km/h).
        ring_speed_mps: Speed limit on the ring, metres per second. Default 8.33 (30 km/h).
        name: Graph name. Default ``"roundabout{n_legs}"``.

    Returns:
        The road network.

    Raises:
        NetworkError: If a parameter is out of range.
    """
    if not is_count(n_legs, 3) or n_legs > COMPASS_LEGS:
        raise NetworkError(f"n_legs must be an integer from 3 to {COMPASS_LEGS}, got {n_legs!r}")
    _check_counts(lanes=lanes)
    _check_positive(radius_m=radius_m, leg_m=leg_m, speed_mps=speed_mps, ring_speed_mps=ring_speed_mps)
    graph = nx.DiGraph(name=f"roundabout{n_legs}" if name is None else name)
    graph.add_node("c", x=0.0, y=0.0, signalized=False, kind=INTERSECTION)
    reach_m = float(radius_m) + float(leg_m)
    link = {"length_m": reach_m, "lanes": int(lanes), "speed_mps": float(speed_mps)}
    for i in range(n_legs):
        angle = 2.0 * math.pi * i / n_legs
        leg = compass_label(angle)
        x, y = on_grid(reach_m * math.cos(angle)), on_grid(reach_m * math.sin(angle))
        graph.add_node(leg, x=x, y=y, signalized=False, kind=FRINGE)
        graph.add_edge(leg, "c", **link)
        graph.add_edge("c", leg, **link)
    make_roundabout(graph, "c", float(radius_m), ring_speed_mps)
    return graph


def _lattice(
    rows: int,
    cols: int,
    dx_m: float,
    dy_m: float,
    ew: tuple[int, float],
    ns: tuple[int, float],
    fringe: bool,
    control: str,
    name: str,
) -> nx.DiGraph:
    """Grid of two-way links with east-west spacing dx_m and north-south spacing dy_m.

    ``ew`` and ``ns`` are (lanes, speed_mps) of the east-west and north-south links; every
    intersection gets ``control`` (as the ``junction`` attribute unless it is a traffic light,
    whose graph is the benchmark's). Nodes and edges are added in the order of the benchmark
    generator so the graphs compare equal.
    """
    dx_m, dy_m = float(dx_m), float(dy_m)
    ranked = control in _RANKED
    road_ew = {
        "lanes": int(ew[0]),
        "speed_mps": float(ew[1]),
        **({PRIORITY: MAJOR_PRIORITY} if ranked else {}),
    }
    road_ns = {
        "lanes": int(ns[0]),
        "speed_mps": float(ns[1]),
        **({PRIORITY: MINOR_PRIORITY} if ranked else {}),
    }
    graph = nx.DiGraph(name=name)
    signalized = control == TRAFFIC_LIGHT
    junction = {} if signalized else {JUNCTION: control}
    for r in range(rows):
        for c in range(cols):
            boundary = r in (0, rows - 1) or c in (0, cols - 1)
            graph.add_node(
                f"n{c}_{r}",
                x=dx_m * (c + 1),
                y=dy_m * (r + 1),
                signalized=signalized,
                kind=FRINGE if boundary and not fringe else INTERSECTION,
                **junction,
            )
    pairs: list[tuple[str, str, dict[str, int | float], float]] = []
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                pairs.append((f"n{c}_{r}", f"n{c + 1}_{r}", road_ew, dx_m))
            if r + 1 < rows:
                pairs.append((f"n{c}_{r}", f"n{c}_{r + 1}", road_ns, dy_m))
    if fringe:
        stub = {"signalized": False, "kind": FRINGE}
        for r in range(rows):
            graph.add_node(f"W{r}", x=0.0, y=dy_m * (r + 1), **stub)
            graph.add_node(f"E{r}", x=dx_m * (cols + 1), y=dy_m * (r + 1), **stub)
        for c in range(cols):
            graph.add_node(f"S{c}", x=dx_m * (c + 1), y=0.0, **stub)
            graph.add_node(f"N{c}", x=dx_m * (c + 1), y=dy_m * (rows + 1), **stub)
        for r in range(rows):
            pairs.append((f"W{r}", f"n0_{r}", road_ew, dx_m))
            pairs.append((f"n{cols - 1}_{r}", f"E{r}", road_ew, dx_m))
        for c in range(cols):
            pairs.append((f"S{c}", f"n{c}_0", road_ns, dy_m))
            pairs.append((f"n{c}_{rows - 1}", f"N{c}", road_ns, dy_m))
    for a, b, road, length_m in pairs:
        for u, v in ((a, b), (b, a)):
            graph.add_edge(u, v, length_m=length_m, **road)
    return graph


def _control(junction: str | None, signalized: bool | None) -> str:
    """The intersections' control from the ``junction`` and ``signalized`` options."""
    if junction is None:
        return "priority" if signalized is False else TRAFFIC_LIGHT
    if junction not in LATTICE_JUNCTIONS:
        raise NetworkError(
            f"junction must be one of {', '.join(map(repr, LATTICE_JUNCTIONS))}, got {junction!r}"
        )
    if signalized is not None and signalized != (junction == TRAFFIC_LIGHT):
        raise NetworkError(
            f"junction={junction!r} contradicts signalized={signalized}; expected signalized=True only with "
            f"junction={TRAFFIC_LIGHT!r} (or leave signalized out)"
        )
    return junction


def _with_roundabouts(
    graph: nx.DiGraph, control: str, radius_m: float, ring_speed_mps: float, **legs_m: float
) -> nx.DiGraph:
    """With ``control`` ``"roundabout"``, replace every intersection of ``graph`` by a roundabout.

    ``legs_m`` names the builder's lengths that must exceed the ring: each at least twice
    the radius (a link between two roundabouts loses one radius at each end).
    """
    if control != ROUNDABOUT:
        return graph
    _check_positive(roundabout_radius_m=radius_m, roundabout_speed_mps=ring_speed_mps)
    for key, length_m in legs_m.items():
        if length_m <= 2.0 * radius_m:
            raise NetworkError(
                f"{key}={length_m:g} leaves no room between roundabouts of radius {radius_m:g} m; "
                f"expected {key} > 2 * roundabout_radius_m"
            )
    for node in [n for n, kind in graph.nodes(data="kind") if kind == INTERSECTION]:
        make_roundabout(graph, node, float(radius_m), ring_speed_mps)
    return graph


def _with_bays(graph: nx.DiGraph, control: str, left_bay_m: float, left_bay_lanes: int) -> nx.DiGraph:
    """``graph`` with a left-turn bay on every approach to an intersection, unless ``left_bay_m`` is 0."""
    _check_counts(left_bay_lanes=left_bay_lanes)
    if left_bay_m == 0:
        return graph
    if control == ROUNDABOUT:
        raise NetworkError(
            f"left_bay_m={left_bay_m!r} with junction={ROUNDABOUT!r}; expected left_bay_m = 0 (a roundabout "
            "has no left-turn bays)"
        )
    return add_left_bays(graph, left_bay_m, left_bay_lanes)


def _check_counts(**counts: int) -> None:
    for key, value in counts.items():
        if not is_count(value):
            raise NetworkError(f"{key} must be an integer >= 1, got {value!r}")


def _check_positive(**values: float) -> None:
    for key, value in values.items():
        if not is_positive_number(value):
            raise NetworkError(f"{key} must be a finite number > 0, got {value!r}")
