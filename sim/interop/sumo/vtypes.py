"""SUMO vehicle types (``<vType>``) as citysim ``[vehicle_types]`` tables.

An attribute a ``<vType>`` leaves out takes SUMO's default for its vehicle class, as SUMO
1.28 reports it (``traci.vehicletype``): every class has ``minGap`` 2.5 m, ``sigma`` 0.5 and
``tau`` 1 s, and the length, acceleration, deceleration, maximum speed and speed deviation of
:data:`CLASS_DEFAULTS` (classes not listed there take the ``passenger`` values).
``speedFactor`` may be a number or a distribution ``norm(mean, dev)`` /
``normc(mean, dev, min, max)``: its mean is the speed factor and its deviation the speed
deviation, unless ``speedDev`` gives one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sim.schema import MAX_SPEED_MPS

__all__ = ["BUILTIN_TYPES", "CLASS_DEFAULTS", "DEFAULT_VTYPE", "ROAD_CLASSES", "VehicleType", "vehicle_type"]

DEFAULT_VTYPE = "DEFAULT_VEHTYPE"
"""The type of a vehicle that names none (unless a file redefines it)."""
BUILTIN_TYPES: Mapping[str, str] = {
    DEFAULT_VTYPE: "passenger",
    "DEFAULT_TAXITYPE": "taxi",
    "DEFAULT_BIKETYPE": "bicycle",
    "DEFAULT_PEDTYPE": "pedestrian",
    "DEFAULT_RAILTYPE": "rail",
    "DEFAULT_CONTAINERTYPE": "ignoring",
}
"""SUMO's predefined type ids and their vehicle classes."""
CLASS_DEFAULTS: Mapping[str, tuple[float, float, float, float, float]] = {
    "passenger": (5.0, 2.6, 4.5, 200 / 3.6, 0.1),
    "private": (5.0, 2.6, 4.5, 200 / 3.6, 0.1),
    "evehicle": (5.0, 2.6, 4.5, 200 / 3.6, 0.1),
    "taxi": (5.0, 2.6, 4.5, 200 / 3.6, 0.05),
    "delivery": (6.5, 2.6, 4.5, 200 / 3.6, 0.05),
    "emergency": (6.5, 2.6, 4.5, 200 / 3.6, 0.0),
    "truck": (7.1, 1.3, 4.0, 130 / 3.6, 0.05),
    "trailer": (16.5, 1.1, 4.0, 130 / 3.6, 0.05),
    "bus": (12.0, 1.2, 4.0, 100 / 3.6, 0.0),
    "coach": (14.0, 2.0, 4.0, 100 / 3.6, 0.05),
    "motorcycle": (2.2, 6.0, 10.0, 200 / 3.6, 0.1),
}
"""Per vehicle class: SUMO 1.28's default length (m), accel and decel (m/s²), maxSpeed (m/s), speedDev."""
ROAD_CLASSES = frozenset(
    {
        "passenger", "private", "evehicle", "taxi", "delivery", "emergency", "truck", "trailer", "bus",
        "coach", "motorcycle", "moped", "army", "authority", "vip", "hov", "custom1", "custom2",
    }
)  # fmt: skip
"""SUMO's motor-vehicle road classes: importing one of them brings the others' vehicles along
(trucks and buses drive the imported lanes with their own vType); other classes (bicycles,
pedestrians, rail, ships) are skipped."""
_MIN_GAP_M, _SIGMA, _TAU_S, _SPEED_FACTOR = 2.5, 0.5, 1.0, 1.0
_NORMAL = re.compile(r"^\s*normc?\(\s*([^,()]+)\s*,\s*([^,()]+)\s*(?:,[^()]*)?\)\s*$")


@dataclass(frozen=True)
class VehicleType:
    """A SUMO vehicle type with SUMO's defaults filled in (m, s, m/s, m/s²).

    Attributes:
        vclass: Its SUMO vehicle class.
        length_m, min_gap_m, accel_mps2, decel_mps2, tau_s, sigma, max_speed_mps, speed_factor,
            speed_dev: As the keys of a ``[vehicle_types.<name>]`` table; ``max_speed_mps`` is
            capped at :data:`sim.schema.MAX_SPEED_MPS` (a higher cap binds on no road).
    """

    vclass: str
    length_m: float
    min_gap_m: float
    accel_mps2: float
    decel_mps2: float
    tau_s: float
    sigma: float
    max_speed_mps: float
    speed_factor: float
    speed_dev: float

    def table(self) -> dict[str, float]:
        """The ``[vehicle_types.<name>]`` table of this type (every key but the class)."""
        values = asdict(self)
        del values["vclass"]
        return values


def vehicle_type(attrs: Mapping[str, str]) -> VehicleType:
    """The type a ``<vType>``'s attributes define, with SUMO's defaults for its class.

    Raises:
        ValueError: Naming the attribute, if a number cannot be read or is not finite.
    """
    vclass = attrs.get("vClass", "passenger")
    length, accel, decel, max_speed, dev = CLASS_DEFAULTS.get(vclass, CLASS_DEFAULTS["passenger"])
    factor = _SPEED_FACTOR
    if "speedFactor" in attrs:
        match = _NORMAL.match(attrs["speedFactor"])
        if match is None:
            factor = _number("speedFactor", attrs["speedFactor"])
        else:
            factor, dev = (_number("speedFactor", value) for value in match.groups())

    def given(name: str, default: float) -> float:
        return _number(name, attrs[name]) if name in attrs else default

    return VehicleType(
        vclass=vclass,
        length_m=given("length", length),
        min_gap_m=given("minGap", _MIN_GAP_M),
        accel_mps2=given("accel", accel),
        decel_mps2=given("decel", decel),
        tau_s=given("tau", _TAU_S),
        sigma=given("sigma", _SIGMA),
        max_speed_mps=min(given("maxSpeed", max_speed), MAX_SPEED_MPS),
        speed_factor=factor,
        speed_dev=given("speedDev", dev),
    )


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a number, got {text!r}")
    return value
