"""Fuzzing the inputs: mutated scenario, network, trip and OD files never crash a run.

Every case writes a mutated file (or set of files) to a temporary folder and goes through the
entry points the CLI uses: :func:`sim.scenario.load_scenario`, then :class:`sim.model.CityModel`,
its ``run`` and ``results``. Each must end either in one of citysim's named errors (a
``ValueError`` defined in ``sim``, which the CLI prints as one line) whose message names the
file and stays short, or in a run. Any other exception is a crash, and a case that outlives
its wall-time budget is a hang; the test allows neither. Simulated time is capped per run,
and the cases come from a seeded generator, so every run of the test fuses the same inputs.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.model import CityModel
from sim.network import grid, save_network_json
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DATA = Path(__file__).resolve().parents[1] / "sim" / "data"
SEED = 20260513
N_SCENARIO_CASES = 1000
N_NETWORK_CASES = 250
N_TRIP_CASES = 200
N_MATRIX_CASES = 150
CAP_S = 60.0
"""Simulated time of a run (s): enough for a few signal cycles and trips across a small grid."""
WALL_S = 10.0
"""Wall time a single case may take (s) before it counts as a hang."""
MAX_MESSAGE_CHARS = 1000
"""Longest error message accepted: bad values and file lines are quoted as short excerpts."""

_NUMBERS = (math.nan, math.inf, -math.inf, 1e300, -1.0, 0.0, 1e-12, 10**18, -(10**18), 2**70)
_WRONG_TYPES = ("text", True, [1, 2], {"a": 1}, "", [], "30")
_BAD_PATHS = (
    "bench:../../../../etc/passwd",
    "bench:/etc/passwd",
    "bench:grid5/../../../../pyproject.toml",
    "../outside.csv",
    "../../../../../../etc/hostname",
    "/nonexistent/folder/file.csv",
    "",
    "a\0b.csv",
    "x" * 5000 + ".csv",
    ".",
    "net.json",
    "trips.csv",
    "od.csv",
    "garbage.bin",
    "bench:grid5/network.json",
    "bench:grid5/trips.csv",
    "bench:nowhere/x.csv",
)
_PATH_KEYS = (
    ("network", "path"),
    ("demand", "trips"),
    ("demand", "matrix"),
    ("emergency", "table"),
    ("shuttles", "requests"),
    ("signals", "policy"),
)


# ----- writing the inputs ------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(_toml_value(item) for item in value) + "]"


def _toml(data: dict[str, Any]) -> str:
    """A TOML document: top-level scalars first, then one [table] per table (nested ones inline)."""
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(name)}]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def _small_files(folder: Path) -> dict[str, str]:
    """A 2x2 grid network, its trips and an OD matrix, as file texts."""
    net = folder / "net.json"
    save_network_json(grid(2, 2), net)
    trips = ["id,depart_s,origin,destination", "a,0,W0,E0", "b,5.5,S1,N0", "c,12,E1,W1", "d,20,N1,S0"]
    od = ["origin,destination,rate_vph", "W0,E0,300", "S1,N0,200", "E1,W1,100"]
    return {"net.json": net.read_text(), "trips.csv": "\n".join(trips) + "\n", "od.csv": "\n".join(od) + "\n"}


def _generated_base() -> dict[str, Any]:
    return {
        "name": "fuzz",
        "seed": 3,
        "network": {"type": "file", "path": "net.json"},
        "demand": {"type": "trips", "trips": "trips.csv"},
        "signals": {"controller": "fixed_time", "green_s": 12.5, "yellow_s": 3.5},
        "simulation": {"max_time_s": 600.0},
    }


def _shrunk(data: dict[str, Any]) -> dict[str, Any]:
    """A shipped scenario made small enough to build and run in milliseconds."""
    data = copy.deepcopy(data)
    network, demand = data.get("network", {}), data.get("demand", {})
    for key in ("rows", "cols"):
        if key in network:
            network[key] = min(network[key], 6)
    if "n_intersections" in network:
        network["n_intersections"] = min(network["n_intersections"], 4)
    if str(network.get("path", "")).startswith("bench:"):
        network["path"] = "bench:grid5/network.json"
    if demand.get("type") == "trips":
        demand["trips"] = "bench:grid5/trips.csv"
    if "duration_s" in demand or demand.get("type", "uniform") != "trips":
        demand["duration_s"] = min(demand.get("duration_s", 3600.0), 120.0)
    return data


def _bases() -> list[tuple[str, dict[str, Any]]]:
    shipped = [
        (path.name, _shrunk(tomllib.loads(path.read_text()))) for path in sorted(SCENARIOS.glob("*.toml"))
    ]
    return [*shipped, ("generated", _generated_base())]


# ----- mutations ---------------------------------------------------------------------------
def _leaves(data: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key), value
            yield from _leaves(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield (*prefix, index), value
            yield from _leaves(value, (*prefix, index))


def _set(data: Any, where: tuple, value: Any) -> None:
    for part in where[:-1]:
        data = data[part]
    if value is _DROP:
        del data[where[-1]]
    else:
        data[where[-1]] = value


_DROP = object()


def _pick(rng: np.random.Generator, items: Any) -> Any:
    return items[int(rng.integers(len(items)))]


def _mutate_scenario(rng: np.random.Generator, data: dict[str, Any]) -> str:
    """Apply one random mutation to scenario tables in place; return its description."""
    leaves = list(_leaves(data))
    kind = _pick(rng, ("drop", "type", "number", "number", "unknown", "path", "table"))
    where, value = _pick(rng, leaves)
    if kind == "drop":
        _set(data, where, _DROP)
        return f"drop {where}"
    if kind == "type":
        new = _pick(rng, _WRONG_TYPES)
        _set(data, where, new)
        return f"{where} = {new!r}"
    if kind == "number":
        numeric = [(w, v) for w, v in leaves if isinstance(v, int | float) and not isinstance(v, bool)]
        if numeric:
            where, value = _pick(rng, numeric)
        new = _pick(rng, (*_NUMBERS, value * 7 if numeric else 7, value / 7 if numeric else -7))
        _set(data, where, new)
        return f"{where} = {new!r}"
    if kind == "unknown":
        tables = [w for w, v in leaves if isinstance(v, dict)]
        target = data if not tables or rng.random() < 0.3 else _get(data, _pick(rng, tables))
        target[_pick(rng, ("extra", "rate", "seed", "type", "é", "network"))] = _pick(rng, (1, "x", {"y": 2}))
        return "unknown key"
    if kind == "path":
        table, key = _pick(rng, _PATH_KEYS)
        new = _pick(rng, _BAD_PATHS)
        if not isinstance(data.get(table), dict):
            data[table] = {}
        data[table][key] = new
        if table in ("network", "demand") and rng.random() < 0.7:
            data[table]["type"] = {"path": "file", "trips": "trips", "matrix": "matrix"}[key]
        return f"{table}.{key} = {new[:40]!r}"
    table = _pick(
        rng, ("network", "demand", "signals", "simulation", "vehicles", "emergency", "parking", "shuttles")
    )
    data[table] = _pick(rng, (3, "x", [], {}, {"type": "grid"}, {"type": "matrix"}))
    return f"[{table}] = {data[table]!r}"


def _nudge_number(rng: np.random.Generator, data: dict[str, Any]) -> str:
    """Move one number to a value that is likely valid but unusual: small, large or scaled."""
    numeric = [(w, v) for w, v in _leaves(data) if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numeric:
        return "no number"
    where, value = _pick(rng, numeric)
    factor = _pick(rng, (0.01, 0.1, 0.5, 2.0, 3.0, 10.0))
    new = _pick(rng, (0, 1, 2, 0.5, 1.5, 10, 70, 100, value * factor))
    _set(data, where, int(new) if isinstance(value, int) else float(new))
    return f"{where} = {new!r}"


def _get(data: Any, where: tuple) -> Any:
    for part in where:
        data = data[part]
    return data


def _mutate_bytes(rng: np.random.Generator, text: str) -> bytes:
    """Garbage: random bytes, a truncated file, flipped bytes, or binary noise appended."""
    raw = bytearray(text.encode("utf-8"))
    kind = int(rng.integers(4))
    if kind == 0:
        return bytes(rng.integers(0, 256, size=int(rng.integers(1, 400)), dtype=np.uint8))
    if kind == 1:
        return bytes(raw[: int(rng.integers(len(raw) + 1))])
    if kind == 2:
        for _ in range(int(rng.integers(1, 6))):
            raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
        return bytes(raw)
    return bytes(raw) + b"\x00\xff\xfe" + bytes(rng.integers(0, 256, size=64, dtype=np.uint8))


def _mutate_network(rng: np.random.Generator, text: str) -> bytes:
    if rng.random() < 0.2:
        return _mutate_bytes(rng, text)
    data = json.loads(text)
    for _ in range(int(rng.integers(1, 3))):
        section = _pick(rng, ("nodes", "edges"))
        item = _pick(rng, data[section])
        key = _pick(rng, list(item))
        kind = _pick(rng, ("drop", "value", "value", "unknown", "list", "plan"))
        if kind == "drop":
            del item[key]
        elif kind == "value":
            item[key] = _pick(rng, (*_NUMBERS, *_WRONG_TYPES, 1.5, 100, "n0_0", item.get("id", "W0")))
        elif kind == "unknown":
            item[_pick(rng, ("extra", "speed_mps", "x" * 3000))] = 1
        elif kind == "list":
            data[section] = _pick(rng, ([], data[section] * 2, data[section][:1], "nodes", None))
            break
        else:
            node = _pick(rng, data["nodes"])
            node["signalized"] = True
            node["signal_plan"] = _pick(
                rng,
                (
                    {
                        "phases": [[["W0", "E0"]]],
                        "greens_s": [10.0],
                        "yellow_s": 3.0,
                        "all_red_s": 0.0,
                        "offset_s": 0,
                    },
                    {"phases": [], "greens_s": [], "yellow_s": -1, "all_red_s": math.nan, "offset_s": 1e300},
                    {
                        "phases": [[["n0_1", "n1_0"]]],
                        "greens_s": [1e308, 1e308],
                        "yellow_s": 3,
                        "all_red_s": 0,
                    },
                    "plan",
                ),
            )
    return json.dumps(data, allow_nan=True).encode("utf-8")


def _mutate_table(rng: np.random.Generator, text: str) -> bytes:
    if rng.random() < 0.25:
        return _mutate_bytes(rng, text)
    lines = text.splitlines()
    index = int(rng.integers(len(lines)))
    cells = lines[index].split(",")
    kind = _pick(rng, ("cell", "cell", "cell", "drop_line", "extra_cell", "header_only", "duplicate", "long"))
    if kind == "cell":
        cells[int(rng.integers(len(cells)))] = _pick(
            rng, ("nan", "inf", "-1", "1e300", "", "zz", "W0", "0", "1e6", "3.5", '"', "\x00", "n0_0 n9_9")
        )
    elif kind == "drop_line":
        del lines[index]
        return ("\n".join(lines) + "\n").encode()
    elif kind == "extra_cell":
        cells.append("extra")
    elif kind == "header_only":
        return (lines[0] + "\n").encode()
    elif kind == "duplicate":
        lines.extend(lines[1:] * 3)
    else:
        cells[int(rng.integers(len(cells)))] = "y" * 200_000
    lines[index] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode("utf-8", errors="replace")


# ----- running a case ----------------------------------------------------------------------
class _HangError(Exception):
    """A case ran out of its wall-time budget."""


@contextmanager
def _wall_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise _HangError(f"no result after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _is_named_error(error: BaseException) -> bool:
    """Whether it is one of citysim's input errors, which the CLI prints as one line (exit 2)."""
    return isinstance(error, ValueError) and type(error).__module__.partition(".")[0] == "sim"


def _run_case(scenario: Path, names: tuple[str, ...]) -> tuple[str, str]:
    """``("ran" | "error" | "crash" | "hang", detail)`` for one scenario file and its data files."""
    try:
        with _wall_limit(WALL_S):
            model = CityModel(load_scenario(scenario))
            model.run(until_s=CAP_S)
            model.results()
    except _HangError as hang:
        return "hang", str(hang)
    except Exception as error:  # noqa: BLE001 - the point: anything unnamed is a crash
        if not _is_named_error(error):
            return "crash", "".join(traceback.format_exception(error))[-3000:]
        message = str(error)
        if not any(name in message for name in (str(scenario.resolve()), str(DATA), *names)):
            return "crash", f"error names neither the scenario nor a data file: {message[:300]}"
        if len(message) > MAX_MESSAGE_CHARS or "\n" in message.strip():
            return "crash", f"error message of {len(message)} chars: {message[:300]}"
        return "error", message
    return "ran", ""


def _cases(folder: Path, rng: np.random.Generator) -> Iterator[tuple[str, Callable[[Path], tuple[str, ...]]]]:
    """Yield ``(description, write)``: ``write(case_folder)`` writes the files, returns data file names."""
    bases = _bases()
    files = _small_files(folder)

    def scenario_case(data: dict[str, Any], raw: bytes | None, extra: dict[str, bytes]) -> Callable:
        def write(case: Path) -> tuple[str, ...]:
            for name, text in files.items():
                (case / name).write_text(text)
            (case / "garbage.bin").write_bytes(b"\x00\xff" * 40)
            for name, content in extra.items():
                (case / name).write_bytes(content)
            (case / "scenario.toml").write_bytes(_toml(data).encode() if raw is None else raw)
            return (*files, "garbage.bin", "scenario.toml", *extra)

        return write

    for _ in range(N_SCENARIO_CASES):
        name, base = _pick(rng, bases)
        data = copy.deepcopy(base)
        if rng.random() < 0.08:
            yield f"{name}: garbage bytes", scenario_case(data, _mutate_bytes(rng, _toml(data)), {})
            continue
        mutate = _nudge_number if rng.random() < 0.5 else _mutate_scenario
        described = [mutate(rng, data) for _ in range(int(rng.integers(1, 4)))]
        yield f"{name}: {'; '.join(described)}", scenario_case(data, None, {})
    for file, count, mutate in (
        ("net.json", N_NETWORK_CASES, _mutate_network),
        ("trips.csv", N_TRIP_CASES, _mutate_table),
        ("od.csv", N_MATRIX_CASES, _mutate_table),
    ):
        for _ in range(count):
            data = _generated_base()
            if file == "od.csv":
                data["demand"] = {"type": "matrix", "matrix": "od.csv", "duration_s": 120.0}
            yield f"mutated {file}", scenario_case(data, None, {file: mutate(rng, files[file])})


def test_mutated_inputs_give_a_named_error_or_a_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    outcomes: dict[str, int] = {}
    failures: list[str] = []
    started = time.perf_counter()
    for index, (description, write) in enumerate(_cases(tmp_path, rng)):
        case = tmp_path / f"case{index:04d}"
        case.mkdir()
        names = write(case)
        outcome, detail = _run_case(case / "scenario.toml", names)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome in ("crash", "hang"):
            failures.append(f"case {index} ({description}): {outcome}: {detail}")
    elapsed = time.perf_counter() - started
    total = sum(outcomes.values())
    assert total >= 1000
    assert not failures, f"{len(failures)} of {total} cases failed:\n\n" + "\n\n".join(failures[:5])
    # both outcomes must occur, or the fuzzer tests nothing
    assert outcomes.get("ran", 0) >= 50 and outcomes.get("error", 0) >= 500, outcomes
    assert elapsed < 60.0, f"{total} cases took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("bench:../../../../etc/passwd.json", "expected a file path inside"),
        ("bench:/etc/passwd.json", "expected a file path inside"),
        ("../outside.json", "expected a file path inside"),
        ("a\0b.json", "expected a file path string"),
        ("x" * 5000 + ".json", "expected a readable file path"),
    ],
)
def test_file_references_cannot_escape_their_folder(tmp_path: Path, value: str, fragment: str) -> None:
    (tmp_path / "outside.json").write_text("{}")
    folder = tmp_path / "scenario"
    folder.mkdir()
    scenario = folder / "s.toml"
    scenario.write_text(_toml({"name": "x", "network": {"type": "file", "path": value}}))
    outcome, message = _run_case(scenario, ())
    assert outcome == "error"
    assert f"network.path: {fragment}" in message
    assert len(message) < 600
