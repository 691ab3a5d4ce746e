"""The results of one run: its record frames, road network and provenance, on disk and back.

A results folder holds ``network.json`` (the neutral network format of
:mod:`sim.network.io`), ``trips.csv``, ``series.csv``, ``links.csv`` and, written last,
``summary.json``; each frame is also written as ``.parquet`` (pyarrow, a dependency) for
other tools (the CSV files stay the canonical copy that :func:`load_results` reads).
Every file is written atomically, so a folder with ``summary.json`` is complete.

``summary.json`` is a JSON object::

    {"format": "citysim-results", "format_version": 2,
     "files": [...], "info": {...}, "metrics": {...}}

where ``info`` is the run's provenance and ``metrics`` the result of
:func:`sim.metrics.summary.summarize`; a run with vehicle types (a ``type`` column in its
trips) also has ``"by_type"``, the metrics of each type
(:func:`sim.metrics.summary.summarize_by_type`). Non-finite numbers are stored as ``null``.
:meth:`RunResults.save` writes that folder and the run's two figures, as ``citysim run`` does.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from sim.metrics.summary import format_summary, summarize, summarize_by_type
from sim.network.io import load_network_json, save_network_json
from sim.network.validate import validate_network

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LINK_COLUMNS",
    "MAP_FIGURE",
    "SERIES_COLUMNS",
    "SUMMARY_FILE",
    "TRIP_COLUMNS",
    "ResultsError",
    "RUN_STATUSES",
    "RunResults",
    "RunSummary",
    "SERIES_FIGURE",
    "load_results",
    "load_summary",
    "write_results",
]

FORMAT = "citysim-results"
FORMAT_VERSION = 2
RUN_STATUSES: dict[str, str] = {
    "completed": "every trip of the demand arrived",
    "time_limit": "the run reached simulation.max_time_s with trips unfinished",
    "stalled": "the run stopped early: gridlock, nothing entered or arrived for simulation.gridlock_s",
    "partial": "the run was stopped before its end (run(until_s=...)), with trips unfinished",
}
"""How a run ended (``info["status"]``), with what each means."""
SUMMARY_FILE = "summary.json"
NETWORK_FILE = "network.json"
SERIES_FIGURE = "series.png"
"""The run's series over time (:func:`sim.plots.plot_series`) in its results folder."""
MAP_FIGURE = "map_speed.png"
"""The run's map of link speeds (:func:`sim.plots.plot_network_map`) in its results folder."""
_MAP_METRIC = "mean_speed_mps"

TRIP_COLUMNS: dict[str, str] = {
    "id": "str",
    "origin": "str",
    "destination": "str",
    "depart_s": "float64",
    "enter_s": "float64",
    "arrive_s": "float64",
    "free_flow_s": "float64",
    "route_length_m": "float64",
    "distance_m": "float64",
    "stops": "int64",
    "max_link_wait_s": "float64",
}
"""Columns of the trips frame (one row per trip) and their stored dtypes."""

SERIES_COLUMNS: dict[str, str] = {
    "time_s": "float64",
    "vehicles_on_network": "int64",
    "entry_backlog": "int64",
    "departed": "int64",
    "arrived": "int64",
    "mean_speed_mps": "float64",
    "queued_vehicles": "float64",
    "vehicle_steps": "int64",
    "max_green_wait_s": "float64",
}
"""Columns of the series frame (one row per reporting interval) and their stored dtypes."""

LINK_COLUMNS: dict[str, str] = {
    "time_s": "float64",
    "u": "str",
    "v": "str",
    "flow_vph": "float64",
    "density_vpkm": "float64",
    "mean_speed_mps": "float64",
    "queue_veh": "float64",
}
"""Columns of the links frame (one row per reporting interval and edge) and their stored dtypes."""

_FRAMES: dict[str, dict[str, str]] = {"trips": TRIP_COLUMNS, "series": SERIES_COLUMNS, "links": LINK_COLUMNS}


class ResultsError(ValueError):
    """Run results that cannot be written or read: bad frames, info, or an incomplete folder."""


class RunSummary(dict):
    """The headline metrics of a run (:func:`~sim.metrics.summary.summarize`), by key.

    A plain dict of numbers (NaN where a metric is undefined), in display order; ``str()`` and
    IPython show it as the table ``citysim run`` prints, with labels and units.

    Attributes:
        info: The run's info, which labels the metrics of its scenario's sections.
    """

    def __init__(self, metrics: Mapping[str, float | int], info: Mapping[str, Any]) -> None:
        super().__init__(metrics)
        self.info = info

    def __str__(self) -> str:
        return format_summary(self, self.info)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


@dataclass(eq=False)
class RunResults:
    """Everything one run produced, as tidy records; nothing here refers to the live simulation.

    Attributes:
        trips: One row per trip: ``id``, ``origin``, ``destination`` (str node ids),
            ``depart_s`` (scheduled departure, s), ``enter_s`` (time it entered the network,
            s; NaN if it never did), ``arrive_s`` (s; NaN if not arrived), ``free_flow_s``
            (route free-flow time, s), ``route_length_m`` (m), ``distance_m`` (route length
            driven so far, or in total if arrived, m), ``stops`` (times the vehicle came to a
            halt), ``max_link_wait_s`` (its longest halted time on one link, s).
        series: One row per reporting interval: ``time_s`` (interval end, s),
            ``vehicles_on_network`` and ``entry_backlog`` (vehicles on the network and waiting
            to enter, at interval end), ``departed`` and ``arrived`` (counts during the
            interval), ``mean_speed_mps`` (space-mean speed of vehicles on the network during
            the interval, m/s; NaN if none), ``queued_vehicles`` (mean number of halted
            vehicles, speed < 0.1 m/s), ``vehicle_steps`` (vehicle-steps in the interval),
            ``max_green_wait_s`` (the longest any lane's first vehicle stood at its stop line
            without green, of the waits ended in the interval or going on at its end, s).
        links: One row per reporting interval and edge: ``time_s`` (interval end, s), ``u``,
            ``v`` (str edge node ids), ``flow_vph`` (vehicles that left the edge, per hour),
            ``density_vpkm`` (mean vehicles on the edge per km per lane), ``mean_speed_mps``
            (m/s; NaN if the edge was empty), ``queue_veh`` (mean halted vehicles on the edge).
        graph: The road network (schema of :mod:`sim.network.graph`).
        info: Provenance: scenario name and key, seed, package version, ``sim_wall_s``,
            ``setup_wall_s``, ``vehicle_steps``, gridlock reports, how the run ended
            (``status``, one of :data:`RUN_STATUSES`, with ``status_message``), the
            ``horizon_s`` until which unfinished trips count, and any extra entries
            (e.g. the summary of an optional scenario section); JSON-compatible values only.
        extras: Further record frames by name (e.g. ``incidents`` of the emergency
            layer), each stored as ``<name>.csv``.
    """

    trips: pd.DataFrame
    series: pd.DataFrame
    links: pd.DataFrame
    graph: nx.DiGraph
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"RunResults(trips={len(self.trips)} rows, series={len(self.series)} rows, "
            f"links={len(self.links)} rows, graph={self.graph.number_of_nodes()} nodes/"
            f"{self.graph.number_of_edges()} edges, info keys={sorted(self.info)})"
        )

    def summary(self) -> RunSummary:
        """The run's headline metrics, the numbers ``citysim run`` prints and ``summary.json`` stores.

        Wall-clock times are not metrics: they are in ``info`` (``sim_wall_s``, ``setup_wall_s``).

        Raises:
            MetricsError: If a frame lacks a column a metric needs.
        """
        return RunSummary(summarize(self), self.info)

    def save(self, folder: str | os.PathLike[str], figures: bool = True) -> Path:
        """Write the results folder ``citysim run`` writes: :func:`write_results`, then the figures.

        Figures of an earlier run in the folder are removed first, so none contradicts these results.

        Args:
            folder: The results folder; created with its parents if missing.
            figures: Also draw :data:`SERIES_FIGURE` and :data:`MAP_FIGURE` (as ``citysim run``
                does unless given ``--no-plots``); needs matplotlib, a citysim dependency.

        Returns:
            The results folder, which :func:`load_results` reads back.

        Raises:
            ResultsError, NetworkError: As for :func:`write_results`.
        """
        folder = Path(folder)
        for name in (SERIES_FIGURE, MAP_FIGURE):
            (folder / name).unlink(missing_ok=True)
        write_results(self, folder)
        if figures:
            from sim.plots import plot_network_map, plot_series, save_figure

            save_figure(plot_series(self), folder / SERIES_FIGURE)
            save_figure(plot_network_map(self, metric=_MAP_METRIC), folder / MAP_FIGURE)
        return folder


def write_results(results: RunResults, out_dir: str | os.PathLike[str]) -> Path:
    """Write a run's results to a folder, each file atomically and ``summary.json`` last.

    Everything is checked before the folder is touched. An existing ``summary.json`` is
    removed first, so an interrupted overwrite leaves a folder that :func:`load_results`
    rejects as incomplete instead of one that mixes two runs.

    Args:
        results: The run's results.
        out_dir: The results folder; created with its parents if missing.

    Returns:
        The results folder.

    Raises:
        ResultsError: If a frame is not a DataFrame, lacks a contract column or has a value
            that does not fit its column's dtype, or ``info`` holds a value JSON cannot store.
        NetworkError: If the graph is not a valid road network.
    """
    frames = {name: _stored_frame(getattr(results, name), name) for name in _FRAMES}
    clash = sorted(set(results.extras) & {*_FRAMES, "network", "summary"})
    if clash:
        raise ResultsError(f"RunResults.extras may not be named {clash}")
    validate_network(results.graph)
    files = [NETWORK_FILE, *(f"{name}.csv" for name in [*frames, *results.extras])]
    files += [f"{name}.parquet" for name in frames]
    summary = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": files,
        "extras": sorted(results.extras),
        "info": _jsonable(results.info, "info"),
        "metrics": _jsonable(summarize(frames | {"info": results.info}), "metrics"),
    }
    by_type = summarize_by_type(frames | {"info": results.info})
    if by_type:
        summary["by_type"] = _jsonable(by_type, "by_type")
    summary_text = json.dumps(summary, indent=2, allow_nan=False) + "\n"

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SUMMARY_FILE).unlink(missing_ok=True)
    with _atomic(folder / NETWORK_FILE) as temp:
        save_network_json(results.graph, temp)
    for name, frame in frames.items():
        with _atomic(folder / f"{name}.csv") as temp:
            frame.to_csv(temp, index=False)
        with _atomic(folder / f"{name}.parquet") as temp:
            frame.to_parquet(temp, index=False)
    for name, frame in results.extras.items():
        with _atomic(folder / f"{name}.csv") as temp:
            frame.to_csv(temp, index=False)
    with _atomic(folder / SUMMARY_FILE) as temp:
        temp.write_text(summary_text, encoding="utf-8")
    return folder


def load_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the ``summary.json`` of a complete results folder, without loading the frames.

    Args:
        path: The results folder.

    Returns:
        The summary: ``format``, ``format_version``, ``files``, ``info`` and ``metrics``
        (metrics stored as ``null`` come back as NaN).

    Raises:
        ResultsError: If the folder does not exist, has no ``summary.json`` (not a results
            folder, or its writing did not finish), or the summary is malformed.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such results folder")
    summary_path = folder / SUMMARY_FILE
    if not summary_path.is_file():
        raise ResultsError(
            f"{folder}: not a complete results folder: {SUMMARY_FILE} is missing "
            "(the run's results were never written here, or writing them did not finish)"
        )
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ResultsError(
            f"{summary_path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(summary, dict) or summary.get("format") != FORMAT:
        raise ResultsError(f'{summary_path}: expected a JSON object with "format": {FORMAT!r}')
    if summary.get("format_version") != FORMAT_VERSION:
        raise ResultsError(
            f"{summary_path}: format_version {summary.get('format_version')!r} is not supported; "
            f"expected {FORMAT_VERSION}"
        )
    for key, expected in (("files", list), ("info", dict), ("metrics", dict)):
        if not isinstance(summary.get(key), expected):
            raise ResultsError(f"{summary_path}: key {key!r} must be a JSON {expected.__name__}")
    metrics = summary["metrics"]
    for key, value in metrics.items():
        if value is None:
            metrics[key] = math.nan
    return summary


def load_results(path: str | os.PathLike[str]) -> RunResults:
    """Read a results folder written by :func:`write_results`.

    Args:
        path: The results folder.

    Returns:
        The run's results; frames have the dtypes of :data:`TRIP_COLUMNS`,
        :data:`SERIES_COLUMNS` and :data:`LINK_COLUMNS` (extra columns are inferred).

    Raises:
        ResultsError: If the folder is missing or incomplete, a listed file is missing, or a
            CSV file lacks a contract column or holds a value of the wrong type.
        NetworkError: If ``network.json`` is not a valid network.
    """
    folder = Path(path)
    summary = load_summary(folder)
    missing = [name for name in summary["files"] if not (folder / name).is_file()]
    if missing:
        raise ResultsError(f"{folder}: incomplete results folder, missing {', '.join(missing)}")
    frames = {name: _read_frame(folder / f"{name}.csv", columns) for name, columns in _FRAMES.items()}
    extras = {name: pd.read_csv(folder / f"{name}.csv") for name in summary.get("extras", [])}
    return RunResults(
        graph=load_network_json(folder / NETWORK_FILE), info=summary["info"], extras=extras, **frames
    )


def _stored_frame(frame: Any, name: str) -> pd.DataFrame:
    """The frame as stored: contract columns first, in contract dtypes, then any extra columns."""
    if not isinstance(frame, pd.DataFrame):
        raise ResultsError(f"RunResults.{name} must be a pandas DataFrame, got {type(frame).__name__}")
    columns = _FRAMES[name]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ResultsError(f"RunResults.{name} lacks column(s) {missing}; expected {list(columns)} first")
    stored = frame[[*columns, *(column for column in frame.columns if column not in columns)]].copy()
    for column, dtype in columns.items():
        try:
            stored[column] = stored[column].astype(dtype)
        except (ValueError, TypeError) as error:
            raise ResultsError(f"RunResults.{name}: column {column!r} must be {dtype}: {error}") from None
    return stored


def _read_frame(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path}: not a readable CSV file: {error}") from None
    missing = [column for column in columns if column not in header]
    if missing:
        raise ResultsError(f"{path}: missing column(s) {missing}; expected {list(columns)}")
    try:
        # Only empty fields are missing values: node ids such as "NA" stay strings.
        return pd.read_csv(path, dtype=columns, keep_default_na=False, na_values=[""])
    except (ValueError, TypeError) as error:
        raise ResultsError(f"{path}: a value does not fit its column's dtype {columns}: {error}") from None


@contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; once written, move it onto ``target``.

    The temporary file is flushed to disk before the rename, and removed if writing fails.
    """
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temp
        with temp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays unwrapped, non-finite floats as None."""
    if isinstance(value, np.generic | np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        bad_keys = [key for key in value if not isinstance(key, str)]
        if bad_keys:
            raise ResultsError(f"{where}: keys must be strings for JSON, got {bad_keys[0]!r}")
        return {key: _jsonable(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ResultsError(
        f"{where} is a {type(value).__name__}; summary.json holds only numbers, strings, bools, "
        "None, lists and string-keyed dicts"
    )
