"""The ``[shuttles]`` scenario table: its keys, defaults and checks.

Stops are node ids. Requests come either from Poisson processes per origin-destination
pair (``od``, or ``request_rate_pph`` spread evenly over every ordered pair of distinct
stops) modulated by a piecewise-constant time-of-day ``profile``, or from a request table
(``requests``, read by :mod:`sim.shuttles.requests`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sim.schema import (
    DISTANCE,
    DURATION,
    MAX_TIME_S,
    REQUIRED,
    SPEED,
    TIME,
    Context,
    ScenarioError,
    choice,
    flag,
    integer,
    number,
    path,
    profile,
    spec_field,
    text,
)
from sim.shuttles.requests import read_request_table

__all__ = ["SERVICES", "OdRate", "Spec"]

SERVICES = ("fixed_route", "on_demand")
"""Service types: a loop through the stops with a timetable, or demand-responsive transit."""


@dataclass(frozen=True)
class OdRate:
    """Poisson request rate of one origin-destination pair of stops (passengers per hour)."""

    origin: str
    destination: str
    rate_pph: float


def _nodes(ctx: Context, key: str, value: Any) -> tuple[str, ...]:
    """A list of distinct node ids."""
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, "a list of node ids", value)
    nodes = tuple(text(ctx, f"{key}[{i}]", item, nonempty=True) for i, item in enumerate(value))
    for i, node in enumerate(nodes):
        if node in nodes[:i]:
            raise ctx.fail(f"{key}[{i}]", "a node id not listed before", node)
    return nodes


def _od(ctx: Context, key: str, value: Any) -> tuple[OdRate, ...]:
    """``[origin, destination, rate_pph]`` triples or ``{origin, destination, rate_pph}`` tables."""
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, "a list of [origin, destination, rate_pph] entries", value)
    rates = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(item, Mapping) and set(item) == {"origin", "destination", "rate_pph"}:
            item = [item["origin"], item["destination"], item["rate_pph"]]
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise ctx.fail(where, "an [origin, destination, rate_pph] entry", item)
        origin = text(ctx, where, item[0], nonempty=True)
        destination = text(ctx, where, item[1], nonempty=True)
        if origin == destination:
            raise ctx.fail(where, "an origin different from the destination", item)
        rates.append(OdRate(origin, destination, _RATE_PPH(ctx, where, item[2])))
    return tuple(rates)


_RATE_PPH = partial(number, ge=0.0, le=10_000.0)
_SHORT_S = partial(number, ge=0.0, le=600.0)


def _table_path(ctx: Context, key: str, value: Any) -> Path | None:
    """The request table: a ``.csv`` file, or ``""`` (or none) for Poisson requests."""
    if value is None or value == "":
        return None
    return path(ctx, key, value, suffixes=(".csv",))


@dataclass(frozen=True)
class Spec:
    """Autonomous shuttle service of a scenario (times in s, distances in m, speeds in m/s).

    Attributes:
        service: ``"fixed_route"`` (a loop through ``stops`` in order, timetable with
            holding at ``timing_points``) or ``"on_demand"`` (DRT: insertion heuristic).
        fleet_size: Shuttles (0: every request is rejected).
        capacity: Passengers a shuttle carries.
        stops: Stop node ids (at least 2); the fixed route visits them in this order and
            returns to the first.
        timing_points: Fixed route: stops where an early shuttle holds until its scheduled
            departure; default the first stop.
        headway_s: Fixed route: target headway; 0 (default) spreads the fleet evenly over
            the scheduled loop time. A headway longer than that adds layover at the first stop.
        door_time_s: Dwell of a stop visit where anyone boards or alights (doors), to
            which each boarding passenger adds ``board_time_s`` and each alighting one
            ``alight_time_s``.
        max_speed_mps: Operating speed limit of the shuttles (the kernel caps their speed at
            the lower of it and each link's limit); default 11.11 (40 km/h).
        planning_speed_factor: Planned speeds are this share of the speed limits.
        signal_delay_s: Planned delay per signalized junction on a path.
        service_start_s, service_end_s: Requests fall in [start, end); shuttles start at
            the start and go out of service once idle after the end.
        request_rate_pph: Poisson requests per hour over all ordered stop pairs, when
            neither ``od`` nor ``requests`` is given.
        od: Poisson rates per origin-destination pair (passengers per hour).
        profile: ``[start_s, multiplier]`` pieces multiplying every Poisson rate, the first at
            0 (simulation time); empty: 1 throughout.
        requests: Request table CSV (``time_s,origin,destination[,party_size]``) instead of
            Poisson requests.
        max_wait_s: On demand: a request is accepted only if its planned pickup is at most
            this long after it.
        detour_alpha, detour_beta_s: On demand: planned ride time at most
            ``detour_alpha * direct ride time + detour_beta_s`` (MATSim's form).
        wait_weight: On demand: an insertion costs the time it adds to the shuttle's plan
            plus this times the new passenger's planned wait (0: the operator's cost only,
            as in MATSim).
        patience_s: Any waiting passenger gives up after this long (>= ``max_wait_s``).
        rebalance_interval_s: On demand: how often idle shuttles rebalance.
        rebalance_window_s: On demand: demand is estimated from the requests of this past window.
        signal_priority: A late shuttle near a signal asks for a green extension or an
            early green (``priority_*`` keys).
        priority_lateness_s: A shuttle is late when it expects to reach its next stop more
            than this after the planned time.
        priority_max_s: Longest green extension, and most a red is shortened.
        priority_detect_m: Distance to the stop line from which a shuttle asks.
        priority_check_s: Interval of the priority checks.
        priority_recovery_s: After a priority action, a signal serves no other for this long.

    Ranges (checked at load): times and durations within 3 days; at most 1,000 shuttles of
    up to 200 passengers; request rates up to 10,000 per hour; stop dwells up to 10 min
    (1 min per passenger); detour factor in [1, 10]; periodic checks and rebalancing at
    least 1 s apart, so timers cannot fire at every step.
    """

    service: str = spec_field("fixed_route", partial(choice, choices=SERVICES))
    fleet_size: int = spec_field(4, partial(integer, ge=0, le=1000))
    capacity: int = spec_field(8, partial(integer, ge=1, le=200))
    stops: tuple[str, ...] = spec_field(REQUIRED, _nodes)
    timing_points: tuple[str, ...] = spec_field((), _nodes)
    headway_s: float = spec_field(0.0, TIME)
    door_time_s: float = spec_field(5.0, _SHORT_S)
    board_time_s: float = spec_field(2.0, partial(number, ge=0.0, le=60.0))
    alight_time_s: float = spec_field(1.5, partial(number, ge=0.0, le=60.0))
    max_speed_mps: float = spec_field(11.11, SPEED)
    planning_speed_factor: float = spec_field(0.85, partial(number, gt=0.0, le=2.0))
    signal_delay_s: float = spec_field(15.0, _SHORT_S)
    service_start_s: float = spec_field(0.0, TIME)
    service_end_s: float = spec_field(3600.0, DURATION)
    request_rate_pph: float = spec_field(60.0, _RATE_PPH)
    od: tuple[OdRate, ...] = spec_field((), _od)
    profile: tuple[tuple[float, float], ...] = spec_field((), profile)
    requests: Path | None = spec_field(None, _table_path)
    max_wait_s: float = spec_field(600.0, DURATION)
    detour_alpha: float = spec_field(1.5, partial(number, ge=1.0, le=10.0))
    detour_beta_s: float = spec_field(300.0, TIME)
    wait_weight: float = spec_field(1.0, partial(number, ge=0.0, le=100.0))
    patience_s: float = spec_field(900.0, DURATION)
    rebalance_interval_s: float = spec_field(300.0, partial(number, ge=1.0, le=MAX_TIME_S))
    rebalance_window_s: float = spec_field(1800.0, DURATION)
    signal_priority: bool = spec_field(False, flag)
    priority_lateness_s: float = spec_field(30.0, TIME)
    priority_max_s: float = spec_field(10.0, partial(number, gt=0.0, le=120.0))
    priority_detect_m: float = spec_field(120.0, DISTANCE)
    priority_check_s: float = spec_field(2.0, partial(number, ge=1.0, le=600.0))
    priority_recovery_s: float = spec_field(60.0, partial(number, ge=0.0, le=3600.0))

    @property
    def timing_stops(self) -> tuple[str, ...]:
        """The timing points, defaulting to the first stop."""
        return self.timing_points or self.stops[:1]

    def validate(self, ctx: Context) -> None:
        """Checks across keys: stop lists, the service window, patience and the request table."""
        if len(self.stops) < 2:
            raise ctx.fail("shuttles.stops", "at least 2 stop node ids", list(self.stops))
        known = set(self.stops)
        for i, node in enumerate(self.timing_points):
            if node not in known:
                raise ctx.fail(f"shuttles.timing_points[{i}]", "one of shuttles.stops", node)
        for i, rate in enumerate(self.od):
            for node in (rate.origin, rate.destination):
                if node not in known:
                    raise ctx.fail(f"shuttles.od[{i}]", "origin and destination among shuttles.stops", node)
        if self.service_end_s <= self.service_start_s:
            what = f"a time > shuttles.service_start_s ({self.service_start_s:g})"
            raise ctx.fail("shuttles.service_end_s", what, self.service_end_s)
        if self.patience_s < self.max_wait_s:
            what = f"a patience >= shuttles.max_wait_s ({self.max_wait_s:g})"
            raise ctx.fail("shuttles.patience_s", what, self.patience_s)
        if self.requests is not None:
            if self.od or self.profile:
                given = "shuttles.od" if self.od else "shuttles.profile"
                problem = (
                    "cannot be combined with shuttles.requests (a request table replaces Poisson requests)"
                )
                raise ScenarioError(ctx.source, given, problem)
            read_request_table(self.requests, self.stops, source=ctx.source, key="shuttles.requests")
