"""Parking records: per trip, per facility over time, the share of traffic searching, and a summary.

Frames (stored as ``<name>.csv`` in a results folder):

* ``parking_trips``: one row per parking trip: ``id``, ``origin``, ``destination``,
  ``guided``, ``depart_s``, ``stay_s``, ``outcome`` (``parked`` on street, ``garage``,
  ``gave_up``, or ``unfinished``/``not_departed`` when the run ended first),
  ``search_start_s``, ``search_end_s`` (parked, or gave up; for a garage, when its gate
  admitted the driver), ``search_time_s``, ``search_distance_m`` (driven while searching),
  ``walk_m`` (from the space to the destination), ``facility``, ``reguided`` (times a
  guided driver found its target full).
* ``parking_occupancy``: per record time and facility: ``occupied``, ``capacity``,
  ``occupancy`` and ``reported_free`` (what the information service believed; -1 if it
  had no report).
* ``parking_series``: per record time: ``searching`` (drivers searching on the network),
  ``vehicles_on_network``, ``share_searching``, ``street_occupancy``, ``garage_occupancy``
  (taken over total spaces).
* ``parking_facilities``: one row per facility: ``facility``, ``kind``, ``from_node``,
  ``to_node``, ``capacity``, ``max_stay_s``, ``entry_rate_vph``, ``x_m``, ``y_m``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.parking.drivers import ParkingDriver, ParkingTrip
from sim.parking.supply import GARAGE, Facility

__all__ = ["ParkingRecorder", "facility_frame"]

_ENDED = ("parked", "garage", "gave_up")


def _mean(values: pd.Series) -> float | None:
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else None


class ParkingRecorder:
    """Collects the samples of a run and turns them into frames and a summary.

    Args:
        facilities: The facilities, in index order.
    """

    def __init__(self, facilities: list[Facility]) -> None:
        self.facilities = facilities
        self._garage = np.array([f.kind == GARAGE for f in facilities], dtype=bool)
        self._capacity = np.array([f.capacity for f in facilities], dtype=np.int64)
        self._times: list[float] = []
        self._occupied: list[np.ndarray] = []
        self._reported: list[np.ndarray] = []
        self._searching: list[tuple[int, int]] = []

    def sample(
        self, time_s: float, occupied: np.ndarray, reported_free: np.ndarray, searching: int, on_network: int
    ) -> None:
        """Record the state at ``time_s``."""
        self._times.append(time_s)
        self._occupied.append(np.array(occupied, dtype=np.int64))
        self._reported.append(np.array(reported_free, dtype=np.int64))
        self._searching.append((searching, on_network))

    def _share(self, occupied: np.ndarray, mask: np.ndarray) -> np.ndarray:
        spaces = self._capacity[mask].sum()
        if not spaces:
            return np.full(len(occupied), math.nan)
        return occupied[:, mask].sum(axis=1) / spaces

    def frames(
        self, trips: Sequence[ParkingTrip], drivers: Sequence[ParkingDriver | None]
    ) -> dict[str, pd.DataFrame]:
        """The four parking frames (see the module docstring)."""
        n_f = len(self.facilities)
        times = np.array(self._times, dtype=float)
        occupied = np.array(self._occupied, dtype=np.int64).reshape(len(times), n_f)
        reported = np.array(self._reported, dtype=np.int64).reshape(len(times), n_f)
        names = np.array([f.name for f in self.facilities], dtype=object)
        capacity = np.tile(self._capacity, len(times))
        occupancy = pd.DataFrame(
            {
                "time_s": np.repeat(times, n_f),
                "facility": np.tile(names, len(times)),
                "occupied": occupied.ravel(),
                "capacity": capacity,
                "occupancy": occupied.ravel() / np.maximum(capacity, 1),
                "reported_free": reported.ravel(),
            }
        )
        searching = np.array(self._searching, dtype=np.int64).reshape(len(times), 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(searching[:, 1] > 0, searching[:, 0] / np.maximum(searching[:, 1], 1), math.nan)
        series = pd.DataFrame(
            {
                "time_s": times,
                "searching": searching[:, 0],
                "vehicles_on_network": searching[:, 1],
                "share_searching": share,
                "street_occupancy": self._share(occupied, ~self._garage),
                "garage_occupancy": self._share(occupied, self._garage),
            }
        )
        return {
            "parking_trips": self._trip_frame(trips, drivers),
            "parking_occupancy": occupancy,
            "parking_series": series,
            "parking_facilities": facility_frame(self.facilities),
        }

    def _trip_frame(
        self, trips: Sequence[ParkingTrip], drivers: Sequence[ParkingDriver | None]
    ) -> pd.DataFrame:
        rows = []
        for trip, driver in zip(trips, drivers, strict=True):
            row = {
                "id": trip.trip_id,
                "origin": str(trip.origin),
                "destination": str(trip.destination),
                "guided": trip.guided,
                "depart_s": trip.depart_s,
                "stay_s": trip.stay_s,
            }
            if driver is None:
                rows.append({**row, "outcome": "not_departed"})
                continue
            ended = driver.outcome in _ENDED
            rows.append(
                {
                    **row,
                    "outcome": driver.outcome if ended else "unfinished",
                    "search_start_s": driver.search_start_s,
                    "search_end_s": driver.search_end_s,
                    "search_time_s": driver.search_end_s - driver.search_start_s,
                    "search_distance_m": driver.search_distance_m,
                    "walk_m": driver.walk_m,
                    "facility": self.facilities[driver.facility].name if driver.facility >= 0 else "",
                    "reguided": driver.reguided,
                }
            )
        columns = [
            "id", "origin", "destination", "guided", "depart_s", "stay_s", "outcome", "search_start_s",
            "search_end_s", "search_time_s", "search_distance_m", "walk_m", "facility", "reguided",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def summary(
        self, trips: Sequence[ParkingTrip], drivers: Sequence[ParkingDriver | None], return_trips: int
    ) -> dict:
        """JSON-compatible summary: outcome counts, means over ended searches, occupancy, share searching.

        Means are None when nothing was measured. ``share_searching`` is the share of
        vehicle time on the network spent searching: searching over vehicles on the
        network, summed over the samples.
        """
        frames = self.frames(trips, drivers)
        table, series = frames["parking_trips"], frames["parking_series"]
        ended = table[table["outcome"].isin(_ENDED)]
        parked = ended[ended["outcome"] != "gave_up"]
        counts = table["outcome"].value_counts()
        searching, on_network = series["searching"].sum(), series["vehicles_on_network"].sum()
        return {
            "trips": len(table),
            **{outcome: int(counts.get(outcome, 0)) for outcome in (*_ENDED, "unfinished", "not_departed")},
            "return_trips": return_trips,
            "facilities": len(self.facilities),
            "street_spaces": int(self._capacity[~self._garage].sum()),
            "garage_spaces": int(self._capacity[self._garage].sum()),
            "mean_search_time_s": _mean(ended["search_time_s"]) if len(ended) else None,
            "mean_search_distance_m": _mean(ended["search_distance_m"]) if len(ended) else None,
            "mean_walk_m": _mean(parked["walk_m"]) if len(parked) else None,
            "mean_street_occupancy": _mean(series["street_occupancy"]),
            "share_searching": float(searching / on_network) if on_network else None,
        }


def facility_frame(facilities: Sequence[Facility]) -> pd.DataFrame:
    """The ``parking_facilities`` frame: one row per facility (see the module docstring)."""
    return pd.DataFrame(
        {
            "facility": [f.name for f in facilities],
            "kind": [f.kind for f in facilities],
            "from_node": [str(f.from_node) for f in facilities],
            "to_node": [str(f.node) for f in facilities],
            "capacity": np.array([f.capacity for f in facilities], dtype=np.int64),
            "max_stay_s": [f.max_stay_s for f in facilities],
            "entry_rate_vph": [f.entry_rate_vph for f in facilities],
            "x_m": [f.x_m for f in facilities],
            "y_m": [f.y_m for f in facilities],
        }
    )
