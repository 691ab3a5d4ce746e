"""Passenger requests: Poisson per origin-destination pair, or read from a request table.

A request table is a CSV file with the header ``time_s,origin,destination`` and an optional
``party_size`` column (default 1); rows may come in any order. Every problem names the
file and line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.schema import ScenarioError, excerpt

__all__ = ["Request", "poisson_requests", "read_request_table"]

_COLUMNS = ("time_s", "origin", "destination")
_OPTIONAL = ("party_size",)


@dataclass(frozen=True)
class Request:
    """One passenger request.

    Attributes:
        time_s: When it is made (s).
        origin, destination: Stop node ids.
        party_size: Passengers travelling together (>= 1).
    """

    time_s: float
    origin: str
    destination: str
    party_size: int = 1


def read_request_table(
    file: Path, stops: Sequence[str], source: str = "<dict>", key: str = "shuttles.requests"
) -> tuple[Request, ...]:
    """Read and check a request table.

    Args:
        file: The CSV file.
        stops: The valid stop node ids.
        source: The scenario named in errors.
        key: The scenario key named in errors.

    Returns:
        The requests, sorted by time (stable for equal times).

    Raises:
        ScenarioError: Naming the file and line of the first bad row or header.
    """

    def fail(line: int, problem: str) -> ScenarioError:
        return ScenarioError(source, key, f"{file}:{line}: {problem}")

    known = set(stops)
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if header[: len(_COLUMNS)] != list(_COLUMNS) or any(
                name not in _OPTIONAL for name in header[len(_COLUMNS) :]
            ):
                raise fail(
                    1, f"expected the header time_s,origin,destination[,party_size], got {excerpt(header)}"
                )
            requests = [
                _row(row, header, known, lambda problem, line=reader.line_num: fail(line, problem))
                for row in reader
                if any(cell.strip() for cell in row)
            ]
    except OSError as exc:
        raise ScenarioError(
            source, key, f"{file}: cannot read request table: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, key, f"{file}: expected UTF-8 text: {exc}") from None
    except csv.Error as exc:
        raise ScenarioError(source, key, f"{file}: not a readable CSV file: {exc}") from None
    return tuple(sorted(requests, key=lambda r: r.time_s))


def _row(row: list[str], header: list[str], known: set[str], fail: Callable[[str], ScenarioError]) -> Request:
    if len(row) != len(header):
        raise fail(f"expected {len(header)} fields ({','.join(header)}), got {len(row)}")
    cells = dict(zip(header, (cell.strip() for cell in row), strict=True))
    try:
        time_s = float(cells["time_s"])
    except ValueError:
        time_s = math.nan
    if not math.isfinite(time_s) or time_s < 0.0:
        raise fail(f"time_s: expected a number of seconds >= 0, got {excerpt(cells['time_s'])}")
    for column in ("origin", "destination"):
        if cells[column] not in known:
            raise fail(f"{column}: expected one of the stops {sorted(known)}, got {excerpt(cells[column])}")
    if cells["origin"] == cells["destination"]:
        raise fail(f"destination: expected a stop other than the origin, got {excerpt(cells['destination'])}")
    party = cells.get("party_size", "1")
    if not party.isdigit() or int(party) < 1:
        raise fail(f"party_size: expected an integer >= 1, got {excerpt(party)}")
    return Request(time_s, cells["origin"], cells["destination"], int(party))


def poisson_requests(
    rates: Sequence[tuple[str, str, float]],
    profile: Sequence[tuple[float, float]],
    start_s: float,
    end_s: float,
    rng: np.random.Generator,
) -> tuple[Request, ...]:
    """Draw Poisson requests of one passenger each.

    Args:
        rates: ``(origin, destination, rate_pph)`` per pair.
        profile: Piecewise-constant ``(start_s, multiplier)`` pieces of simulation time, the
            first at 0; empty means 1 throughout.
        start_s: Requests fall in ``[start_s, end_s)`` (s).
        end_s: See ``start_s``.
        rng: The shuttles' own generator.

    Returns:
        The requests sorted by time.
    """
    pieces = list(profile) or [(0.0, 1.0)]
    bounds = [p[0] for p in pieces[1:]] + [math.inf]
    times: list[np.ndarray] = []
    pairs: list[np.ndarray] = []
    for (piece_start, multiplier), piece_end in zip(pieces, bounds, strict=True):
        lo, hi = max(piece_start, start_s), min(piece_end, end_s)
        if hi <= lo or multiplier == 0.0:
            continue
        for index, (_, _, rate_pph) in enumerate(rates):
            count = rng.poisson(rate_pph * multiplier * (hi - lo) / 3600.0)
            times.append(rng.uniform(lo, hi, size=count))
            pairs.append(np.full(count, index))
    if not times:
        return ()
    all_times, all_pairs = np.concatenate(times), np.concatenate(pairs)
    order = np.lexsort((all_pairs, all_times))
    return tuple(
        Request(float(all_times[i]), rates[all_pairs[i]][0], rates[all_pairs[i]][1]) for i in order.tolist()
    )
