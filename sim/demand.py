"""Departures: trip tables, OD matrices and Poisson demand.

A :class:`Trips` holds every departure of a run, sorted by time. It comes either from a trip table
(:func:`read_trip_table`, routes optional) or from a scenario's demand spec (:func:`generate_trips`):
a Poisson process per origin-destination stream, with exponential inter-arrival times.

Time-of-day profiles are handled by per-piece generation, not thinning: within each piece of the
piecewise-constant profile the process runs at the constant rate ``rate * multiplier * scale``,
restarting at the piece's start. Because the exponential distribution is memoryless this is an
exact non-homogeneous Poisson process, and a piece with multiplier 0 draws nothing.

Vehicle types: a trip table's ``type`` column names each trip's type. Trips without one
(generated, or from a table without the column) are given types drawn by the declared
types' shares (``[vehicle_types.<name>] share``; :func:`draw_types`), the default type
taking the rest.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.scenario import Scenario
from sim.schema import MAX_TIME_S, ScenarioError, excerpt
from sim.tables import DEFAULT_VEHICLE_TYPE, MAX_TRIPS, DemandSpec, check_demand_size

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DemandError",
    "Trips",
    "draw_types",
    "generate_trips",
    "read_od_matrix",
    "read_trip_table",
    "trips_for",
]

_SECONDS_PER_HOUR = 3600.0
_MAX_ROW_VPH = 1_000_000.0
"""Highest rate of one OD matrix row (veh/h), as for ``demand.rate_vph``."""


class DemandError(ValueError):
    """A trip table, OD matrix or demand spec that cannot be turned into departures."""


@dataclass(frozen=True, eq=False)
class Trips:
    """Every departure of a run, sorted by departure time (ties keep their input order).

    Attributes:
        ids: Trip ids.
        depart_s: Scheduled departure times, s, float64, ascending, read-only.
        origin: Origin node ids.
        destination: Destination node ids.
        routes: Node-id path per trip from origin to destination, or ``None`` where the model routes.
        types: Vehicle type per trip (``[vehicle_types.<name>]``, or
            :data:`~sim.tables.DEFAULT_VEHICLE_TYPE`); empty: every trip of the default type.
    """

    ids: tuple[str, ...]
    depart_s: np.ndarray
    origin: tuple[str, ...]
    destination: tuple[str, ...]
    routes: tuple[tuple[str, ...] | None, ...]
    types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        depart_s = np.array(self.depart_s, dtype=np.float64)
        depart_s.setflags(write=False)
        object.__setattr__(self, "depart_s", depart_s)
        if not self.types:
            object.__setattr__(self, "types", (DEFAULT_VEHICLE_TYPE,) * len(self.ids))
        sizes = {len(self.ids), len(self.origin), len(self.destination), len(self.routes), len(self.types)}
        if depart_s.ndim != 1 or sizes != {depart_s.size}:
            raise ValueError(f"Trips columns differ in length: {sorted(sizes | {depart_s.size})}")
        if np.any(np.diff(depart_s) < 0.0):
            raise ValueError("Trips.depart_s must be sorted ascending")

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trips):
            return NotImplemented
        return (
            self.ids == other.ids
            and np.array_equal(self.depart_s, other.depart_s)
            and (self.origin, self.destination, self.routes, self.types)
            == (other.origin, other.destination, other.routes, other.types)
        )


def read_trip_table(
    path: str | Path, graph: nx.DiGraph | None = None, types: Collection[str] | None = None
) -> Trips:
    """Read a trip table: CSV with header ``id,depart_s,origin,destination[,route][,type]``.

    ``route``, when present and not empty, is the space-separated node path from origin to
    destination. With ``graph``, every node must exist and every route step must be an edge.
    ``type``, when present and not empty, names the trip's vehicle type (default:
    :data:`~sim.tables.DEFAULT_VEHICLE_TYPE`, the type of ``[vehicles]``).

    Args:
        path: The CSV file.
        graph: The road network to check node ids and routes against, or ``None``.
        types: The declared vehicle type names (``[vehicle_types.<name>]``) that ``type`` may
            name besides the default, or ``None`` to accept any.

    Returns:
        The trips, sorted by ``depart_s`` (stable).

    Raises:
        DemandError: Naming the file, line and column, for an unreadable file, a wrong header, an
            empty or duplicate id, a ``depart_s`` that is not a number in [0, 3 days], an unknown node, an
            origin equal to its destination, a route that does not join them along edges, a
            vehicle type not declared (naming the declared ones), or more than
            :data:`~sim.tables.MAX_TRIPS` rows (refused before reading further).
    """
    path = Path(path)
    ids: list[str] = []
    depart_s: list[float] = []
    origins: list[str] = []
    destinations: list[str] = []
    routes: list[tuple[str, ...] | None] = []
    vehicle_types: list[str] = []
    first_line: dict[str, int] = {}
    for line, row in _read_csv(path, ("id", "depart_s", "origin", "destination"), ("route", "type")):
        if len(ids) == MAX_TRIPS:
            raise DemandError(f"{path}: line {line}: more than {MAX_TRIPS:,} trips, more than a run can hold")
        trip_id = row["id"]
        if not trip_id:
            raise _fail(path, line, "id", "a non-empty trip id", trip_id)
        if trip_id in first_line:
            raise _fail(path, line, "id", f"a unique trip id (also on line {first_line[trip_id]})", trip_id)
        first_line[trip_id] = line
        origin, destination = _od_pair(path, line, row, graph)
        ids.append(trip_id)
        depart_s.append(_non_negative(path, line, "depart_s", row["depart_s"], MAX_TIME_S))
        origins.append(origin)
        destinations.append(destination)
        routes.append(_route(path, line, row.get("route", ""), origin, destination, graph))
        vehicle_types.append(_vehicle_type(path, line, row.get("type", ""), types))
    order = np.argsort(np.asarray(depart_s, dtype=np.float64), kind="stable")
    return Trips(
        ids=tuple(ids[i] for i in order),
        depart_s=np.asarray(depart_s, dtype=np.float64)[order],
        origin=tuple(origins[i] for i in order),
        destination=tuple(destinations[i] for i in order),
        routes=tuple(routes[i] for i in order),
        types=tuple(vehicle_types[i] for i in order),
    )


def read_od_matrix(path: str | Path, graph: nx.DiGraph | None = None) -> tuple[tuple[str, str, float], ...]:
    """Read an origin-destination matrix: CSV with header ``origin,destination,rate_vph``.

    Args:
        path: The CSV file.
        graph: The road network to check node ids against, or ``None``.

    Returns:
        ``(origin, destination, rate_vph)`` per row, in file order; rates in vehicles per hour.

    Raises:
        DemandError: Naming the file, line and column, for an unreadable file, a wrong header, an
            unknown node, an origin equal to its destination, a repeated pair, or a rate that is
            not a number in [0, 10^6].
    """
    path = Path(path)
    pairs: dict[tuple[str, str], int] = {}
    rows: list[tuple[str, str, float]] = []
    for line, row in _read_csv(path, ("origin", "destination", "rate_vph")):
        pair = _od_pair(path, line, row, graph)
        if pair in pairs:
            raise _fail(path, line, "destination", f"a pair not listed before (line {pairs[pair]})", pair)
        pairs[pair] = line
        rows.append((*pair, _non_negative(path, line, "rate_vph", row["rate_vph"], _MAX_ROW_VPH)))
    return tuple(rows)


def generate_trips(
    graph: nx.DiGraph, spec: DemandSpec, rng: np.random.Generator, source: str = "<dict>"
) -> Trips:
    """Draw Poisson departures for a ``"uniform"`` or ``"matrix"`` demand spec.

    Uniform: one stream at ``spec.rate_vph``; each trip's origin is drawn uniformly from the fringe
    nodes and its destination uniformly from the other fringe nodes. Matrix: one stream per row of
    ``spec.matrix`` at its own rate. Every rate is multiplied by ``spec.scale`` and the profile
    piece's multiplier (see the module docstring). Trips get ids ``v0, v1, ...`` in departure order
    and no routes.

    Args:
        graph: The road network; nodes with ``kind == "fringe"`` are the uniform origins.
        spec: The demand spec.
        rng: The only source of randomness; the same generator state gives the same trips.
        source: The scenario file named in errors.

    Returns:
        The trips, sorted by departure time.

    Raises:
        DemandError: For a ``"trips"`` spec, fewer than 2 fringe nodes (uniform), or a bad matrix.
        ScenarioError: Naming ``demand.rate_vph``, ``demand.matrix`` or ``demand.profile``, if the
            demand is expected to create no trips (every rate or multiplier 0) or more than
            :data:`~sim.tables.MAX_TRIPS` (both refused before drawing any). A positive rate
            whose draw happens to be empty is not an error: the scenario stays valid for every
            seed, and optional sections may add their own vehicles.
    """
    if spec.type == "uniform":
        fringe = sorted((node for node, kind in graph.nodes(data="kind") if kind == "fringe"), key=str)
        if len(fringe) < 2:
            raise DemandError(
                f"demand.type = 'uniform': expected a network with >= 2 fringe nodes, got {excerpt(fringe)}"
            )
        rate_vph = spec.rate_vph or 0.0
        check_demand_size(source, spec, rate_vph, "demand.rate_vph")
        depart_s = _arrivals(rng, spec, rate_vph)
        origin = rng.integers(len(fringe), size=depart_s.size)
        destination = rng.integers(len(fringe) - 1, size=depart_s.size)
        destination += destination >= origin
        return _generated(depart_s, [fringe[i] for i in origin], [fringe[i] for i in destination])
    if spec.type == "matrix" and spec.matrix is not None:
        rows = read_od_matrix(spec.matrix, graph)
        total_vph = math.fsum(rate_vph for *_, rate_vph in rows)
        check_demand_size(source, spec, total_vph, "demand.matrix")
        streams = [_arrivals(rng, spec, rate_vph) for *_, rate_vph in rows]
        row_index = np.repeat(np.arange(len(rows)), np.array([s.size for s in streams], dtype=np.int64))
        times = np.concatenate([np.zeros(0), *streams])
        order = np.argsort(times, kind="stable")
        row_index = row_index[order]
        return _generated(times[order], [rows[i][0] for i in row_index], [rows[i][1] for i in row_index])
    raise DemandError(f"expected a 'uniform' demand spec or a 'matrix' one with its file, got {spec!r}")


def draw_types(trips: Trips, shares: Sequence[tuple[str, float]], rng: np.random.Generator) -> Trips:
    """The trips, each given a vehicle type drawn independently by ``shares``.

    Args:
        trips: The trips (their types are replaced).
        shares: ``(type name, share)`` of the declared types; the default type
            (:data:`~sim.tables.DEFAULT_VEHICLE_TYPE`) gets ``1 - sum(shares)``.
        rng: The demand's generator; not drawn from when every share is 0.

    Returns:
        The trips with their drawn types, or ``trips`` as they are when every share is 0.

    Raises:
        ValueError: If a share is negative or the shares sum to more than 1.
    """
    weights = np.array([share for _, share in shares], dtype=float)
    if weights.size == 0 or not weights.any():
        return trips
    total = float(weights.sum())
    if weights.min() < 0.0 or total > 1.0 + 1e-9:
        raise ValueError(f"vehicle type shares must be >= 0 and sum to at most 1, got {list(shares)}")
    names = [DEFAULT_VEHICLE_TYPE, *(name for name, _ in shares)]
    p = np.concatenate([[max(0.0, 1.0 - total)], weights])
    picks = rng.choice(len(names), size=len(trips), p=p / p.sum())
    return replace(trips, types=tuple(names[i] for i in picks))


def trips_for(scenario: Scenario, graph: nx.DiGraph, rng: np.random.Generator) -> Trips:
    """Return the departures of ``scenario``: its trip table, or trips generated with ``rng``.

    Trips without a type (generated, or from a table without a ``type`` column) get types
    drawn with ``rng`` by the shares of the scenario's types (:func:`draw_types`), after
    every other draw, so a scenario without shares draws the same trips as before.

    Args:
        scenario: The validated scenario.
        graph: Its road network.
        rng: The demand's random generator.

    Returns:
        The trips, sorted by departure time.

    Raises:
        DemandError: If the trip table or OD matrix is invalid for ``graph``.
        ScenarioError: If the trip table has no trips, or a generated demand is expected to
            create none or too many (see :func:`generate_trips`).
    """
    if scenario.demand.type == "trips" and scenario.demand.trips is not None:
        trips = read_trip_table(scenario.demand.trips, graph, [name for name, _ in scenario.vehicle_types])
        if not trips:
            raise ScenarioError(scenario.source, "demand.trips", "the trip table has no trips")
        if "type" in _header(scenario.demand.trips):
            return trips
    else:
        trips = generate_trips(graph, scenario.demand, rng, scenario.source)
    return draw_types(trips, [(name, spec.share) for name, spec in scenario.vehicle_types], rng)


def _arrivals(rng: np.random.Generator, spec: DemandSpec, rate_vph: float) -> np.ndarray:
    """Arrival times, s, of one Poisson stream at ``rate_vph`` shaped by the spec's scale and profile."""
    chunks = [np.zeros(0)]
    for start_s, end_s, multiplier in spec.pieces():
        rate_per_s = rate_vph * spec.scale * multiplier / _SECONDS_PER_HOUR
        if rate_per_s <= 0.0 or end_s <= start_s:
            continue
        expected = rate_per_s * (end_s - start_s)
        batch = int(expected + 5.0 * math.sqrt(expected)) + 16
        clock_s = start_s
        while clock_s < end_s:
            times = clock_s + np.cumsum(rng.exponential(1.0 / rate_per_s, size=batch))
            chunks.append(times[times < end_s])
            clock_s = times[-1]
    return np.concatenate(chunks)


def _generated(depart_s: np.ndarray, origins: Sequence[str], destinations: Sequence[str]) -> Trips:
    return Trips(
        ids=tuple(f"v{i}" for i in range(len(depart_s))),
        depart_s=depart_s,
        origin=tuple(origins),
        destination=tuple(destinations),
        routes=(None,) * len(depart_s),
    )


def _fail(path: Path, line: int, column: str, what: str, value: object) -> DemandError:
    return DemandError(f"{path}: line {line}: {column}: expected {what}, got {excerpt(value)}")


def _header(path: Path) -> list[str]:
    """The column names of a CSV file already read (see :func:`_read_csv`)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _read_csv(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[tuple[int, dict]]:
    """Yield ``(line number, {column: stripped text})`` per non-blank row, after checking the header."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DemandError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
            expected = ",".join([*required, *(f"[{name}]" for name in optional)])
            unknown = set(header) - {*required, *optional}
            if set(required) - set(header) or unknown or len(set(header)) != len(header):
                raise _fail(path, 1, "header", f"columns {expected}", ",".join(header))
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise _fail(
                        path, reader.line_num, "row", f"{len(header)} fields ({','.join(header)})", row
                    )
                yield reader.line_num, {name: cell.strip() for name, cell in zip(header, row, strict=True)}
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DemandError(f"{path}: line {reader.line_num}: expected UTF-8 CSV text: {exc}") from None


def _non_negative(path: Path, line: int, column: str, text: str, upper: float) -> float:
    """A cell's number in [0, upper]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0.0:
        raise _fail(path, line, column, "a number >= 0", text)
    if value > upper:
        raise _fail(path, line, column, f"a number <= {upper:g}", text)
    return value


def _od_pair(path: Path, line: int, row: dict[str, str], graph: nx.DiGraph | None) -> tuple[str, str]:
    for column in ("origin", "destination"):
        if not row[column]:
            raise _fail(path, line, column, "a node id", row[column])
        if graph is not None and row[column] not in graph:
            raise _fail(path, line, column, "a node of the network", row[column])
    if row["origin"] == row["destination"]:
        raise _fail(path, line, "destination", "a node other than the origin", row["destination"])
    return row["origin"], row["destination"]


def _vehicle_type(path: Path, line: int, text: str, types: Collection[str] | None) -> str:
    """A trip's vehicle type: the default when empty, else one of ``types`` (any if None)."""
    if not text or text == DEFAULT_VEHICLE_TYPE:
        return DEFAULT_VEHICLE_TYPE
    if types is not None and text not in types:
        declared = ", ".join(map(repr, [DEFAULT_VEHICLE_TYPE, *types]))
        raise _fail(path, line, "type", f"a vehicle type of the scenario ({declared})", text)
    return text


def _route(
    path: Path, line: int, text: str, origin: str, destination: str, graph: nx.DiGraph | None
) -> tuple[str, ...] | None:
    nodes = tuple(text.split())
    if not nodes:
        return None
    if nodes[0] != origin or nodes[-1] != destination:
        raise _fail(path, line, "route", f"a node path from {origin!r} to {destination!r}", text)
    for tail, head in pairwise(nodes):
        if graph is not None and not graph.has_edge(tail, head):
            raise _fail(path, line, "route", f"a path along network edges (no edge {tail} -> {head})", text)
    return nodes
