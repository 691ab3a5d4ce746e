"""The scenario's tables as frozen dataclasses: network, demand, signals, simulation, vehicles, vehicle types.

Each table's fields carry their defaults and checks (:func:`sim.schema.spec_field`); the
type-dependent ``[network]`` and ``[demand]`` keys and the top-level keys are the schemas
``NETWORK``, ``DEMAND`` and ``TOP``. :mod:`sim.scenario` loads a file into them. Also here:
the limit on the trips one demand may create and its checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

from sim.control.registry import (
    ControllerRegistryError,
    controller_class,
    controller_names,
    is_controller_path,
)
from sim.network.builders import COMPASS_LEGS, LATTICE_JUNCTIONS
from sim.network.graph import TRAFFIC_LIGHT
from sim.network.phasing import LEFT_PHASES, LEFT_TURNS, LeftTurnPhasing
from sim.schema import DURATION as _DURATION
from sim.schema import MAX_DISTANCE_M as _MAX_DISTANCE_M
from sim.schema import (
    MAX_GREEN_S,
    MAX_MULTIPLIER,
    MAX_TIME_S,
    ScenarioError,
    Schema,
)
from sim.schema import (
    REQUIRED as _REQUIRED,
)
from sim.schema import SPEED as _SPEED
from sim.schema import Context as _Context
from sim.schema import choice as _choice
from sim.schema import integer as _integer
from sim.schema import number as _number
from sim.schema import path as _path
from sim.schema import paths as _paths
from sim.schema import profile as _profile
from sim.schema import spec_field as _spec
from sim.schema import text as _text
from sim.traffic.codes import HCM_GAPS_S
from sim.vehicle_specs import (
    DEFAULT_VEHICLE_TYPE,
    SPEED_FACTOR_RANGE,
    VCLASSES,
    VehicleSpec,
    VehicleTypeSpec,
    vehicle_type_name,
)

__all__ = [
    "DEMAND",
    "MAX_GRID_SIDE",
    "MAX_TRIPS",
    "MOVED_SIGNAL_KEYS",
    "NETWORK",
    "TOP",
    "DemandSpec",
    "ImportedSpec",
    "NetworkSpec",
    "SignalSpec",
    "RightOfWaySpec",
    "SimulationSpec",
    "DEFAULT_VEHICLE_TYPE",
    "SPEED_FACTOR_RANGE",
    "VCLASSES",
    "VehicleSpec",
    "VehicleTypeSpec",
    "check_demand_size",
    "check_trip_count",
    "vehicle_type_name",
]


def _controller(ctx: _Context, key: str, value: Any) -> str:
    """A controller name from the registry as it is now (see ``register_controller``).

    Or the ``"package.module:Class"`` path of a controller class, imported and registered here.
    """
    if is_controller_path(value):
        try:
            controller_class(value)
        except ControllerRegistryError as error:
            raise ScenarioError(ctx.source, key, str(error)) from None
        return value
    return _choice(ctx, key, value, choices=controller_names())


MAX_TRIPS = 2_000_000
"""Most trips one demand may create. A trip costs about 1 kB across the kernel's vehicle
arrays, the trip table, the router's routes and the per-trip results, so a run stays within
a few GB; a 20x20 grid loaded at 20,000 veh/h for an hour has 20,000 trips, 1% of the cap."""


def check_trip_count(source: str, key: str, expected: float, estimate: str) -> None:
    """Refuse a demand that is expected to create no trip, or more than :data:`MAX_TRIPS`.

    Called before any trip is drawn or read, so a demand too large for memory fails at once.

    Args:
        source: The scenario file named in the error.
        key: The dotted key that sets the demand.
        expected: The expected number of trips.
        estimate: How ``expected`` was computed, with its numbers, quoted in the error.

    Raises:
        ScenarioError: If ``expected`` is 0 or above :data:`MAX_TRIPS`.
    """
    if expected <= 0.0:
        raise ScenarioError(source, key, f"the demand creates no trips ({estimate} = 0)")
    if expected > MAX_TRIPS:
        raise ScenarioError(
            source,
            key,
            f"the demand would create about {expected:,.0f} trips ({estimate}), more than the "
            f"{MAX_TRIPS:,} a run can hold in memory; lower the rate, duration or scale",
        )


def check_demand_size(source: str, spec: DemandSpec, rate_vph: float, rate_key: str) -> None:
    """Refuse a uniform or matrix demand expected to create no trip, or more than :data:`MAX_TRIPS`.

    Args:
        source: The scenario file named in the error.
        spec: The demand spec (its scale, duration and profile).
        rate_vph: The total rate of its streams (veh/h), before scale and profile.
        rate_key: The key that sets that rate (``demand.rate_vph`` or ``demand.matrix``); an
            all-zero profile is blamed on ``demand.profile``.

    Raises:
        ScenarioError: Naming the key, with the estimate and its numbers.
    """
    hours = spec.expected_trips(1.0) / spec.scale
    key = "demand.profile" if spec.profile and hours == 0.0 else rate_key
    estimate = f"{rate_vph:g} veh/h x scale {spec.scale:g} x {hours:g} h of profile-weighted duration"
    check_trip_count(source, key, spec.expected_trips(rate_vph), estimate)


def _offset(ctx: _Context, key: str, value: Any) -> float | str:
    if value == "green_wave":
        return value
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ctx.fail(key, "a number of seconds or 'green_wave'", value)
    return _number(ctx, key, value, ge=-MAX_TIME_S, le=MAX_TIME_S)


@dataclass(frozen=True)
class NetworkSpec:
    """The road network to build (``"grid"``, ``"arterial"``, ``"ring"``, ``"roundabout"``) or load.

    Attributes:
        type: The network type (``"file"`` to load one).
        params: ``(name, value)`` pairs named as the keyword arguments of the builder of the same
            name in :mod:`sim.network.builders`; type ``"file"`` has one ``path``, an absolute Path.
    """

    type: str
    params: tuple[tuple[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        """Return the parameters as a new dict, e.g. for ``builders.grid(**spec.kwargs())``."""
        return dict(self.params)


@dataclass(frozen=True)
class DemandSpec:
    """Where departures come from; fields that do not apply to ``type`` keep these defaults.

    Attributes:
        type: ``"uniform"`` (every fringe node to every other one), ``"matrix"`` or ``"trips"``.
        rate_vph: Total departures per hour, before ``scale`` and ``profile`` (uniform).
        duration_s: Departures fall in [0, duration_s) (uniform, matrix).
        scale: Multiplies every rate; 1.0 for trips.
        profile: Piecewise-constant ``(start_s, multiplier)`` pieces, the first at 0, each lasting
            until the next one or ``duration_s``; empty means a multiplier of 1 throughout.
        matrix: CSV ``origin,destination,rate_vph`` (matrix).
        trips: CSV ``id,depart_s,origin,destination[,route]`` (trips).
    """

    type: str
    rate_vph: float | None = None
    duration_s: float | None = None
    scale: float = 1.0
    profile: tuple[tuple[float, float], ...] = ()
    matrix: Path | None = None
    trips: Path | None = None

    def pieces(self) -> tuple[tuple[float, float, float], ...]:
        """The profile as ``(start_s, end_s, multiplier)`` pieces covering [0, duration_s)."""
        duration_s = self.duration_s or 0.0
        profile = self.profile or ((0.0, 1.0),)
        ends_s = [start_s for start_s, _ in profile[1:]] + [duration_s]
        return tuple(
            (start_s, end_s, multiplier) for (start_s, multiplier), end_s in zip(profile, ends_s, strict=True)
        )

    def expected_trips(self, rate_vph: float) -> float:
        """Expected departures of one stream at ``rate_vph`` (veh/h), through the scale and profile."""
        hours = sum((end_s - start_s) * multiplier for start_s, end_s, multiplier in self.pieces()) / 3600.0
        return rate_vph * self.scale * hours


@dataclass(frozen=True)
class SignalSpec:
    """Signal control of every signalized intersection (times in s).

    The keys of ``[signals]`` are shared by every controller; a controller's own settings
    are in its table ``[signals.<controller>]`` (e.g. ``[signals.max_pressure]
    decision_interval_s = 10``), declared by its class's ``settings_class``.

    Attributes:
        controller: A name in the controller registry (``sim.control.registry.controller_names()``:
            the built-in controllers and any added with ``register_controller``).
        timing: ``"fixed"`` (``green_s`` per phase, >= ``min_green_s``), ``"webster"`` (green
            split from flows, ``lost_time_s`` per phase and ``saturation_flow_vphpl``, each signal
            its own cycle) or ``"coordinated"`` (one common cycle, the critical intersection's
            Webster cycle clipped to [40, 150] s, Webster splits on it and offsets for two-way
            progression; ``offset_s`` unused; nodes with their own ``signal_plan`` keep its phases
            and intergreens but run the common cycle).
        plan_file: A signal plan file (TOML, as ``citysim tune`` writes): per signalized node its
            cycle, greens, offset and optionally minimum and maximum greens, replacing the timing
            above at the nodes it lists. Checked when the scenario loads and against the network.
        left_turns: How the plans derived from geometry serve left turns: ``"permitted"``
            (two phases, left turns give way to oncoming traffic), ``"protected"`` (each axis
            gets a left-turn phase for the left turns that have lanes of their own; the others
            stay permitted) or ``"permitted_protected"`` (that phase, and permitted in the
            through phase too). Nodes with their own ``signal_plan`` keep it.
        left_phase: ``"leading"`` (a left-turn phase before its axis' through phase) or
            ``"lagging"`` (after it).
        offset_s: Cycle offset of every signal, or ``"green_wave"``: offsets from distance / speed
            along x, for an east-west corridor.
        observation_horizon_m: Moving vehicles this close to the stop line count as
            approaching in controllers' observations (m); also the detector zone of
            ``actuated`` and the platoon distance of ``sotl``.
        settings: ``(name, settings)`` of ``controller`` and of every other controller with a
            table in the scenario (so that ``compare`` can switch controllers), in registry order.

    Ranges (checked at load): ``green_s`` in (0, 10^6] (a green longer than any run is a
    signal that never switches; see :data:`sim.schema.MAX_GREEN_S`), yellow in [2, 10] (the
    ITE range is 3-6 s; below 2 s no driver can stop, above 10 s drivers stop treating it as
    yellow), all-red in [0, 10], minimum green in [0, 60], lost time in [0, 20], saturation
    flow in [300, 3600] veh/h/lane (3600 is a 1 s headway), offsets within +-3 days,
    horizons up to 2 km.
    """

    controller: str = _spec("fixed_time", _controller)
    timing: str = _spec("fixed", partial(_choice, choices=("fixed", "webster", "coordinated")))
    left_turns: str = _spec(LEFT_TURNS[0], partial(_choice, choices=LEFT_TURNS))
    left_phase: str = _spec(LEFT_PHASES[0], partial(_choice, choices=LEFT_PHASES))
    green_s: float = _spec(30.0, partial(_number, gt=0.0, le=MAX_GREEN_S))
    yellow_s: float = _spec(3.0, partial(_number, ge=2.0, le=10.0))
    all_red_s: float = _spec(0.0, partial(_number, ge=0.0, le=10.0))
    min_green_s: float = _spec(5.0, partial(_number, ge=0.0, le=60.0))
    offset_s: float | str = _spec(0.0, _offset)
    lost_time_s: float = _spec(4.0, partial(_number, ge=0.0, le=20.0))
    saturation_flow_vphpl: float = _spec(1900.0, partial(_number, ge=300.0, le=3600.0))
    observation_horizon_m: float = _spec(100.0, partial(_number, gt=0.0, le=2000.0))
    plan_file: Path | None = _spec(None, partial(_path, suffixes=(".toml",)))
    settings: tuple[tuple[str, Any], ...] = ()

    def settings_of(self, name: str) -> Any:
        """The settings of controller ``name`` (a table of the scenario, or ``controller``'s).

        Raises:
            KeyError: If the scenario has no settings for ``name``.
        """
        return dict(self.settings)[name]

    def phasing(self) -> LeftTurnPhasing:
        """How the plans derived from geometry serve left turns (``left_turns``, ``left_phase``)."""
        return LeftTurnPhasing(self.left_turns, self.left_phase)

    def tables(self) -> dict[str, Any]:
        """The shared keys (not an absent plan file) and one table per controller's settings, as in a file."""
        shared = {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if item.name != "settings" and getattr(self, item.name) is not None
        }
        return shared | {name: asdict(settings) for name, settings in self.settings}


MOVED_SIGNAL_KEYS: Mapping[str, str] = {
    "max_green_s": "signals.actuated.max_green_s",
    "passage_time_s": "signals.actuated.passage_time_s",
    "decision_interval_s": "signals.max_pressure.decision_interval_s or signals.learned.decision_interval_s",
    "sotl_threshold_veh_s": "signals.sotl.threshold_veh_s",
    "sotl_platoon_veh": "signals.sotl.platoon_veh",
    "policy": "signals.learned.policy",
}
"""Keys that left ``[signals]`` for a controller's own table, and where they are now."""


@dataclass(frozen=True)
class SimulationSpec:
    """Clock and stopping rules (times in s).

    Attributes:
        dt_s: Time step, in (0.01, 2]: longer steps break car following at urban speeds,
            shorter ones gain nothing and multiply the steps of a run.
        max_time_s: Hard cap, at most 3 days; a run stops earlier once every trip has arrived.
        report_interval_s: Interval of the aggregated reports, in [1, 10^7]: one longer than
            the run reports once, at its end (verification runs use that).
        gridlock_s: A lane blocked by spillback this long is reported as gridlock, in [10, 3 days].
    """

    dt_s: float = _spec(1.0, partial(_number, gt=0.01, le=2.0))
    max_time_s: float = _spec(7200.0, _DURATION)
    report_interval_s: float = _spec(60.0, partial(_number, ge=1.0, le=10 * MAX_GREEN_S))
    gridlock_s: float = _spec(300.0, partial(_number, ge=10.0, le=MAX_TIME_S))


_GAP_S = partial(_number, ge=0.0, le=20.0)


@dataclass(frozen=True)
class RightOfWaySpec:
    """Gap acceptance at unsignalized junctions, ``[right_of_way]`` (s).

    For each class of movement that gives way (:data:`sim.traffic.codes.GAP_CLASSES`), its
    critical gap ``<class>_gap_s`` (the shortest time to the next conflicting vehicle a driver
    accepts) and follow-up time ``<class>_follow_up_s`` (the shortest time between two
    vehicles of one lane entering): a left turn from the major road; a minor road's right,
    through and left movement at a ``priority`` or ``right_before_left`` junction, and behind a
    ``stop`` sign; an entry into a roundabout. Defaults: the HCM 2010's
    (:data:`sim.traffic.codes.HCM_GAPS_S`). Each value in [0, 20].

    A permitted left turn at a signal takes ``[vehicles] critical_gap_s`` (4.5 s) and
    ``signal_left_follow_up_s`` (2.5 s, both the HCM 2010's for permitted lefts, ch. 31), and up
    to ``left_wait_vehicles`` (0-2, default 2, within what the junction's size holds: one, two
    where the widest leg has six lanes or more) of them wait inside the junction for a gap and
    clear when the signal ends.
    """

    major_left_gap_s: float = _spec(HCM_GAPS_S["major_left"][0], _GAP_S)
    major_left_follow_up_s: float = _spec(HCM_GAPS_S["major_left"][1], _GAP_S)
    minor_right_gap_s: float = _spec(HCM_GAPS_S["minor_right"][0], _GAP_S)
    minor_right_follow_up_s: float = _spec(HCM_GAPS_S["minor_right"][1], _GAP_S)
    minor_through_gap_s: float = _spec(HCM_GAPS_S["minor_through"][0], _GAP_S)
    minor_through_follow_up_s: float = _spec(HCM_GAPS_S["minor_through"][1], _GAP_S)
    minor_left_gap_s: float = _spec(HCM_GAPS_S["minor_left"][0], _GAP_S)
    minor_left_follow_up_s: float = _spec(HCM_GAPS_S["minor_left"][1], _GAP_S)
    stop_right_gap_s: float = _spec(HCM_GAPS_S["stop_right"][0], _GAP_S)
    stop_right_follow_up_s: float = _spec(HCM_GAPS_S["stop_right"][1], _GAP_S)
    stop_through_gap_s: float = _spec(HCM_GAPS_S["stop_through"][0], _GAP_S)
    stop_through_follow_up_s: float = _spec(HCM_GAPS_S["stop_through"][1], _GAP_S)
    stop_left_gap_s: float = _spec(HCM_GAPS_S["stop_left"][0], _GAP_S)
    stop_left_follow_up_s: float = _spec(HCM_GAPS_S["stop_left"][1], _GAP_S)
    roundabout_entry_gap_s: float = _spec(HCM_GAPS_S["roundabout_entry"][0], _GAP_S)
    roundabout_entry_follow_up_s: float = _spec(HCM_GAPS_S["roundabout_entry"][1], _GAP_S)
    signal_left_follow_up_s: float = _spec(2.5, _GAP_S)
    left_wait_vehicles: int = _spec(2, partial(_integer, ge=0, le=2))

    def gaps_s(self) -> dict[str, tuple[float, float]]:
        """``{class: (critical gap, follow-up time)}`` for the kernel."""
        return {
            name: (getattr(self, f"{name}_gap_s"), getattr(self, f"{name}_follow_up_s"))
            for name in HCM_GAPS_S
        }


_BLOCK = partial(_number, ge=10.0, le=5000.0)
_LANES = partial(_integer, ge=1, le=8)
_RADIUS = partial(_number, ge=5.0, le=100.0)
_JUNCTION_KEYS: Schema = {
    "junction": (TRAFFIC_LIGHT, partial(_choice, choices=LATTICE_JUNCTIONS)),
    "roundabout_radius_m": (15.0, _RADIUS),
    "roundabout_speed_mps": (8.33, _SPEED),
    "left_bay_m": (0.0, partial(_number, ge=0.0, le=5000.0)),
    "left_bay_lanes": (1, partial(_integer, ge=1, le=4)),
}
MAX_GRID_SIDE = 200
"""Most intersections along one side of a grid (and along an arterial): a 200x200 grid has
40,000 intersections, more than any city's signalized network."""
_RATES: Schema = {
    "duration_s": (3600.0, _DURATION),
    "scale": (1.0, partial(_number, gt=0.0, le=MAX_MULTIPLIER)),
    "profile": ((), _profile),
}
TOP: Schema = {
    "name": (_REQUIRED, partial(_text, nonempty=True)),
    "description": ("", _text),
    "seed": (42, partial(_integer, ge=0, le=2**63 - 1)),
}
NETWORK: Mapping[str, Schema] = {
    "grid": {
        "rows": (_REQUIRED, partial(_integer, ge=1, le=MAX_GRID_SIDE)),
        "cols": (_REQUIRED, partial(_integer, ge=1, le=MAX_GRID_SIDE)),
        "block_m": (200.0, _BLOCK),
        "lanes": (1, _LANES),
        "speed_mps": (13.89, _SPEED),
        **_JUNCTION_KEYS,
    },
    "arterial": {
        "n_intersections": (_REQUIRED, partial(_integer, ge=1, le=MAX_GRID_SIDE)),
        "block_m": (200.0, _BLOCK),
        "side_street_m": (200.0, _BLOCK),
        "lanes_main": (2, _LANES),
        "lanes_side": (1, _LANES),
        "speed_main_mps": (13.89, _SPEED),
        "speed_side_mps": (11.11, _SPEED),
        **_JUNCTION_KEYS,
    },
    "ring": {
        "n_nodes": (_REQUIRED, partial(_integer, ge=3, le=MAX_GRID_SIDE * 4)),
        "radius_m": (500.0, partial(_number, ge=10.0, le=_MAX_DISTANCE_M)),
        "lanes": (1, _LANES),
        "speed_mps": (13.89, _SPEED),
    },
    "roundabout": {
        "n_legs": (4, partial(_integer, ge=3, le=COMPASS_LEGS)),
        "radius_m": (15.0, _RADIUS),
        "leg_m": (200.0, _BLOCK),
        "lanes": (1, _LANES),
        "speed_mps": (13.89, _SPEED),
        "ring_speed_mps": (8.33, _SPEED),
    },
    "file": {"path": (_REQUIRED, partial(_path, suffixes=(".json", ".graphml")))},
}
"""Network keys: blocks in [10, 5000] m (two car lengths to 5 km), 1-8 lanes per direction,
speeds in (0, 70] m/s, at most :data:`MAX_GRID_SIDE` intersections a side (a ring: 4 times that).
``junction`` (grid and arterial) controls every intersection: ``"traffic_light"`` (default),
``"priority"`` and ``"stop"`` (the east-west roads, the arterial's corridor, are the major
ones), ``"allway_stop"``, ``"right_before_left"`` or ``"roundabout"`` (each intersection a
one-lane roundabout of ``roundabout_radius_m``, 5-100 m, less than half a block, its ring at
``roundabout_speed_mps``). Type ``"roundabout"`` is one roundabout with ``n_legs`` (3-8) legs
``leg_m`` long ending at fringe nodes (see :func:`sim.network.builders.roundabout`).
``left_bay_m`` (grid and arterial; 0, the default, for none) adds a left-turn bay of that
length with ``left_bay_lanes`` (1-4) lanes on every approach to an intersection
(:mod:`sim.network.bays`)."""
DEMAND: Mapping[str, Schema] = {
    "uniform": {"rate_vph": (1000.0, partial(_number, gt=0.0, le=1_000_000.0)), **_RATES},
    "matrix": {"matrix": (_REQUIRED, _path), **_RATES},
    "trips": {"trips": (_REQUIRED, _path), "scale": (1.0, partial(_number, gt=0.0, le=MAX_MULTIPLIER))},
}
"""Demand keys: rates up to 10^6 veh/h, durations up to 3 days, scale in (0, 100]; the trips
a demand creates are further capped by :data:`MAX_TRIPS`."""


IMPORT_FORMATS = ("sumo", "osm")
"""Formats ``citysim import`` reads, as ``imported.format`` names them."""


@dataclass(frozen=True)
class ImportedSpec:
    """``[imported]``: the files an imported scenario's network and demand came from.

    ``citysim import`` writes it; ``citysim validate --against sumo`` runs SUMO on the
    original network (``format = "sumo"``) instead of a re-export of the imported one.

    Attributes:
        format: ``"sumo"`` or ``"osm"``.
        net: The original network file (``.net.xml[.gz]``, ``.osm.pbf``, ...).
        routes: The original SUMO route files the trips were read from (may be empty).
        additional: SUMO additional files whose traffic-light programs were imported (SUMO
            loads them after the net's, as a ``.sumocfg``'s ``additional-files``).
        vclass: The SUMO vehicle class whose lanes were imported.
    """

    format: str = _spec(_REQUIRED, partial(_choice, choices=IMPORT_FORMATS))
    net: Path = _spec(_REQUIRED, _path)
    routes: tuple[Path, ...] = _spec((), _paths)
    additional: tuple[Path, ...] = _spec((), _paths)
    vclass: str = _spec("passenger", partial(_text, nonempty=True))
