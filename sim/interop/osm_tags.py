"""What OpenStreetMap tags tell about driving: road class and rank, direction, lanes, speed limit, signs.

Defaults per ``highway`` class (lanes per direction, speed limit) apply where a way has no
usable ``lanes`` or ``maxspeed`` tag; each class also has its rank, SUMO's edge priority from
its OSM type map (``data/typemap/osmNetconvert.typ.xml``), so that both simulators pick the
same major road at an unsignalized junction. The speed defaults are urban: OSM extracts of cities
rarely tag rural roads, and a wrong default on the few that lack ``maxspeed`` matters
less than a consistent rule. Country zone codes (``FI:urban``, ``DE:zone30``, ...) are read
by their category, not per country: urban 50, rural 80, motorway 120, living street 20 km/h.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_HIGHWAYS",
    "ROAD_CLASSES",
    "RoadClass",
    "WayDirections",
    "motor_access",
    "node_control",
    "parse_lanes",
    "parse_maxspeed_kph",
    "turn_lanes",
    "way_directions",
]

KPH_PER_MPH = 1.609344


@dataclass(frozen=True)
class RoadClass:
    """Defaults of one ``highway`` class.

    Attributes:
        lanes: Lanes per direction when the way does not say.
        speed_kph: Speed limit (km/h) when the way does not say.
        priority: The class's rank, the graph edges' ``priority`` (SUMO's, higher is more important).
        oneway: Whether the class is one-way unless tagged otherwise (motorways).
    """

    lanes: int
    speed_kph: float
    priority: int
    oneway: bool = False


ROAD_CLASSES: Mapping[str, RoadClass] = {
    "motorway": RoadClass(2, 100.0, 14, oneway=True),
    "motorway_link": RoadClass(1, 60.0, 9, oneway=True),
    "trunk": RoadClass(2, 80.0, 13),
    "trunk_link": RoadClass(1, 50.0, 8),
    "primary": RoadClass(1, 50.0, 12),
    "primary_link": RoadClass(1, 40.0, 7),
    "secondary": RoadClass(1, 50.0, 11),
    "secondary_link": RoadClass(1, 40.0, 6),
    "tertiary": RoadClass(1, 40.0, 10),
    "tertiary_link": RoadClass(1, 30.0, 5),
    "unclassified": RoadClass(1, 40.0, 4),
    "residential": RoadClass(1, 30.0, 3),
    "living_street": RoadClass(1, 20.0, 2),
    "service": RoadClass(1, 20.0, 1),
}
"""Drivable ``highway`` values and their defaults; priorities as SUMO 1.28's OSM type map."""

DEFAULT_HIGHWAYS: tuple[str, ...] = tuple(h for h in ROAD_CLASSES if h != "service")
"""The classes imported by default: every drivable class but ``service`` (driveways, parking aisles)."""

_ZONE_KPH = {"urban": 50.0, "rural": 80.0, "motorway": 120.0, "living_street": 20.0, "walk": 6.0}
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")
_ZONE_NUMBER = re.compile(r"^[A-Za-z]{2}:zone:?(\d+)$")
_FORWARD = frozenset({"yes", "true", "1"})
_BACKWARD = frozenset({"-1", "reverse"})
_TWO_WAY = frozenset({"no", "false", "0"})
_DENIED = frozenset({"no", "private", "agricultural", "forestry", "delivery", "emergency"})
# from the most specific key to the most general: the first one present decides
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")


@dataclass(frozen=True)
class WayDirections:
    """How a way is driven.

    Attributes:
        forward: Whether it is driven in the order of its nodes.
        backward: Whether it is driven against the order of its nodes.
    """

    forward: bool
    backward: bool


def motor_access(tags: Mapping[str, str]) -> bool:
    """Whether private cars may use the way (``access``, ``vehicle``, ``motor_vehicle``, ``motorcar``)."""
    for key in _ACCESS_KEYS:
        if key in tags:
            return tags[key].strip().lower() not in _DENIED
    return True


def node_control(tags: Mapping[str, str]) -> str | None:
    """The junction control a node's sign tags ask for, or ``None`` without a sign.

    ``highway=stop`` is a ``"stop"`` (``"allway_stop"`` with ``stop=all``); ``highway=give_way``
    a ``"priority"`` junction (its minor roads yield). The sign's direction is not read: it
    controls the junction, whose major road the edges' priorities give.
    """
    highway = tags.get("highway")
    if highway == "stop":
        return "allway_stop" if tags.get("stop", "").strip().lower() == "all" else "stop"
    return "priority" if highway == "give_way" else None


def way_directions(tags: Mapping[str, str]) -> WayDirections | None:
    """Directions of travel from ``oneway`` (and ``junction=roundabout``, motorways).

    Returns:
        The directions, or ``None`` for a way whose direction changes over time
        (``oneway=reversible`` or ``alternating``), which is not imported.
    """
    value = tags.get("oneway", "").strip().lower()
    if value in _FORWARD:
        return WayDirections(True, False)
    if value in _BACKWARD:
        return WayDirections(False, True)
    if value in ("reversible", "alternating"):
        return None
    if value in _TWO_WAY:
        return WayDirections(True, True)
    implied = tags.get("junction") in ("roundabout", "circular")
    road = ROAD_CLASSES.get(tags.get("highway", ""))
    implied = implied or (road is not None and road.oneway)
    return WayDirections(True, not implied)


def turn_lanes(tags: Mapping[str, str], directions: WayDirections) -> tuple[str | None, str | None]:
    """The ``turn:lanes`` value of each direction of a way (forward, backward); ``None`` where untagged.

    ``turn:lanes:forward`` and ``turn:lanes:backward`` name their direction; a plain
    ``turn:lanes`` is that of the only direction of a one-way way (on a two-way way it is
    ambiguous and not read). The values are parsed by :func:`sim.interop.osm_turns.lane_kinds`.
    """
    plain = tags.get("turn:lanes") if directions.forward != directions.backward else None
    forward = (tags.get("turn:lanes:forward") or plain) if directions.forward else None
    backward = (tags.get("turn:lanes:backward") or plain) if directions.backward else None
    return forward, backward


def parse_lanes(value: str | None) -> int | None:
    """A lane count from a ``lanes`` tag (the first of ``"2;3"``), or ``None`` if absent or unusable."""
    if value is None:
        return None
    first = value.split(";")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def parse_maxspeed_kph(value: str | None) -> float | None:
    """A speed limit (km/h) from a ``maxspeed`` value, or ``None`` if absent or unusable.

    Reads plain numbers (km/h), ``"30 mph"``, ``"walk"``, zone codes such as ``"FI:urban"``
    and ``"DE:zone30"``; of several values (``"50;30"``) the lowest. ``"none"``, ``"signals"``
    and ``"variable"`` give ``None``: the class default applies.
    """
    if value is None:
        return None
    speeds = [_one_speed_kph(part.strip()) for part in value.split(";")]
    known = [s for s in speeds if s is not None and s > 0]
    return min(known) if known else None


def _one_speed_kph(text: str) -> float | None:
    match = _SPEED.match(text.lower())
    if match:
        number, unit = float(match.group(1)), match.group(2)
        if unit == "mph":
            return number * KPH_PER_MPH
        return number * 1.852 if unit == "knots" else number
    zone = _ZONE_NUMBER.match(text)
    if zone:
        return float(zone.group(1))
    category = text.split(":", 1)[-1].lower()
    return _ZONE_KPH.get(category)
