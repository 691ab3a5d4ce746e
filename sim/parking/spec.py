"""The ``[parking]`` scenario table: parking supply, background parkers, sensors and searchers.

Every key has a default, so ``[parking]`` alone adds parking search to a scenario. Streets
and garages are generated from ``spaces_per_m`` and ``garage_share`` unless the scenario
lists them in ``streets`` / ``garages`` (arrays of tables)::

    [[parking.streets]]
    from_node = "n1_1"
    to_node = "n2_1"
    spaces = 12
    max_stay_s = 3600.0   # optional, default parking.max_stay_s
    occupied = 10         # optional initial count, default drawn at parking.occupancy

    [[parking.garages]]
    node = "n2_2"
    capacity = 150
    entry_rate_vph = 600.0  # optional, default parking.garage_entry_rate_vph
    occupied = 100          # optional, default drawn at parking.garage_occupancy
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from sim.schema import COUNT, NON_NEGATIVE, POSITIVE, Context, integer, number, spec_field, text

__all__ = ["GarageSpec", "Spec", "StreetSpec"]

_SHARE = partial(number, ge=0.0, le=1.0)


@dataclass(frozen=True)
class StreetSpec:
    """On-street parking along one directed link (its right kerb).

    Attributes:
        from_node, to_node: The link's end nodes.
        spaces: Number of spaces (>= 1).
        max_stay_s: Longest allowed stay (s); None means ``parking.max_stay_s``.
        occupied: Spaces taken at the start; None means drawn at ``parking.occupancy``.
    """

    from_node: str
    to_node: str
    spaces: int
    max_stay_s: float | None = None
    occupied: int | None = None


@dataclass(frozen=True)
class GarageSpec:
    """An off-street garage entered at a node.

    Attributes:
        node: The node where its entrance is.
        capacity: Number of spaces (>= 1).
        entry_rate_vph: Vehicles its gate admits per hour; None means
            ``parking.garage_entry_rate_vph``.
        occupied: Spaces taken at the start; None means drawn at ``parking.garage_occupancy``.
    """

    node: str
    capacity: int
    entry_rate_vph: float | None = None
    occupied: int | None = None


def _flag(ctx: Context, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ctx.fail(key, "true or false", value)
    return value


def _items(ctx: Context, key: str, value: Any, fields: Mapping[str, tuple[bool, Any]]) -> list[dict]:
    """Check a list of tables whose keys are ``fields`` (name -> (required, check))."""
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, "a list of tables", value)
    out = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise ctx.fail(where, "a table", item)
        for name in item:
            if name not in fields:
                raise ctx.unknown(f"{where}.{name}", f"allowed keys: {', '.join(fields)}")
        values = {}
        for name, (required, check) in fields.items():
            raw = item.get(name)
            if raw is None and required:
                raise ctx.missing(f"{where}.{name}", f" in {where}")
            values[name] = None if raw is None else check(ctx, f"{where}.{name}", raw)
        out.append(values)
    return out


_NODE = partial(text, nonempty=True)
_COUNT0 = partial(integer, ge=0)


def _streets(ctx: Context, key: str, value: Any) -> tuple[StreetSpec, ...]:
    fields = {
        "from_node": (True, _NODE),
        "to_node": (True, _NODE),
        "spaces": (True, COUNT),
        "max_stay_s": (False, POSITIVE),
        "occupied": (False, _COUNT0),
    }
    streets = tuple(StreetSpec(**item) for item in _items(ctx, key, value, fields))
    seen: set[tuple[str, str]] = set()
    for index, street in enumerate(streets):
        link = (street.from_node, street.to_node)
        if link in seen:
            raise ctx.fail(f"{key}[{index}]", "each link listed once", f"{link[0]}->{link[1]}")
        seen.add(link)
        if street.occupied is not None and street.occupied > street.spaces:
            raise ctx.fail(f"{key}[{index}].occupied", f"at most spaces ({street.spaces})", street.occupied)
    return streets


def _garages(ctx: Context, key: str, value: Any) -> tuple[GarageSpec, ...]:
    fields = {
        "node": (True, _NODE),
        "capacity": (True, COUNT),
        "entry_rate_vph": (False, POSITIVE),
        "occupied": (False, _COUNT0),
    }
    garages = tuple(GarageSpec(**item) for item in _items(ctx, key, value, fields))
    seen: set[str] = set()
    for index, garage in enumerate(garages):
        if garage.node in seen:
            raise ctx.fail(f"{key}[{index}].node", "one garage per node", garage.node)
        seen.add(garage.node)
        if garage.occupied is not None and garage.occupied > garage.capacity:
            raise ctx.fail(
                f"{key}[{index}].occupied", f"at most capacity ({garage.capacity})", garage.occupied
            )
    return garages


@dataclass(frozen=True)
class Spec:
    """Parking search: supply, background parkers, sensors and the drivers who park.

    Attributes:
        trips_vph: Parking trips per hour (Poisson), generated by this feature on top of
            the scenario's demand: from a random fringe node to a random destination.
        duration_s: Parking trips depart in [0, duration_s).
        area_radius_m: Destinations are intersections within this distance of the
            network's centre (0: every intersection).
        guided_share: Share of parking drivers guided by the information service; the
            others cruise.
        stay_mean_s: Mean stay of a parking driver (exponential).
        return_trips: Parked drivers drive back to their origin after their stay.
        spaces_per_m: Generated on-street spaces per metre of kerb, on every link between
            two intersections (one kerb per directed link); ignored if ``streets`` is given.
        max_stay_s: Longest allowed on-street stay; drivers who plan to stay longer use garages.
        garage_share: Share of intersections given a garage; ignored if ``garages`` is given.
        garage_capacity: Spaces of a generated garage.
        garage_entry_rate_vph: Vehicles a garage gate admits per hour.
        streets: Listed on-street parking (replaces the generated streets).
        garages: Listed garages (replaces the generated garages).
        occupancy: Target occupancy of on-street parking in [0, 1]: the initial state and
            the level background parkers hold.
        garage_occupancy: The same for garages.
        background: Whether background parkers (not simulated trips) arrive and leave.
        background_stay_s: Mean stay of a background parker (exponential, capped at the
            facility's maximum stay).
        background_step_s: Interval of background arrivals and departures, and of the
            departures of parked drivers (s).
        search_radius_m: Walking distance a driver accepts when its search starts (on
            reaching its destination node).
        widen_mps: The accepted walking distance grows by this much per second of search.
        give_up_s: A driver still searching after this long leaves the area.
        garage_cost_s: The garage fee as a time equivalent: added to a garage's cost in
            guidance; a cruiser takes a garage it passes once it has searched this long.
        walk_speed_mps: Walking speed.
        walk_weight: Weight of walking time against driving time in guidance.
        sensor_interval_s: Time between sensor readings; 0 means a reading at every
            change of occupancy.
        sensor_error: Miscount probability: each space of a reading is reported in the
            wrong state with this probability.
        sensor_latency_s: Delay from a reading to its arrival at the information service.
        sensor_failure: Probability that a sensor fails (stops reporting) at a uniform
            time during the run.
        record_interval_s: Interval of the occupancy and searching records.
    """

    trips_vph: float = spec_field(300.0, NON_NEGATIVE)
    duration_s: float = spec_field(3600.0, POSITIVE)
    area_radius_m: float = spec_field(0.0, NON_NEGATIVE)
    guided_share: float = spec_field(0.0, _SHARE)
    stay_mean_s: float = spec_field(3600.0, POSITIVE)
    return_trips: bool = spec_field(False, _flag)
    spaces_per_m: float = spec_field(0.1, NON_NEGATIVE)
    max_stay_s: float = spec_field(7200.0, POSITIVE)
    garage_share: float = spec_field(0.0, _SHARE)
    garage_capacity: int = spec_field(200, COUNT)
    garage_entry_rate_vph: float = spec_field(600.0, POSITIVE)
    streets: tuple[StreetSpec, ...] = spec_field((), _streets)
    garages: tuple[GarageSpec, ...] = spec_field((), _garages)
    occupancy: float = spec_field(0.9, _SHARE)
    garage_occupancy: float = spec_field(0.7, _SHARE)
    background: bool = spec_field(True, _flag)
    background_stay_s: float = spec_field(1800.0, POSITIVE)
    background_step_s: float = spec_field(10.0, POSITIVE)
    search_radius_m: float = spec_field(250.0, POSITIVE)
    widen_mps: float = spec_field(0.5, NON_NEGATIVE)
    give_up_s: float = spec_field(1200.0, POSITIVE)
    garage_cost_s: float = spec_field(300.0, NON_NEGATIVE)
    walk_speed_mps: float = spec_field(1.3, POSITIVE)
    walk_weight: float = spec_field(2.0, NON_NEGATIVE)
    sensor_interval_s: float = spec_field(0.0, NON_NEGATIVE)
    sensor_error: float = spec_field(0.0, _SHARE)
    sensor_latency_s: float = spec_field(0.0, NON_NEGATIVE)
    sensor_failure: float = spec_field(0.0, _SHARE)
    record_interval_s: float = spec_field(60.0, POSITIVE)
