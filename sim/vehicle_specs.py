"""The vehicle tables: ``[vehicles]`` (the default type) and ``[vehicle_types.<name>]``.

Frozen dataclasses whose fields carry their defaults and checks
(:func:`sim.schema.spec_field`); :mod:`sim.scenario` loads them and :mod:`sim.tables`
re-exports them with the other tables. :mod:`sim.fleet` turns them into each vehicle's type.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from sim.emissions.classes import (
    DEFAULT_EMISSION_CLASS,
    EMISSION_CLASSES,
    VCLASS_EMISSION_CLASSES,
    class_index,
)
from sim.interop.sumo.vtypes import CLASS_DEFAULTS
from sim.schema import SPEED as _SPEED
from sim.schema import Context as _Context
from sim.schema import choice as _choice
from sim.schema import number as _number
from sim.schema import spec_field as _spec

__all__ = [
    "DEFAULT_VEHICLE_TYPE",
    "SPEED_FACTOR_RANGE",
    "VCLASSES",
    "VehicleSpec",
    "VehicleTypeSpec",
    "vehicle_type_name",
]

_LENGTH = partial(_number, ge=1.0, le=30.0)
_MIN_GAP = partial(_number, ge=0.0, le=20.0)
_ACCEL = partial(_number, gt=0.0, le=10.0)
_DECEL = partial(_number, gt=0.0, le=15.0)
_TAU = partial(_number, gt=0.0, le=5.0)
_SIGMA = partial(_number, ge=0.0, le=1.0)
SPEED_FACTOR_RANGE = (0.2, 2.0)
"""Bounds of every vehicle's own speed factor (SUMO's ``normc(mean, dev, 0.2, 2)``)."""
_SPEED_FACTOR = partial(_number, ge=SPEED_FACTOR_RANGE[0], le=SPEED_FACTOR_RANGE[1])
_SPEED_DEV = partial(_number, ge=0.0, le=1.0)
_EMISSION_CLASS = partial(_choice, choices=EMISSION_CLASSES)


@dataclass(frozen=True)
class VehicleSpec:
    """Parameters of the Krauss safe-speed car-following model (m, s, m/s, m/s²).

    Its length, gap, acceleration, deceleration, reaction time, imperfection and speed factor
    distribution are those of the default vehicle type, SUMO's default passenger car, and of
    every key a ``[vehicle_types.<name>]`` table leaves out (:class:`VehicleTypeSpec`); the
    other keys hold for every vehicle.

    Attributes:
        length_m: Vehicle length.
        min_gap_m: Standstill gap to the leader.
        accel_mps2: Maximum acceleration.
        decel_mps2: Comfortable deceleration.
        tau_s: Driver reaction time.
        turn_speed_mps: Speed at the stop line for turns.
        critical_gap_s: Gap in oncoming traffic that a left-turner accepts.
        sigma: Driver imperfection in [0, 1] (SUMO's default 0.5): random slowing each step.
        emergency_pass_speed_mps: Speed of an emergency vehicle passing the traffic that
            makes way for it.
        emergency_crawl_speed_mps: Speed of an emergency vehicle crossing against a red.
        speed_factor: Mean desired speed as a share of the speed limit (SUMO's ``speedFactor``,
            default 1): a vehicle drives at most its own factor times the limit.
        speed_dev: Deviation of the factor (SUMO's ``speedDev``, default 0.1 as SUMO's
            passenger car): each vehicle draws its own factor from a normal distribution
            around ``speed_factor``, redrawn until it falls in :data:`SPEED_FACTOR_RANGE`
            (SUMO's ``normc(speed_factor, speed_dev, 0.2, 2)``), from the model's seeded
            generator; 0 gives every vehicle ``speed_factor``.
        emission_class: Its emission class for ``[emissions]``, SUMO's name (default
            ``"HBEFA4/PC_petrol_Euro-4"``, SUMO 1.28's default petrol car); one of
            :data:`~sim.emissions.classes.EMISSION_CLASSES` (see docs/emissions.md).

    Ranges (checked at load): length in [1, 30] (a motorcycle to an articulated bus), gap in
    [0, 20], acceleration in (0, 10] and deceleration in (0, 15] (beyond any road vehicle's
    braking), reaction time in (0, 5], critical gap in [0, 20], speeds in (0, 70], speed
    factor in [0.2, 2], its deviation in [0, 1].
    """

    length_m: float = _spec(5.0, _LENGTH)
    min_gap_m: float = _spec(2.5, _MIN_GAP)
    accel_mps2: float = _spec(2.6, _ACCEL)
    decel_mps2: float = _spec(4.5, _DECEL)
    tau_s: float = _spec(1.0, _TAU)
    turn_speed_mps: float = _spec(8.0, _SPEED)
    critical_gap_s: float = _spec(4.5, partial(_number, ge=0.0, le=20.0))
    sigma: float = _spec(0.5, _SIGMA)
    emergency_pass_speed_mps: float = _spec(5.0, _SPEED)
    emergency_crawl_speed_mps: float = _spec(2.0, _SPEED)
    speed_factor: float = _spec(1.0, _SPEED_FACTOR)
    speed_dev: float = _spec(0.1, _SPEED_DEV)
    emission_class: str = _spec(DEFAULT_EMISSION_CLASS, _EMISSION_CLASS)


DEFAULT_VEHICLE_TYPE = "default"
"""The name of the vehicle type of ``[vehicles]``: trips and vehicles that name no type have it."""
VCLASSES = ("passenger", *(name for name in CLASS_DEFAULTS if name != "passenger"))
"""The vehicle classes a ``[vehicle_types.<name>]`` table may name (``vclass``), SUMO's road classes."""
_INHERITED = ("length_m", "min_gap_m", "accel_mps2", "decel_mps2", "tau_s", "sigma", "speed_factor",
              "speed_dev", "emission_class")  # fmt: skip
_CLASS_KEYS = ("length_m", "accel_mps2", "decel_mps2", "max_speed_mps", "speed_dev")


@dataclass(frozen=True)
class VehicleTypeSpec:
    """A vehicle type, ``[vehicle_types.<name>]`` (m, s, m/s, m/s²); trips name it in a ``type`` column.

    A key left out (None) takes the value of the type's vehicle class, else that of
    ``[vehicles]`` (:meth:`resolved`), so a type changes only what it gives. Vehicles that
    name no type have the type of ``[vehicles]`` (:data:`DEFAULT_VEHICLE_TYPE`, no speed cap
    of its own).

    The class (``vclass``, SUMO's ``vClass``) gives the length, acceleration, deceleration,
    speed cap and speed deviation of SUMO's defaults for it (SUMO's "Vehicle Type Parameter
    Defaults" page, the values SUMO 1.28 applies: :data:`sim.interop.sumo.vtypes.CLASS_DEFAULTS`),
    e.g. ``bus`` 12 m, 1.2 and 4.0 m/s², 100 km/h, deviation 0; ``truck`` 7.1 m, 1.3 and 4.0
    m/s², 130 km/h, 0.05; ``motorcycle`` 2.2 m, 6.0 and 10.0 m/s², 0.1. Every class has SUMO's
    2.5 m gap, 1 s reaction time and 0.5 imperfection, so those come from ``[vehicles]``;
    ``passenger`` (the default) is ``[vehicles]`` itself. The classes: :data:`VCLASSES`.

    Attributes:
        vclass: The vehicle class, one of :data:`VCLASSES` (default ``"passenger"``).
        length_m: Vehicle length.
        min_gap_m: Standstill gap to the leader.
        accel_mps2: Maximum acceleration.
        decel_mps2: Comfortable deceleration; followers expect it to brake at it.
        tau_s: Driver reaction time.
        sigma: Driver imperfection in [0, 1].
        max_speed_mps: The vehicle's own speed cap; None: the links' limits only.
        speed_factor: Mean desired speed as a share of the speed limit (as in ``[vehicles]``).
        speed_dev: Deviation of the factor, each vehicle drawing its own (as in ``[vehicles]``).
        emission_class: Its emission class for ``[emissions]`` (as in ``[vehicles]``); None:
            the class's own (:data:`~sim.emissions.classes.VCLASS_EMISSION_CLASSES`: ``bus``
            a diesel Euro-VI urban bus, ``truck`` a 12-14 t diesel truck, ``evehicle`` a
            battery-electric car, ...), else ``[vehicles]``'s.
        share: Share of the trips of a generated demand (and of a trip table without a
            ``type`` column) drawn to be of this type; the default type gets the rest, so the
            shares of all types sum to at most 1. A trip table's ``type`` column wins.

    Ranges (checked at load): those of ``[vehicles]``; the share in [0, 1].
    """

    vclass: str = _spec("passenger", partial(_choice, choices=VCLASSES))
    length_m: float | None = _spec(None, _LENGTH)
    min_gap_m: float | None = _spec(None, _MIN_GAP)
    accel_mps2: float | None = _spec(None, _ACCEL)
    decel_mps2: float | None = _spec(None, _DECEL)
    tau_s: float | None = _spec(None, _TAU)
    sigma: float | None = _spec(None, _SIGMA)
    max_speed_mps: float | None = _spec(None, _SPEED)
    speed_factor: float | None = _spec(None, _SPEED_FACTOR)
    speed_dev: float | None = _spec(None, _SPEED_DEV)
    emission_class: str | None = _spec(None, _EMISSION_CLASS)
    share: float = _spec(0.0, partial(_number, ge=0.0, le=1.0))

    def resolved(self, vehicles: VehicleSpec) -> VehicleTypeSpec:
        """This type with every key it leaves out taken from its class, else from ``vehicles``."""
        inherited = {name: getattr(vehicles, name) for name in _INHERITED} | self.class_defaults()
        return replace(self, **{key: value for key, value in inherited.items() if getattr(self, key) is None})

    def class_defaults(self) -> dict[str, float]:
        """What the type's class gives (nothing for ``passenger``, which is ``[vehicles]``)."""
        if self.vclass == "passenger":
            return {}
        emission = VCLASS_EMISSION_CLASSES.get(self.vclass)
        return dict(zip(_CLASS_KEYS, CLASS_DEFAULTS[self.vclass], strict=True)) | (
            {"emission_class": emission} if emission else {}
        )

    @property
    def emission_index(self) -> int:
        """Its emission class's row in :func:`~sim.emissions.classes.class_table` (resolved types only)."""
        return class_index(self.emission_class or DEFAULT_EMISSION_CLASS)


def vehicle_type_name(ctx: _Context, key: str, name: str) -> str:
    """A name of ``[vehicle_types.<name>]``: no white space (trip tables name it), not ``"default"``."""
    if not name or any(char.isspace() for char in name) or name == DEFAULT_VEHICLE_TYPE:
        what = f"a type name without white space, other than {DEFAULT_VEHICLE_TYPE!r} (the [vehicles] type)"
        raise ctx.fail(key, what, name)
    return name
