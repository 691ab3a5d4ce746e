"""Shuttle records and their summary metrics.

Passengers: wait (request to the shuttle's arrival at the origin: mean, median, 95th
percentile, share under 10 min, over boarded passengers), in-vehicle time (arrival at
the origin to arrival at the destination), detour factor (distance ridden / direct
distance), rejections (refused at request) and give-ups. On demand, realized pickups
after the accepted latest pickup and rides longer than the accepted maximum are counted
(traffic can be slower than planned; the plans never break the limits). Shuttles, over
their in-service time: occupancy (time-mean people on board / capacity), empty distance
share, passenger-km per vehicle-km, and utilization (share of time with anyone on board).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.shuttles.passenger import Passenger, PassengerState
from sim.shuttles.shuttle import AutonomousShuttle

__all__ = [
    "PASSENGER_COLUMNS",
    "VEHICLE_COLUMNS",
    "VISIT_COLUMNS",
    "passenger_frame",
    "shuttle_summary",
    "vehicle_frame",
    "visit_frame",
]

PASSENGER_COLUMNS = (
    "id", "request_s", "origin", "destination", "party_size", "status", "reason", "shuttle", "board_s",
    "alight_s", "gave_up_s", "wait_s", "ride_s", "direct_time_s", "direct_m", "ride_m", "detour_factor",
    "latest_pickup_s", "max_ride_s", "promised_pickup_s", "promised_dropoff_s",
)  # fmt: skip
"""Columns of the ``shuttle_passengers`` records (one row per request)."""
VISIT_COLUMNS = (
    "shuttle", "node", "arrive_s", "depart_s", "due_s", "depart_due_s", "alighted", "boarded", "held_s",
    "load", "passed",
)  # fmt: skip
"""Columns of the ``shuttle_visits`` records (one row per stop halted at or driven through)."""
VEHICLE_COLUMNS = (
    "shuttle", "capacity", "in_service_s", "distance_m", "empty_m", "passenger_m", "occupied_s",
    "occupancy", "utilization", "vehicles",
)  # fmt: skip
"""Columns of the ``shuttle_vehicles`` records (one row per shuttle)."""

_TEN_MINUTES_S = 600.0


def passenger_frame(passengers: Sequence[Passenger]) -> pd.DataFrame:
    """One row per request, in request order."""
    return pd.DataFrame([p.record() for p in passengers], columns=list(PASSENGER_COLUMNS))


def visit_frame(shuttles: Sequence[AutonomousShuttle]) -> pd.DataFrame:
    """One row per stop visit or pass, by shuttle and time."""
    rows = [visit for shuttle in shuttles for visit in shuttle.visits]
    return pd.DataFrame(rows, columns=list(VISIT_COLUMNS))


def vehicle_frame(shuttles: Sequence[AutonomousShuttle]) -> pd.DataFrame:
    """One row per shuttle: in-service time, distances and load over it (accounts brought up to now)."""
    rows = []
    for shuttle in shuttles:
        shuttle.account()
        service_s = shuttle.in_service_s
        rows.append(
            {
                "shuttle": shuttle.index,
                "capacity": shuttle.capacity,
                "in_service_s": service_s,
                "distance_m": shuttle.distance_m,
                "empty_m": shuttle.empty_m,
                "passenger_m": shuttle.person_m,
                "occupied_s": shuttle.occupied_s,
                "occupancy": shuttle.person_s / (shuttle.capacity * service_s) if service_s > 0 else math.nan,
                "utilization": shuttle.occupied_s / service_s if service_s > 0 else math.nan,
                "vehicles": len(shuttle.vids),
            }
        )
    return pd.DataFrame(rows, columns=list(VEHICLE_COLUMNS))


def _share(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else math.nan


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if values.size else math.nan


def shuttle_summary(passengers: pd.DataFrame, vehicles: pd.DataFrame, service: str, fleet_size: int) -> dict:
    """Summary metrics of one run (times in s, distances in km; NaN where undefined).

    Args:
        passengers: The ``shuttle_passengers`` records.
        vehicles: The ``shuttle_vehicles`` records.
        service: The service type.
        fleet_size: Shuttles in the fleet.

    Returns:
        JSON-compatible metrics; ``note`` explains a run without shuttles.
    """
    n = len(passengers)
    status = Counter(passengers["status"])
    boarded = passengers[passengers["board_s"].notna()]
    arrived = passengers[passengers["status"] == PassengerState.ARRIVED.value]
    wait = boarded["wait_s"].to_numpy(dtype=float)
    vehicle_m = float(vehicles["distance_m"].sum())
    passenger_m = float(vehicles["passenger_m"].sum())
    rejected = status[PassengerState.REJECTED.value]
    gave_up = status[PassengerState.GAVE_UP.value]
    summary = {
        "service": service,
        "fleet_size": fleet_size,
        "requests": n,
        "served": int(len(arrived)),
        "rejected": rejected,
        "gave_up": gave_up,
        "still_waiting": status[PassengerState.WAITING.value],
        "still_riding": status[PassengerState.RIDING.value],
        "rejection_rate": _share(rejected, n),
        "unserved_rate": _share(rejected + gave_up, n),
        "rejection_reasons": dict(Counter(passengers.loc[passengers["reason"] != "", "reason"])),
        "wait_mean_s": _mean(wait),
        "wait_median_s": _quantile(wait, 0.5),
        "wait_p95_s": _quantile(wait, 0.95),
        "wait_share_under_10min": _share(float(np.sum(wait < _TEN_MINUTES_S)), wait.size),
        "pickups_after_limit": int((boarded["board_s"] > boarded["latest_pickup_s"] + 1e-6).sum()),
        "rides_over_limit": int((arrived["ride_s"] > arrived["max_ride_s"] + 1e-6).sum()),
        "in_vehicle_mean_s": _mean(arrived["ride_s"].to_numpy(dtype=float)),
        "detour_factor_mean": _mean(arrived["detour_factor"].dropna().to_numpy(dtype=float)),
        "vehicle_km": vehicle_m / 1000.0,
        "passenger_km": passenger_m / 1000.0,
        "empty_distance_share": _share(float(vehicles["empty_m"].sum()), vehicle_m),
        "passenger_km_per_vehicle_km": _share(passenger_m, vehicle_m),
        "occupancy_mean": _mean(vehicles["occupancy"].dropna().to_numpy(dtype=float)),
        "utilization_mean": _mean(vehicles["utilization"].dropna().to_numpy(dtype=float)),
    }
    if fleet_size == 0:
        summary["note"] = f"no shuttles (fleet_size = 0): all {n} requests rejected"
    return summary
