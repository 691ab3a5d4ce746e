"""The crash-safe result store of a sweep: one file per run, and the consolidated runs table.

A sweep folder holds::

    sweep.json          the plan: base scenario, parameters, seeds, baseline and every run
    runs/<key>.json     one record per finished run (ok or failed), written atomically
    runs/<key>/         the run's results folder (sim.metrics.results), unless records are off
    runs.parquet        the consolidated tidy table, one row per run, with its column types
    runs.csv            the same table as text, for people and spreadsheets
    summary.parquet     mean and confidence interval of every metric per combination (and .csv)
    differences.parquet paired differences against the baseline, when the sweep names one (and .csv)

A run counts as finished once its record exists: the record is written last, to a temporary file
that is then renamed over the target (``os.replace``), so a sweep killed at any moment leaves
either a whole record or none, and re-running it skips exactly the finished keys. The records are
the truth; ``runs.parquet`` is read back (:func:`load_runs`) only while it is current: it carries
a stamp of the plan and record files it was built from, and a table whose stamp no longer matches
(a sweep still running, killed, or resumed) is rebuilt from the records instead.

A record is a JSON object::

    {"format": "citysim-sweep-run", "format_version": 1, "key": ..., "status": "ok" | "failed",
     "params": {...}, "seed": ..., "scenario_key": ..., "version": ..., "scenario": {...},
     "metrics": {...}, "info": {...}, "run_wall_s": ..., "records": true | false,
     "error": null | "DemandError: ...", "traceback": null | "..."}

where ``scenario`` is the run's full validated scenario (so the run can be rebuilt) and
``metrics`` the result of :func:`sim.metrics.summary.summarize`; non-finite numbers are ``null``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics.results import RunResults, load_results
from sim.metrics.summary import SUMMARY_KEYS
from sim.sweep.definition import SweepError, SweepPlan

__all__ = [
    "PLAN_FILE",
    "RECORD_FORMAT",
    "RUN_COLUMNS",
    "STATUSES",
    "ResultStore",
    "load_runs",
]

PLAN_FILE = "sweep.json"
RECORD_FORMAT = "citysim-sweep-run"
_PLAN_FORMAT = "citysim-sweep"
_FORMAT_VERSION = 1
_RUNS_DIR = "runs"
_TABLE = "runs"
_STAMP_KEY = "records_stamp"
_PYARROW_MISSING = (
    "sweeps store their tables as Parquet through pyarrow, a citysim dependency that is not "
    "installed here: pip install pyarrow (or reinstall citysim)"
)

STATUSES = ("ok", "failed", "pending")
"""Status of a run in the runs table: finished, failed (its error recorded), or not run yet."""

RUN_COLUMNS = (
    "run_status",
    *SUMMARY_KEYS,
    "sim_time_s",
    "gridlocks",
    "stalled_at_s",
    "run_wall_s",
    "setup_wall_s",
    "sim_wall_s",
    "error",
)
"""Columns of the runs table after ``key``, ``status``, the parameter columns and ``seed``;
the metrics of the scenario's optional sections follow ``vehicle_steps``. ``status`` says whether
the run finished (``ok``); ``run_status`` how it ended (see :data:`sim.metrics.results.RUN_STATUSES`):
a run that stalls or reaches its time limit is ``ok`` with its trips counted unfinished."""


class ResultStore:
    """A sweep folder (see the module docstring); constructing one touches nothing on disk.

    Args:
        root: The sweep folder.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    # ----- layout ------------------------------------------------------------------
    def record_path(self, key: str) -> Path:
        """The record file of run ``key``."""
        return self.root / _RUNS_DIR / f"{key}.json"

    def results_path(self, key: str) -> Path:
        """The results folder of run ``key`` (present when the sweep kept records)."""
        return self.root / _RUNS_DIR / key

    # ----- the plan ----------------------------------------------------------------
    def save_plan(self, plan: SweepPlan) -> Path:
        """Create the folder and write ``sweep.json`` for ``plan``, replacing an earlier plan.

        Records of runs the new plan does not contain stay on disk, but leave the runs table.

        Raises:
            SweepError: If pyarrow is missing: the tables could not be written after the runs.
        """
        _require_pyarrow(self.root / f"{_TABLE}.parquet")
        (self.root / _RUNS_DIR).mkdir(parents=True, exist_ok=True)
        content = {
            "format": _PLAN_FORMAT,
            "format_version": _FORMAT_VERSION,
            "scenario": str(plan.spec.scenario),
            "scenario_name": plan.base.name,
            "source": plan.spec.source,
            "overrides": dict(plan.spec.overrides),
            "parameters": list(plan.parameters),
            "seeds": list(plan.seeds),
            "baseline": list(plan.baseline) if plan.baseline is not None else None,
            "version": plan.version,
            "runs": [
                {
                    "key": run.key,
                    "params": dict(run.params),
                    "seed": run.seed,
                    "scenario_key": run.scenario.key(),
                }
                for run in plan.runs
            ],
        }
        return _write_json(self.root / PLAN_FILE, content)

    def plan(self) -> dict[str, Any]:
        """Read ``sweep.json``: ``parameters``, ``seeds``, ``baseline``, ``runs`` and provenance.

        Raises:
            SweepError: If the folder has no (valid) ``sweep.json``.
        """
        path = self.root / PLAN_FILE
        if not path.is_file():
            raise SweepError(str(self.root), "", f"not a sweep folder: {PLAN_FILE} is missing")
        content = _read_json(path)
        if content.get("format") != _PLAN_FORMAT or content.get("format_version") != _FORMAT_VERSION:
            raise SweepError(
                str(path), "", f'expected "format": {_PLAN_FORMAT!r}, "format_version": {_FORMAT_VERSION}'
            )
        return content

    # ----- run records ---------------------------------------------------------------
    def write_record(self, record: Mapping[str, Any]) -> Path:
        """Write a run's record atomically; the run then counts as finished."""
        return _write_json(self.record_path(str(record["key"])), {"format": RECORD_FORMAT, **record})

    def read_record(self, key: str) -> dict[str, Any] | None:
        """The record of run ``key``, or ``None`` if the run has not finished.

        Raises:
            SweepError: If the record exists but is not a run record (damaged by hand).
        """
        path = self.record_path(key)
        if not path.is_file():
            return None
        record = _read_json(path)
        if record.get("format") != RECORD_FORMAT or record.get("key") != key:
            raise SweepError(
                str(path), "", f'expected a run record with "format": {RECORD_FORMAT!r}, "key": {key!r}'
            )
        return record

    def statuses(self) -> dict[str, str]:
        """``key -> status`` of every record in the folder (finished runs of any plan)."""
        runs = self.root / _RUNS_DIR
        if not runs.is_dir():
            return {}
        found = {}
        for path in runs.glob("*.json"):
            record = self.read_record(path.stem)
            if record is not None:
                found[path.stem] = str(record["status"])
        return found

    def load_run(self, key: str) -> RunResults:
        """The full results of run ``key`` (trips, series, links, graph).

        Raises:
            SweepError: If the run has no results folder (it failed, or ran without records).
        """
        folder = self.results_path(key)
        if not (folder / "summary.json").is_file():
            raise SweepError(
                str(self.root),
                "",
                f"run {key} has no results folder (it failed, or the sweep ran with --no-records)",
            )
        return load_results(folder)

    def iter_results(self, runs: pd.DataFrame) -> Iterator[tuple[pd.Series, RunResults]]:
        """Yield ``(row, results)`` for each ``ok`` row of a runs table whose run kept its records."""
        for _, row in runs[runs["status"] == "ok"].iterrows():
            if (self.results_path(row["key"]) / "summary.json").is_file():
                yield row, load_results(self.results_path(row["key"]))

    # ----- the runs table ------------------------------------------------------------
    def runs_table(self) -> pd.DataFrame:
        """One row per planned run: ``key``, ``status``, parameters, ``seed`` and :data:`RUN_COLUMNS`.

        Built from ``sweep.json`` and the records, so it is exact and current even while a sweep
        runs or after it was killed (unfinished runs are ``pending``). The frame's ``attrs`` hold
        ``parameters`` (the parameter columns), ``metrics``, ``baseline`` (``(column, value)`` or
        ``None``) and ``records_stamp`` (what :meth:`read_runs` checks a stored table against).

        Raises:
            SweepError: If the folder is not a sweep folder.
        """
        # Stamped before reading: a record that lands meanwhile makes the stamp stale, never wrong.
        stamp = self._stamp()
        plan = self.plan()
        parameters = list(plan["parameters"])
        rows = []
        sections: dict[str, None] = {}
        for run in plan["runs"]:
            record = self.read_record(run["key"]) or {"status": "pending"}
            info = record.get("info", {})
            metrics = record.get("metrics") or {}
            sections |= dict.fromkeys(name for name in metrics if name not in SUMMARY_KEYS)
            row: dict[str, Any] = {"key": run["key"], "status": record["status"]}
            row |= {name: _cell(run["params"].get(name)) for name in parameters}
            row["seed"] = run["seed"]
            row["run_status"] = info.get("status")
            row |= {name: _number(value) for name, value in metrics.items()}
            row |= {name: _number(info.get(name)) for name in ("sim_time_s", "gridlocks", "stalled_at_s")}
            row |= {name: _number(info.get(name)) for name in ("setup_wall_s", "sim_wall_s")}
            row["run_wall_s"] = _number(record.get("run_wall_s"))
            row["error"] = record.get("error")
            rows.append(row)
        last = RUN_COLUMNS.index("vehicle_steps") + 1
        columns = [*RUN_COLUMNS[:last], *sections, *RUN_COLUMNS[last:]]
        table = pd.DataFrame(rows, columns=["key", "status", *parameters, "seed", *columns])
        table.attrs["parameters"] = parameters
        table.attrs["metrics"] = [*SUMMARY_KEYS, *sections]
        baseline = plan.get("baseline")
        table.attrs["baseline"] = tuple(baseline) if baseline is not None else None
        table.attrs[_STAMP_KEY] = stamp
        return table

    def read_runs(self) -> pd.DataFrame:
        """The runs table: ``runs.parquet`` while it is current, else rebuilt from the records.

        Returns:
            The frame :meth:`runs_table` builds, with the same columns, types and ``attrs``.

        Raises:
            SweepError: If the folder is not a sweep folder, or pyarrow is missing.
        """
        path = self.root / f"{_TABLE}.parquet"
        if path.is_file():
            table = _read_parquet(path)
            if table.attrs.get(_STAMP_KEY) == self._stamp():
                baseline = table.attrs.get("baseline")
                table.attrs["baseline"] = tuple(baseline) if baseline is not None else None
                return table
        return self.runs_table()

    def write_table(self, table: pd.DataFrame, name: str = _TABLE) -> list[Path]:
        """Write a table as ``<name>.parquet`` (types and ``attrs`` kept) and ``<name>.csv``, atomically.

        Raises:
            SweepError: If pyarrow is missing (the records stay; the tables can be written later).
        """
        return [
            _write_frame(table, self.root / f"{name}.parquet", "parquet"),
            _write_frame(table, self.root / f"{name}.csv", "csv"),
        ]

    def remove_table(self, name: str) -> None:
        """Remove ``<name>.parquet`` and ``<name>.csv`` if present (a table the sweep no longer has)."""
        for suffix in (".parquet", ".csv"):
            (self.root / f"{name}{suffix}").unlink(missing_ok=True)

    def _stamp(self) -> str:
        """A digest of the name, size and modification time of ``sweep.json`` and every record."""
        files = [self.root / PLAN_FILE, *sorted((self.root / _RUNS_DIR).glob("*.json"))]
        digest = hashlib.sha256()
        for path in files:
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return digest.hexdigest()


def load_runs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load the runs table of a sweep folder into a DataFrame, one row per run.

    Reads ``runs.parquet`` while it matches the records, else builds the table from them
    (:meth:`ResultStore.read_runs`), so the table is current even while a sweep runs.

    Columns: ``key``, ``status`` (one of :data:`STATUSES`), one column per grid parameter named by
    its dotted key (e.g. ``"demand.scale"``), ``seed``, every summary metric, then
    ``sim_time_s``, ``gridlocks``, ``stalled_at_s``, ``run_wall_s``, ``setup_wall_s``,
    ``sim_wall_s`` and ``error``. ``attrs["parameters"]`` lists the parameter columns and
    ``attrs["baseline"]`` is the baseline ``(column, value)`` or ``None``.

    Raises:
        SweepError: If the folder is not a sweep folder, or pyarrow is missing.
    """
    return ResultStore(path).read_runs()


def _cell(value: Any) -> Any:
    """A parameter value as a table cell: lists and tables as JSON text, so groups can be formed."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def _number(value: Any) -> float | int:
    return math.nan if value is None else value


def _jsonable(value: Any) -> Any:
    """Non-finite floats as ``None``; everything else as it is (already JSON types)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _read_json(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SweepError(str(path), "", f"invalid JSON at line {error.lineno}: {error.msg}") from None
    if not isinstance(content, dict):
        raise SweepError(str(path), "", "expected a JSON object")
    return content


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def _commit(temp: Path, target: Path) -> Path:
    """Flush ``temp`` to disk and rename it over ``target``."""
    with temp.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(temp, target)
    return target


def _write_json(target: Path, content: Mapping[str, Any]) -> Path:
    temp = _temporary(target)
    try:
        temp.write_text(json.dumps(_jsonable(content), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        return _commit(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _write_frame(frame: pd.DataFrame, target: Path, kind: str) -> Path:
    temp = _temporary(target)
    try:
        if kind == "csv":
            frame.to_csv(temp, index=False)
        else:
            _require_pyarrow(target)
            _arrow_safe(frame).to_parquet(temp, index=False, engine="pyarrow")
        return _commit(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _require_pyarrow(path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise SweepError(str(path), "", _PYARROW_MISSING) from None


def _read_parquet(path: Path) -> pd.DataFrame:
    _require_pyarrow(path)
    return pd.read_parquet(path, engine="pyarrow")


def _arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column Arrow cannot type (values of mixed kinds) stored as text."""
    import pyarrow as pa

    objects = [name for name, dtype in frame.dtypes.items() if pd.api.types.is_object_dtype(dtype)]
    mixed = []
    for name in objects:
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            mixed.append(name)
    if not mixed:
        return frame
    return frame.assign(**{name: frame[name].map(_text) for name in mixed})


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
