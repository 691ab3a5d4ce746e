"""Run the ``sumo`` binary on a built net and routes, and read back what it measured.

Settings: step 1 s, SUMO's default Krauss driver, ``--time-to-teleport`` (300 s by default: a
vehicle stuck that long is moved on, and counted). SUMO cannot stop at "empty network or
horizon, whichever comes first": with ``--end`` it steps an empty network on to the end,
which inflates its loop time. So :func:`run_sumo` runs first without ``--end``, which stops
once every vehicle has arrived, and only if that run outlasts the horizon runs again with
``--end``; the second run is reported. Without teleporting (a negative
``time_to_teleport_s``) a gridlock never clears, so the one run has ``--end``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.interop.errors import InteropError
from sim.interop.sumo.binaries import DEFAULT_TELEPORT_S, run_tool

__all__ = ["SumoRun", "run_sumo"]

TRIPINFO = "tripinfo.xml"
SUMMARY = "summary.xml"
STATISTICS = "stats.xml"
EDGE_DATA = "edgedata.xml"
_ADDITIONAL = "edgedata.add.xml"


@dataclass(frozen=True, eq=False)
class SumoRun:
    """What one SUMO run measured.

    Attributes:
        trips: One row per vehicle: ``id``, ``depart_s`` (actual insertion, s), ``arrive_s``
            (NaN if it did not arrive), ``route_length_m``.
        edges: With edge data, one row per edge SUMO saw a vehicle on: ``edge`` (SUMO id),
            ``exits`` (vehicles that left it downstream or arrived on it), ``speed_mps``
            (mean speed, distance over time), ``sampled_s`` (vehicle-seconds); else empty.
        loop_wall_s: SUMO's own duration of its simulation loop (s).
        end_s: Simulated time at the end (s).
        teleports: Vehicles teleported after being stuck for ``time_to_teleport_s``.
        vehicle_steps: Vehicles running, summed over the 1 s steps.
    """

    trips: pd.DataFrame
    edges: pd.DataFrame
    loop_wall_s: float
    end_s: float
    teleports: int
    vehicle_steps: int


def run_sumo(
    net_path: str | Path,
    routes_path: str | Path,
    out_dir: str | Path,
    horizon_s: float,
    time_to_teleport_s: float = DEFAULT_TELEPORT_S,
    edge_data: bool = False,
    additional: tuple[Path, ...] = (),
) -> SumoRun:
    """Run ``sumo`` (step 1 s) until every vehicle has arrived or ``horizon_s``.

    Args:
        net_path: The ``.net.xml``.
        routes_path: The routes file (see :func:`~sim.interop.sumo.export.write_routes`).
        out_dir: Folder for SUMO's output files (created if missing).
        horizon_s: Last simulated second (s).
        time_to_teleport_s: ``--time-to-teleport`` (s); negative disables teleporting.
        edge_data: Also record per-edge counts and speeds over the whole run.
        additional: More additional files for SUMO (e.g. traffic-light programs).

    Returns:
        The run's measurements.

    Raises:
        InteropError: If SUMO is missing, fails, or writes unreadable output.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # without teleporting a gridlock never clears, so only a run with --end is sure to stop
    first_end_s = horizon_s if time_to_teleport_s < 0 else None
    inputs = (Path(net_path), Path(routes_path), tuple(Path(a) for a in additional), out)
    run = _run_once(*inputs, first_end_s, time_to_teleport_s, edge_data)
    if first_end_s is None and run.end_s > horizon_s:
        run = _run_once(*inputs, horizon_s, time_to_teleport_s, edge_data)
    return run


def _run_once(
    net_path: Path,
    routes_path: Path,
    additional: tuple[Path, ...],
    out: Path,
    end_s: float | None,
    teleport_s: float,
    edge_data: bool,
) -> SumoRun:
    args = [
        *("--net-file", str(net_path), "--route-files", str(routes_path)),
        *("--step-length", "1", "--time-to-teleport", f"{teleport_s:g}"),
        *(("--end", f"{math.ceil(end_s)}") if end_s is not None else ()),
        *("--tripinfo-output", str(out / TRIPINFO), "--tripinfo-output.write-unfinished", "true"),
        *("--summary-output", str(out / SUMMARY)),
        *("--statistic-output", str(out / STATISTICS)),
        *("--duration-log.statistics", "true", "--no-step-log", "true", "--no-warnings", "true"),
    ]
    if edge_data:
        edge_file = out / _ADDITIONAL
        edge_file.write_text(
            f'<additional>\n  <edgeData id="all" file="{EDGE_DATA}" excludeEmpty="true"/>\n</additional>\n',
            encoding="utf-8",
        )
        additional = (*additional, edge_file)
    if additional:
        args += ["--additional-files", ",".join(str(a) for a in additional)]
    run_tool("sumo", args)
    try:
        return _read_outputs(out, edge_data)
    except (ET.ParseError, OSError, KeyError, TypeError, ValueError) as error:
        raise InteropError(f"cannot read SUMO's output: {error}", out) from None


def _read_outputs(out: Path, edge_data: bool) -> SumoRun:
    ids, depart, arrive, length = [], [], [], []
    for _, el in ET.iterparse(out / TRIPINFO):
        if el.tag == "tripinfo":
            arrival_s = float(el.get("arrival", "-1"))
            ids.append(el.get("id"))
            depart.append(float(el.get("depart", "nan")))
            arrive.append(arrival_s if arrival_s >= 0 and not el.get("vaporized") else math.nan)
            length.append(float(el.get("routeLength", "nan")))
            el.clear()
    trips = pd.DataFrame(
        {"id": ids, "depart_s": depart, "arrive_s": np.array(arrive, dtype=float), "route_length_m": length}
    )
    vehicle_steps = 0
    for _, el in ET.iterparse(out / SUMMARY):
        if el.tag == "step":
            vehicle_steps += int(el.get("running"))
            el.clear()
    stats = ET.parse(out / STATISTICS).getroot()
    performance, teleports = stats.find("performance"), stats.find("teleports")
    if performance is None or teleports is None:
        raise InteropError("no <performance> or <teleports> element", out / STATISTICS)
    return SumoRun(
        trips=trips,
        edges=_read_edge_data(out / EDGE_DATA) if edge_data else pd.DataFrame(),
        loop_wall_s=float(performance.get("clockDuration")),
        end_s=float(performance.get("end")),
        teleports=int(teleports.get("total")),
        vehicle_steps=vehicle_steps,
    )


def _read_edge_data(path: Path) -> pd.DataFrame:
    rows = []
    for _, el in ET.iterparse(path):
        if el.tag == "edge":
            rows.append(
                (
                    el.get("id"),
                    int(float(el.get("left", "0"))) + int(float(el.get("arrived", "0"))),
                    float(el.get("speed", "nan")),
                    float(el.get("sampledSeconds", "0")),
                )
            )
            el.clear()
    frame = pd.DataFrame(rows, columns=["edge", "exits", "speed_mps", "sampled_s"])
    frame["distance_m"] = frame["speed_mps"].fillna(0.0) * frame["sampled_s"]
    merged = frame.groupby("edge", sort=False)[["exits", "sampled_s", "distance_m"]].sum().reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        merged["speed_mps"] = np.where(
            merged["sampled_s"] > 0, merged["distance_m"] / merged["sampled_s"], np.nan
        )
    return merged[["edge", "exits", "speed_mps", "sampled_s"]]
