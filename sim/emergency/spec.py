"""The ``[emergency]`` scenario table: incidents, stations and fleets, signal preemption.

Every key has a default except the stations. Example::

    [emergency]
    preemption = "green_wave"          # off | local | green_wave
    rate_per_h = 4.0                   # Poisson calls per hour (before the profile)
    end_s = 3600.0
    location = "nodes"                 # nodes | links | weighted_nodes
    severity_weights = [0.25, 0.5, 0.25]

    [[emergency.stations]]
    name = "central"
    node = "n2_2"
    vehicles = 2

or ``source = "table"`` with ``table = "incidents.csv"`` (columns ``time_s, location,
severity`` and optionally ``on_scene_s``; a location is a node id or a link ``u->v``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from sim.emergency.incidents import IncidentTableError, read_incident_table
from sim.schema import (
    DURATION,
    MAX_MULTIPLIER,
    TIME,
    Context,
    ScenarioError,
    choice,
    integer,
    number,
    path,
    spec_field,
    tables,
    text,
)

__all__ = ["PREEMPTION_MODES", "Spec", "Station"]

PREEMPTION_MODES = ("off", "local", "green_wave")
"""``off``: no preemption; ``local``: each signal on the route is preempted once the vehicle
is within ``detection_m`` or ``horizon_s`` of it; ``green_wave``: each signal is preempted
early enough to be green, with its queue flushed, when the vehicle arrives."""

_HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Station:
    """A station: a node where a fleet of emergency vehicles waits.

    Attributes:
        name: Unique station name.
        node: Node id of the station (checked against the network when the model is built).
        vehicles: Number of vehicles based there (>= 1).
    """

    name: str
    node: str
    vehicles: int = 1


def _stations(ctx: Context, key: str, value: Any) -> tuple[Station, ...]:
    fields = {
        "name": (True, partial(text, nonempty=True)),
        "node": (True, partial(text, nonempty=True)),
        "vehicles": (False, partial(integer, ge=1, le=1000)),
    }
    items = tables(ctx, key, value, fields, what="station tables ([[emergency.stations]])")
    return tuple(Station(**{name: v for name, v in item.items() if v is not None}) for item in items)


def _weights(ctx: Context, key: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ctx.fail(key, "a non-empty list of non-negative weights", value)
    weights = tuple(number(ctx, f"{key}[{i}]", w, ge=0.0, le=1e6) for i, w in enumerate(value))
    if sum(weights) <= 0.0:
        raise ctx.fail(key, "weights with a positive sum", value)
    return weights


def _hourly_profile(ctx: Context, key: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or len(value) not in (0, _HOURS_PER_DAY):
        raise ctx.fail(key, f"a list of {_HOURS_PER_DAY} hourly multipliers (or an empty list)", value)
    return tuple(number(ctx, f"{key}[{i}]", m, ge=0.0, le=MAX_MULTIPLIER) for i, m in enumerate(value))


def _table(ctx: Context, key: str, value: Any) -> str:
    if value == "":
        return ""
    file = path(ctx, key, value, suffixes=(".csv",))
    try:
        read_incident_table(file)
    except IncidentTableError as exc:
        raise ScenarioError(ctx.source, key, f"expected a valid incident table: {exc}") from None
    return str(file)


@dataclass(frozen=True)
class Spec:
    """The validated ``[emergency]`` table (times in s, distances in m).

    Attributes:
        stations: The stations and their fleets (at least one).
        preemption: One of :data:`PREEMPTION_MODES`.
        source: ``"poisson"`` (generated calls) or ``"table"`` (the calls of ``table``).
        table: Incident table CSV (``source = "table"``), an absolute path.
        rate_per_h: Mean calls per hour (Poisson), before the hourly profile.
        start_s, end_s: Calls are generated in [start_s, end_s).
        clock_start_h: Time of day (h, in [0, 24)) at simulation time 0, for the profile.
        hourly_profile: 24 multipliers of ``rate_per_h``, one per hour of the day; empty
            means 1 throughout.
        location: ``"nodes"`` (uniform over intersections), ``"links"`` (over links
            between intersections, in proportion to their length) or ``"weighted_nodes"``
            (intersections weighted by the numeric node attribute ``weight_attribute``).
        weight_attribute: Node attribute that weights incident locations (``weighted_nodes``).
        severity_weights: Relative frequency of severity 1 (most urgent), 2, ...
        on_scene_mean_s, on_scene_cv: Mean and coefficient of variation of the lognormal
            on-scene time (used where the table gives none).
        processing_s: Call processing time before the dispatch decision.
        arrival_m: A vehicle is on scene (or back at its station) once within this
            distance of the end of its route's last link.
        detection_m, horizon_s: ``local``: preempt a signal once the vehicle is this close
            to its stop line, or expected there within this time at free-flow speed.
        lead_margin_s: ``green_wave``: extra lead on top of the time the signal needs to
            turn green and flush the queue ahead of the vehicle.
        discharge_headway_s: ``green_wave``: time per queued vehicle to flush a queue.
        max_hold_s: A preemption is given up after this long even if the vehicle has not crossed.
        recovery_window_s: How long after a preemption the side streets' queue is watched
            for its return to the level it had when the preemption began.

    Ranges (checked at load): times and durations within 3 days; at most 1,000 calls per
    hour and 1,000 vehicles per station; hourly multipliers up to 100; on-scene CV up to
    10; processing and holds up to 1 h; distances up to 1 km (arrival) and 5 km
    (detection); horizons and lead margins up to 10 min; discharge headways in (0, 10] s.
    """

    stations: tuple[Station, ...] = spec_field((), _stations)
    preemption: str = spec_field("off", partial(choice, choices=PREEMPTION_MODES))
    source: str = spec_field("poisson", partial(choice, choices=("poisson", "table")))
    table: str = spec_field("", _table)
    rate_per_h: float = spec_field(4.0, partial(number, ge=0.0, le=1000.0))
    start_s: float = spec_field(0.0, TIME)
    end_s: float = spec_field(3600.0, DURATION)
    clock_start_h: float = spec_field(0.0, partial(number, ge=0.0, le=_HOURS_PER_DAY - 1e-9))
    hourly_profile: tuple[float, ...] = spec_field((), _hourly_profile)
    location: str = spec_field("nodes", partial(choice, choices=("nodes", "links", "weighted_nodes")))
    weight_attribute: str = spec_field("", text)
    severity_weights: tuple[float, ...] = spec_field((0.25, 0.5, 0.25), _weights)
    on_scene_mean_s: float = spec_field(900.0, DURATION)
    on_scene_cv: float = spec_field(0.5, partial(number, ge=0.0, le=10.0))
    processing_s: float = spec_field(0.0, partial(number, ge=0.0, le=3600.0))
    arrival_m: float = spec_field(20.0, partial(number, ge=0.0, le=1000.0))
    detection_m: float = spec_field(150.0, partial(number, ge=0.0, le=5000.0))
    horizon_s: float = spec_field(10.0, partial(number, ge=0.0, le=600.0))
    lead_margin_s: float = spec_field(4.0, partial(number, ge=0.0, le=600.0))
    discharge_headway_s: float = spec_field(2.0, partial(number, gt=0.0, le=10.0))
    max_hold_s: float = spec_field(120.0, partial(number, gt=0.0, le=3600.0))
    recovery_window_s: float = spec_field(300.0, DURATION)

    def validate(self, ctx: Context) -> None:
        """Checks across keys.

        Raises:
            ScenarioError: If there is no station, station names repeat, the table is
                missing for ``source = "table"``, the call window is empty, or
                ``weighted_nodes`` has no ``weight_attribute``.
        """
        if not self.stations:
            raise ctx.fail("emergency.stations", "at least one [[emergency.stations]] table", [])
        names = [s.name for s in self.stations]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ctx.fail(f"emergency.stations[{index}].name", "a station name not used before", name)
        if self.source == "table" and not self.table:
            raise ctx.fail("emergency.table", "an incident table CSV with source = 'table'", self.table)
        if self.source == "poisson" and self.end_s <= self.start_s:
            raise ctx.fail("emergency.end_s", f"end_s > start_s ({self.start_s:g})", self.end_s)
        if self.location == "weighted_nodes" and not self.weight_attribute:
            raise ctx.fail(
                "emergency.weight_attribute",
                "a node attribute name with location = 'weighted_nodes'",
                self.weight_attribute,
            )
