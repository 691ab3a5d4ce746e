"""Read SUMO demand (route files) for an imported SUMO network as citysim trips.

Route files (``.rou.xml``, optionally gzipped) and additional files that hold routes and
vehicle types are read in two passes: every definition first (vTypes, routes and their
distributions: :mod:`sim.interop.sumo.definitions`), then the demand, in file order:

* ``<vehicle>`` with a route (``route=`` a named route or route distribution, or an embedded
  ``<route>``/``<routeDistribution>``); ``<trip>`` between ``from``/``to`` edges (optional
  ``via`` edges) or ``fromJunction``/``toJunction``; ``<flow>`` with either, its departures
  by SUMO's spacing rules (:mod:`sim.interop.sumo.flows`) and its vehicles named
  ``<flow id>.<i>``; ``<interval begin end>`` gives the flows in it their default period.
* A vehicle without a type has ``DEFAULT_VEHTYPE`` (SUMO's passenger car unless a file
  redefines it); types and routes of distributions are drawn per vehicle from the caller's
  seeded generator.

A route the file gives as edges is kept as the node path of their graph edges: SUMO edges from
junction u to v, ..., to one from x to y make a trip from u to y along them. A trip between
edges is routed at import on the compiled network (turn restrictions hold), from the start of
its first edge through its ``via`` edges to the end of its last; where citysim's own routing
between the two end nodes takes the same path, the trip keeps no route and citysim routes it
when it runs. A trip between junctions is always left to citysim.

Nothing that cannot be imported aborts: a vehicle of another class than the imported one, a
route with an edge the import left out (closed to the class, outside the kept part, unknown)
or a turn SUMO does not connect, a trip with no drivable route, and the like are skipped and
counted by reason (:class:`DemandReport`). Persons and containers are counted as unsupported,
and so are stops (the vehicle drives its route without stopping). citysim departs at the start
of the first edge, on the lane with the most room, at the highest safe speed, and arrives at
the end of the last: other ``depart*``/``arrival*`` values are counted as approximated.
Malformed files (bad numbers, unknown references, repeated ids) are errors naming the file,
line and element.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from sim.demand import Trips
from sim.interop.sumo.definitions import Definitions, SumoRoute
from sim.interop.sumo.flows import flow_departures_ms, time_ms, to_ms
from sim.interop.sumo.net import SumoNetwork
from sim.interop.sumo.vtypes import DEFAULT_VTYPE, ROAD_CLASSES, VehicleType
from sim.interop.sumo.xmlfile import Element, element_error, read_xml
from sim.network.compile import compile_network
from sim.routing import BANNED_TURN, Router, RoutingError
from sim.tables import DEFAULT_VEHICLE_TYPE, MAX_TRIPS

__all__ = [
    "DISCONNECTED",
    "LOOP",
    "NOT_IMPORTED",
    "NO_ENDS",
    "NO_JUNCTION",
    "TRIP_COLUMNS",
    "DemandReport",
    "SumoDemand",
    "read_sumo_routes",
    "write_trip_table",
]

PathLike = str | os.PathLike[str]
TRIP_COLUMNS = ("id", "depart_s", "origin", "destination", "route", "type")
"""Header of the trip table :func:`write_trip_table` writes."""
NOT_IMPORTED = "route uses an edge that is not imported"
"""Why a vehicle is skipped: an edge of its route is closed to the class, not in the kept part, or unknown."""
DISCONNECTED = "route has consecutive edges that do not meet"
"""Why a vehicle is skipped: its route jumps from one edge to another that does not start where it ends."""
NO_JUNCTION = "trip junction not imported"
"""Why a vehicle is skipped: its ``fromJunction`` or ``toJunction`` is not a node of the network."""
LOOP = "route ends where it starts"
"""Why a vehicle is skipped: its route returns to its first node (a trip needs two distinct ends)."""
NO_ENDS = "trip without from/to edges or junctions (TAZ, positions or stops: unsupported)"
"""Why a vehicle is skipped: it has neither a route nor ends citysim can read."""
_NOT_ROUTES = {"net": "a SUMO network", "configuration": "a SUMO configuration",
               "sumoConfiguration": "a SUMO configuration"}  # fmt: skip
"""Root elements of files given as route files by mistake (SUMO reads any other root)."""
_VEHICLES = ("vehicle", "trip", "flow")
_UNSUPPORTED = ("person", "personFlow", "container", "containerFlow")
_REPRODUCED = {
    "departPos": ("base",),
    "departLane": ("best", "free", "allowed"),
    "departSpeed": ("max", "desired", "speedLimit"),
    "arrivalPos": ("max",),
    "arrivalLane": (),
    "arrivalSpeed": (),
}
"""Per departure/arrival attribute, the values citysim's insertion and arrival reproduce (and
``departPos`` 0)."""
_LISTED_IDS = 3
_Spec = tuple
"""How a vehicle's path is given: ``("route", edges)``, ``("edges", from, to, via)``,
``("junctions", from, to)`` or ``("skip", reason)``."""
_Trip = tuple[str, str, tuple[str, ...] | None]
"""A vehicle's origin, destination and node path (``None``: citysim routes it)."""
_TRIGGERED = ("triggered", "containerTriggered", "split", "begin", "now")
"""``depart`` values other than a time: departures on an event, not imported."""


@dataclass(frozen=True)
class DemandReport:
    """What the import of the route files read, kept, skipped and approximated.

    Attributes:
        files: The route files read.
        vehicles: Vehicles read that depart in the period (vehicles, trips, flow vehicles).
        kept: Of those, the trips imported.
        routed_by_citysim: Of those, trips without a route (citysim routes them when it runs).
        outside_period: Vehicles and trips departing before ``begin_s`` or from ``end_s`` on
            (flows make no vehicle after ``end_s``).
        skipped: Vehicles skipped, by reason.
        skipped_ids: The first few ids skipped for each reason.
        unsupported: Demand elements not simulated (persons, containers, stops), by element.
        approximated: Departure and arrival attributes citysim does not reproduce, by value,
            counted over the imported trips.
        ignored: Elements of the files that are not demand (e.g. traffic lights), by element.
    """

    files: tuple[str, ...]
    vehicles: int
    kept: int
    routed_by_citysim: int
    outside_period: int
    skipped: Mapping[str, int]
    skipped_ids: Mapping[str, tuple[str, ...]]
    unsupported: Mapping[str, int]
    approximated: Mapping[str, int]
    ignored: Mapping[str, int]

    def summary(self) -> str:
        """The report as a few lines of text."""
        lines = [
            f"route files: {', '.join(Path(name).name for name in self.files)}",
            f"vehicles: {self.vehicles:,} in the period, {self.kept:,} imported "
            f"({self.kept - self.routed_by_citysim:,} with their route, {self.routed_by_citysim:,} "
            "routed by citysim)",
        ]
        if self.outside_period:
            lines.append(f"departing outside the period (left out): {self.outside_period:,}")
        skipped = sum(self.skipped.values())
        lines.append(f"skipped: {skipped:,}" + ("" if skipped else " (none)"))
        for reason, n in self.skipped.items():
            more = ", ..." if n > len(self.skipped_ids[reason]) else ""
            lines.append(f"  {reason}: {n:,} ({', '.join(self.skipped_ids[reason])}{more})")
        for title, counts in (
            ("unsupported, not simulated", self.unsupported),
            ("approximated (citysim departs at the start of the first edge, on the lane with the most "
             "room, at the highest safe speed, and arrives at the end of the last)", self.approximated),
            ("not demand, ignored", self.ignored),
        ):  # fmt: skip
            if counts:
                lines.append(f"{title}: " + ", ".join(f"{key} {n:,}" for key, n in counts.items()))
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class SumoDemand:
    """The demand of SUMO route files on an imported network.

    Attributes:
        trips: The imported trips, by departure time; ``trips.types`` names each one's
            vehicle type (a SUMO vType id, or ``"<id>_sumo"`` for one named ``"default"``).
        types: The ``[vehicle_types.<name>]`` table of every type the trips use.
        vtypes: Every vehicle type the files define (SUMO's predefined ones included), by id.
        report: What was read, kept, skipped and approximated.
    """

    trips: Trips
    types: Mapping[str, Mapping[str, float]]
    vtypes: Mapping[str, VehicleType]
    report: DemandReport


def read_sumo_routes(
    paths: PathLike | Sequence[PathLike],
    network: SumoNetwork,
    *,
    seed: int | np.random.Generator = 0,
    vclass: str = "passenger",
    begin_s: float = 0.0,
    end_s: float | None = None,
) -> SumoDemand:
    """Read SUMO route files for an imported network (see the module docstring for the rules).

    Args:
        paths: Route files (``.rou.xml``, additional files with routes, optionally gzipped).
        network: The network they run on, from :func:`~sim.interop.sumo.net.read_sumo_net`.
        seed: Seed or generator of the draws (route and type distributions, random flows).
        vclass: The vehicle class imported; vehicles of another class are skipped unless both
            are road classes (:data:`~sim.interop.sumo.vtypes.ROAD_CLASSES`: trucks and buses
            come along with passenger cars, on the same lanes, with their own vTypes).
        begin_s: The run's begin (SUMO's ``--begin``): earlier departures are left out, and
            flows begin here by default.
        end_s: The run's end (SUMO's ``--end``): no departure from here on, and flows end
            here by default; ``None``: no end (flows without one last 24 h).

    Returns:
        The trips, their vehicle types and the report.

    Raises:
        InteropError: Naming the file, line and element, for malformed XML, a bad value, an
            unknown route or type, a repeated vehicle id, or more than
            :data:`~sim.tables.MAX_TRIPS` trips.
    """
    files = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]
    roots = [(path, read_xml(path, _NOT_ROUTES)) for path in files]
    end_ms = None if end_s is None else to_ms(end_s)
    reader = _Reader(network, np.random.default_rng(seed), vclass, to_ms(begin_s), end_ms)
    for path, root in roots:
        for element in root.children:
            reader.definitions.add(path, element)
    for path, root in roots:
        for element in root.children:
            reader.demand(path, element, reader.begin_ms, reader.end_ms)
    return reader.result(tuple(str(path) for path in files))


def write_trip_table(demand: SumoDemand, path: PathLike) -> None:
    """Write the trips as a trip table: ``id,depart_s,origin,destination,route,type``.

    ``route`` is the space-separated node path, empty where citysim routes the trip.
    """
    trips = demand.trips
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TRIP_COLUMNS)
        for i in range(len(trips)):
            route = " ".join(trips.routes[i]) if trips.routes[i] is not None else ""
            writer.writerow(
                [trips.ids[i], repr(float(trips.depart_s[i])), trips.origin[i], trips.destination[i], route,
                 trips.types[i]]
            )  # fmt: skip


class _Reader:
    """The demand of the files as it is read: trips so far, their skips and counts."""

    def __init__(
        self, network: SumoNetwork, rng: np.random.Generator, vclass: str, begin_ms: int, end_ms: int | None
    ) -> None:
        self.network = network
        self.router = Router(network.graph, compile_network(network.graph))
        self.rng = rng
        self.vclass = vclass
        self.begin_ms, self.end_ms = begin_ms, end_ms
        self._stop_ms = np.inf if end_ms is None else end_ms
        self.definitions = Definitions()
        self.rows: list[tuple[str, int, str, str, tuple[str, ...] | None, str]] = []
        self.first_line: dict[str, tuple[Path, int]] = {}
        self.mapped: dict[_Spec, _Trip | str] = {}
        self.vehicles = self.outside_period = 0
        self.skipped: Counter[str] = Counter()
        self.skipped_ids: dict[str, list[str]] = {}
        self.unsupported: Counter[str] = Counter()
        self.approximated: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()

    def demand(self, path: Path, element: Element, begin_ms: int, end_ms: int | None) -> None:
        """Take one top-level element (or one inside an ``<interval>``) of the demand pass."""
        tag = element.tag
        if tag in _VEHICLES:
            self._vehicles(path, element, begin_ms, end_ms)
        elif tag == "interval":
            attrs = element.attrs
            try:
                begin = time_ms(attrs["begin"], "begin") if "begin" in attrs else begin_ms
                end = time_ms(attrs["end"], "end") if "end" in attrs else end_ms
            except ValueError as error:
                raise element_error(path, element, str(error)) from None
            for child in element.children:
                self.demand(path, child, begin, end)
        elif tag in _UNSUPPORTED:
            self.unsupported[f"<{tag}>"] += 1
        elif tag not in ("vType", "vTypeDistribution", "route", "routeDistribution"):
            self.ignored[f"<{tag}>"] += 1

    def result(self, files: tuple[str, ...]) -> SumoDemand:
        """The trips read so far, sorted by departure, with their types and the report."""
        order = sorted(range(len(self.rows)), key=lambda i: self.rows[i][1])
        rows = [self.rows[i] for i in order]
        used = dict.fromkeys(row[5] for row in rows)
        names = {name: _type_name(name) for name in used}
        trips = Trips(
            ids=tuple(row[0] for row in rows),
            depart_s=np.array([row[1] for row in rows], dtype=np.float64) / 1000.0,
            origin=tuple(row[2] for row in rows),
            destination=tuple(row[3] for row in rows),
            routes=tuple(row[4] for row in rows),
            types=tuple(names[row[5]] for row in rows),
        )
        report = DemandReport(
            files=files,
            vehicles=self.vehicles,
            kept=len(rows),
            routed_by_citysim=sum(1 for row in rows if row[4] is None),
            outside_period=self.outside_period,
            skipped=dict(self.skipped.most_common()),
            skipped_ids={reason: tuple(ids) for reason, ids in self.skipped_ids.items()},
            unsupported=dict(self.unsupported.most_common()),
            approximated=dict(self.approximated.most_common()),
            ignored=dict(self.ignored.most_common()),
        )
        types = {names[name]: self.definitions.vtypes[name].table() for name in used}
        return SumoDemand(trips, types, dict(self.definitions.vtypes), report)

    def _vehicles(self, path: Path, element: Element, begin_ms: int, end_ms: int | None) -> None:
        """Add the vehicles of one ``<vehicle>``, ``<trip>`` or ``<flow>`` that depart in the period."""
        attrs = element.attrs
        name = attrs.get("id")
        if not name:
            raise element_error(path, element, "expected an id")
        if element.tag != "flow" and attrs.get("depart", "").strip() in _TRIGGERED:
            self.vehicles += 1
            self._skip(name, f"depart={attrs['depart']!r} (unsupported)")
            return
        try:
            if element.tag == "flow":
                departs = flow_departures_ms(attrs, self.rng, begin_ms, end_ms)
            else:
                departs = np.array([time_ms(attrs.get("depart", ""), "depart")], dtype=np.int64)
        except ValueError as error:
            raise element_error(path, element, str(error)) from None
        inside = np.flatnonzero((departs >= self.begin_ms) & (departs < self._stop_ms))
        self.outside_period += departs.size - inside.size
        self.vehicles += inside.size
        if not inside.size:
            return
        try:
            types = self.definitions.types(attrs.get("type", DEFAULT_VTYPE), inside.size, self.rng)
        except KeyError:
            raise element_error(
                path, element, f"type: no vType or vTypeDistribution {attrs['type']!r}"
            ) from None
        specs = self._specs(path, element, inside.size)
        stops = sum(1 for child in element.children if child.tag == "stop")
        approximated = [
            found for key in _REPRODUCED if key in attrs and (found := _approximated(key, attrs[key]))
        ]
        for i, vtype, spec in zip(inside.tolist(), types, specs, strict=True):
            vid = f"{name}.{i}" if element.tag == "flow" else name
            if vid in self.first_line:
                first = self.first_line[vid]
                raise element_error(
                    path, element, f"vehicle id {vid!r} is taken ({first[0]}, line {first[1]})"
                )
            self.first_line[vid] = (path, element.line)
            vclass = self.definitions.vtypes[vtype].vclass
            mapped = f"vehicle class {vclass!r}" if not self._drives(vclass) else self._mapped(spec)
            if isinstance(mapped, str):
                self._skip(vid, mapped)
                continue
            if len(self.rows) == MAX_TRIPS:
                raise element_error(path, element, f"more than {MAX_TRIPS:,} trips, more than a run can hold")
            self.rows.append((vid, int(departs[i]), *mapped, vtype))
            if stops:
                self.unsupported["<stop> (driven through)"] += stops
            self.approximated.update(approximated)

    def _specs(self, path: Path, element: Element, n: int) -> list[_Spec]:
        """How each of ``n`` vehicles of ``element`` goes: its route (drawn if a distribution) or its ends."""
        attrs = element.attrs
        for child in element.children:
            if child.tag == "route":
                return [("route", self.definitions.route(path, child))] * n
            if child.tag == "routeDistribution":
                return [("route", r) for r in self.definitions.route_choice(path, child).draw(self.rng, n)]
        if "route" in attrs:
            try:
                return [("route", r) for r in self.definitions.routes(attrs["route"], n, self.rng)]
            except KeyError:
                raise element_error(
                    path, element, f"route: no route or routeDistribution {attrs['route']!r}"
                ) from None
        ends = [
            (a, b) for a, b in (("from", "to"), ("fromJunction", "toJunction")) if a in attrs or b in attrs
        ]
        if not ends:
            return [("skip", NO_ENDS)] * n
        a, b = ends[0]
        if a not in attrs or b not in attrs:
            raise element_error(path, element, f"expected both {a!r} and {b!r}")
        if a == "from":
            return [("edges", attrs[a], attrs[b], tuple(attrs.get("via", "").split()))] * n
        return [("junctions", attrs[a], attrs[b])] * n

    def _drives(self, vclass: str) -> bool:
        """Whether vehicles of ``vclass`` run on the imported lanes (the class, or both road classes)."""
        return vclass == self.vclass or (vclass in ROAD_CLASSES and self.vclass in ROAD_CLASSES)

    def _mapped(self, spec: _Spec) -> _Trip | str:
        """``(origin, destination, node path or None)`` of a vehicle, or why it is skipped."""
        if spec not in self.mapped:
            kind = spec[0]
            try:
                if kind == "route":
                    found = self._route(spec[1])
                elif kind == "edges":
                    found = self._trip((spec[1], *spec[3], spec[2]))
                elif kind == "junctions":
                    found = self._junctions(spec[1], spec[2])
                else:
                    found = spec[1]
            except RoutingError as error:
                found = error.reason
            self.mapped[spec] = found
        return self.mapped[spec]

    def _route(self, edges: SumoRoute) -> _Trip | str:
        """A route given as SUMO edges, on the graph."""
        kept = self.network.edges
        if any(edge not in kept for edge in edges):
            return NOT_IMPORTED
        for a, b in pairwise(edges):
            if (a, b) not in self.network.connections:
                return BANNED_TURN if kept[a][-1][1] == kept[b][0][0] else DISCONNECTED
        keys = [key for edge in edges for key in kept[edge]]
        return self._checked((keys[0][0], *(v for _, v in keys)), routed=False)

    def _trip(self, chain: tuple[str, ...]) -> _Trip | str:
        """A trip from the first SUMO edge of ``chain`` through the others to the last, routed."""
        kept = self.network.edges
        if any(edge not in kept for edge in chain):
            return NOT_IMPORTED
        path: tuple[str, ...] = ()
        for a, b in pairwise(chain):
            leg = self.router.edge_path(kept[a][0], kept[b][-1])
            path = leg if not path else path + leg[len(kept[a]) + 1 :]
        return self._checked(path, routed=True)

    def _junctions(self, origin: str, destination: str) -> _Trip | str:
        """A trip between two junctions, checked to be drivable; citysim routes it."""
        graph = self.network.graph
        if origin not in graph or destination not in graph:
            return NO_JUNCTION
        if origin == destination:
            return LOOP
        self.router.shortest_path(origin, destination)
        return origin, destination, None

    def _checked(self, path: tuple[str, ...], routed: bool) -> _Trip | str:
        """A node path the trip table can hold and the kernel drive.

        A route the import found (``routed``) is left to citysim where its own routing between
        the path's ends takes the same path; a route the file gives is kept as it is.
        """
        if path[0] == path[-1]:
            return LOOP
        self.router.route_id(path)
        if routed and self.router.shortest_path(path[0], path[-1]) == path:
            return path[0], path[-1], None
        return path[0], path[-1], path

    def _skip(self, vid: str, reason: str) -> None:
        self.skipped[reason] += 1
        listed = self.skipped_ids.setdefault(reason, [])
        if len(listed) < _LISTED_IDS:
            listed.append(vid)


def _approximated(key: str, value: str) -> str | None:
    """How a departure or arrival attribute is reported if citysim does not reproduce it: numbers alike."""
    if value in _REPRODUCED[key]:
        return None
    try:
        number = float(value)
    except ValueError:
        return f'{key}="{value}"'
    return None if key == "departPos" and number == 0.0 else f"{key}=<number>"


def _type_name(vtype: str) -> str:
    """The name of a SUMO vType as a citysim vehicle type (``"default"`` is ``[vehicles]``'s)."""
    return f"{vtype}_sumo" if vtype == DEFAULT_VEHICLE_TYPE else vtype
