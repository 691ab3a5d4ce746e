"""Incidents: generated (Poisson in time, with a time-of-day profile) or read from a CSV table.

A location is a node id (the scene is the intersection: reached at the end of any link
into it), a link written ``u->v`` (reached at the end of that link), or, in a table,
``traffic:<id>``: the link of the scenario's traffic incident ``<id>`` (``[[incidents]]``,
:mod:`sim.closures`), so that a crash that closes lanes also calls the emergency services.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from sim.network.compile import CompiledNetwork
from sim.network.graph import INTERSECTION
from sim.schema import excerpt

if TYPE_CHECKING:
    from sim.emergency.spec import Spec

__all__ = [
    "Incident",
    "IncidentTableError",
    "LocationError",
    "Scene",
    "TRAFFIC_PREFIX",
    "TableRow",
    "generate_times_s",
    "incidents_for",
    "lognormal_s",
    "read_incident_table",
    "resolve_scene",
    "sample_locations",
]

LINK_SEPARATOR = "->"
TRAFFIC_PREFIX = "traffic:"
"""A table location ``traffic:<id>`` names the link of traffic incident ``<id>``."""
_REQUIRED_COLUMNS = ("time_s", "location", "severity")
_OPTIONAL_COLUMNS = ("on_scene_s",)
_SECONDS_PER_HOUR = 3600.0
_HOURS_PER_DAY = 24


class IncidentTableError(ValueError):
    """An incident table CSV that cannot be read.

    Attributes:
        path: The file.
        line: Line number of the offending row (1 = the header), or 0 for the whole file.
    """

    def __init__(self, path: Path, line: int, problem: str) -> None:
        where = f"{path} line {line}" if line else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line


class LocationError(ValueError):
    """A location that names no node or link of the network."""


@dataclass(frozen=True)
class Scene:
    """Where an incident is, on the compiled network.

    Attributes:
        node: The node the vehicle drives to (the node itself, or the end of the link).
        target_edges: Edge indices whose end reaches the scene.
    """

    node: str
    target_edges: tuple[int, ...]


@dataclass(frozen=True)
class Incident:
    """One emergency call.

    Attributes:
        id: ``"incident<n>"`` in call order.
        call_s: Time of the call (s).
        location: Node id or ``u->v`` link.
        severity: 1 (most urgent), 2, ...
        on_scene_s: Time the vehicle spends on scene (s).
        scene: The location on the network.
    """

    id: str
    call_s: float
    location: str
    severity: int
    on_scene_s: float
    scene: Scene


@dataclass(frozen=True)
class TableRow:
    """One row of an incident table; ``on_scene_s`` is None where the table gives none."""

    line: int
    time_s: float
    location: str
    severity: int
    on_scene_s: float | None


def _number(path: Path, line: int, column: str, raw: str, minimum: float, strict: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    bad = not math.isfinite(value) or value < minimum or (strict and value == minimum)
    if bad:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise IncidentTableError(
            path, line, f"column {column!r}: expected a number {bound}, got {excerpt(raw)}"
        )
    return value


def read_incident_table(path: Path) -> tuple[TableRow, ...]:
    """Read and check an incident table: ``time_s, location, severity[, on_scene_s]``.

    Args:
        path: The CSV file (a header row, then one call per row; blank lines are skipped).

    Returns:
        The rows in file order.

    Raises:
        IncidentTableError: Naming the file and line, for an unreadable file, a missing or
            unknown column, a negative or non-numeric time, a severity that is not an
            integer >= 1, an empty location or a non-positive on-scene time.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            lines = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IncidentTableError(path, 0, f"cannot read the incident table: {exc}") from None
    if not lines:
        raise IncidentTableError(path, 0, f"empty file; expected a header {', '.join(_REQUIRED_COLUMNS)}")
    header = [name.strip() for name in lines[0]]
    missing = [name for name in _REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in (*_REQUIRED_COLUMNS, *_OPTIONAL_COLUMNS)]
    if missing or unknown:
        allowed = ", ".join((*_REQUIRED_COLUMNS, *_OPTIONAL_COLUMNS))
        problem = f"missing column(s) {missing}" if missing else f"unknown column(s) {excerpt(unknown)}"
        raise IncidentTableError(path, 1, f"{problem}; the columns are {allowed}")
    rows = []
    for line, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise IncidentTableError(path, line, f"expected {len(header)} fields, got {len(cells)}")
        item = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        severity = item["severity"]
        if not severity.isdigit() or int(severity) < 1:
            raise IncidentTableError(
                path, line, f"column 'severity': expected an integer >= 1, got {excerpt(severity)}"
            )
        if not item["location"]:
            raise IncidentTableError(path, line, "column 'location': expected a node id or a link 'u->v'")
        raw_on_scene = item.get("on_scene_s", "")
        rows.append(
            TableRow(
                line=line,
                time_s=_number(path, line, "time_s", item["time_s"], 0.0, strict=False),
                location=item["location"],
                severity=int(severity),
                on_scene_s=_number(path, line, "on_scene_s", raw_on_scene, 0.0, strict=True)
                if raw_on_scene
                else None,
            )
        )
    return tuple(rows)


def _traffic_link(location: str, traffic_links: dict[str, str]) -> str:
    """The link of a ``traffic:<id>`` location, or the location itself.

    Raises:
        LocationError: If no traffic incident has that id.
    """
    if not location.startswith(TRAFFIC_PREFIX):
        return location
    name = location.removeprefix(TRAFFIC_PREFIX).strip()
    if name not in traffic_links:
        known = ", ".join(map(repr, traffic_links)) or "none: the scenario has no [[incidents]]"
        raise LocationError(f"no traffic incident {excerpt(name)} (its ids: {known})")
    return traffic_links[name]


def resolve_scene(net: CompiledNetwork, location: str) -> Scene:
    """The scene of a location: a node id, or a link ``u->v``.

    Raises:
        LocationError: If the node or link does not exist, or no link leads to the node.
    """
    if LINK_SEPARATOR in location:
        u, _, v = (part.strip() for part in location.partition(LINK_SEPARATOR))
        edge = net.edge_index.get((u, v))
        if edge is None:
            raise LocationError(f"no link {excerpt(location)} in the network")
        return Scene(node=v, target_edges=(edge,))
    try:
        node = net.node_ids.index(location)
    except ValueError:
        raise LocationError(
            f"no node {excerpt(location)} in the network (a link is written 'u->v')"
        ) from None
    targets = tuple(np.flatnonzero(net.edge_to == node).tolist())
    if not targets:
        raise LocationError(f"no link leads to node {excerpt(location)}")
    return Scene(node=location, target_edges=targets)


def generate_times_s(
    rng: np.random.Generator,
    rate_per_h: float,
    start_s: float,
    end_s: float,
    clock_start_h: float = 0.0,
    hourly_profile: Sequence[float] = (),
) -> np.ndarray:
    """Call times of a Poisson process whose rate follows the hour of the day (s, sorted).

    Args:
        rng: The feature's generator.
        rate_per_h: Mean calls per hour before the profile.
        start_s: Start of the window (simulation time, s).
        end_s: End of the window (simulation time, s).
        clock_start_h: Time of day (h) at simulation time 0.
        hourly_profile: 24 multipliers, one per hour of the day; empty means 1.

    Returns:
        Call times in [start_s, end_s), ascending.
    """
    times: list[np.ndarray] = []
    t = start_s
    while t < end_s:
        clock_s = clock_start_h * _SECONDS_PER_HOUR + t
        hour = int(clock_s // _SECONDS_PER_HOUR) % _HOURS_PER_DAY
        piece_end = min(end_s, t + _SECONDS_PER_HOUR - clock_s % _SECONDS_PER_HOUR)
        multiplier = hourly_profile[hour] if hourly_profile else 1.0
        count = rng.poisson(rate_per_h * multiplier * (piece_end - t) / _SECONDS_PER_HOUR)
        times.append(np.sort(rng.uniform(t, piece_end, count)))
        t = piece_end
    return np.concatenate(times) if times else np.zeros(0)


def sample_locations(
    rng: np.random.Generator, graph: nx.DiGraph, kind: str, count: int, weight_attribute: str = ""
) -> list[str]:
    """Draw incident locations.

    Args:
        rng: The feature's generator.
        graph: The road network.
        kind: ``"nodes"`` (uniform over intersections), ``"links"`` (links between
            intersections, in proportion to length) or ``"weighted_nodes"``
            (intersections in proportion to ``weight_attribute``).
        count: Number of locations.
        weight_attribute: Node attribute for ``"weighted_nodes"``.

    Returns:
        Node ids, or links written ``u->v``.

    Raises:
        LocationError: If the network has no intersection, or a weight is missing,
            negative or not a number, or all weights are zero.
    """
    nodes = [n for n, kind_ in graph.nodes(data="kind") if kind_ == INTERSECTION]
    if not nodes:
        raise LocationError("the network has no intersection to place incidents at")
    if kind == "links":
        links = [(u, v) for u, v in graph.edges if u in set(nodes) and v in set(nodes)]
        if not links:
            raise LocationError("the network has no link between two intersections")
        lengths = np.array([graph.edges[link]["length_m"] for link in links], dtype=float)
        picks = rng.choice(len(links), size=count, p=lengths / lengths.sum())
        return [f"{links[i][0]}{LINK_SEPARATOR}{links[i][1]}" for i in picks.tolist()]
    weights = np.ones(len(nodes))
    if kind == "weighted_nodes":
        for i, node in enumerate(nodes):
            value = graph.nodes[node].get(weight_attribute)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not numeric or not math.isfinite(value) or value < 0:
                raise LocationError(
                    f"node {node!r}: attribute {weight_attribute!r} must be a number >= 0, got {value!r}"
                )
            weights[i] = value
        if weights.sum() <= 0.0:
            raise LocationError(
                f"every intersection has {weight_attribute!r} = 0: nowhere to place incidents"
            )
    picks = rng.choice(len(nodes), size=count, p=weights / weights.sum())
    return [nodes[i] for i in picks.tolist()]


def lognormal_s(rng: np.random.Generator, mean_s: float, cv: float, count: int) -> np.ndarray:
    """Durations (s) from a lognormal distribution with the given mean and coefficient of variation."""
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean_s) - sigma2 / 2.0, math.sqrt(sigma2), count)


def incidents_for(
    spec: Spec,
    graph: nx.DiGraph,
    net: CompiledNetwork,
    rng: np.random.Generator,
    traffic_links: dict[str, str] | None = None,
) -> list[Incident]:
    """The calls of a scenario: read from its table or generated, in call order.

    Draws come from ``rng`` in a fixed order (times, locations, severities, on-scene
    times), so the same seed gives the same calls whatever else the model does.
    ``traffic_links`` maps each traffic incident's id to its link ``u->v``, for table
    locations ``traffic:<id>``.

    Raises:
        IncidentTableError: If a table row names a location the network lacks, or a traffic
            incident the scenario lacks.
        LocationError: If generated locations cannot be placed (see :func:`sample_locations`).
    """
    if spec.source == "table":
        path = Path(spec.table)
        rows = read_incident_table(path)
        drawn = lognormal_s(rng, spec.on_scene_mean_s, spec.on_scene_cv, len(rows))
        calls = []
        for row, on_scene_s in zip(rows, drawn.tolist(), strict=True):
            try:
                scene = resolve_scene(net, _traffic_link(row.location, traffic_links or {}))
            except LocationError as exc:
                raise IncidentTableError(path, row.line, f"column 'location': {exc}") from None
            given = row.on_scene_s
            calls.append(
                (row.time_s, row.location, row.severity, on_scene_s if given is None else given, scene)
            )
        calls.sort(key=lambda call: call[0])
    else:
        times = generate_times_s(
            rng, spec.rate_per_h, spec.start_s, spec.end_s, spec.clock_start_h, spec.hourly_profile
        )
        locations = sample_locations(rng, graph, spec.location, len(times), spec.weight_attribute)
        weights = np.asarray(spec.severity_weights)
        severities = 1 + rng.choice(len(weights), size=len(times), p=weights / weights.sum())
        on_scene = lognormal_s(rng, spec.on_scene_mean_s, spec.on_scene_cv, len(times))
        scenes = {location: resolve_scene(net, location) for location in dict.fromkeys(locations)}
        calls = [
            (t, location, int(severity), s, scenes[location])
            for t, location, severity, s in zip(
                times.tolist(), locations, severities.tolist(), on_scene.tolist(), strict=True
            )
        ]
    return [Incident(f"incident{i}", *call) for i, call in enumerate(calls)]
