"""Sweep definitions: a base scenario, a grid over scenario keys and seeds, planned into runs.

A sweep is written as a TOML file::

    scenario = "demo.toml"          # the base scenario, relative to this file
    seeds = 20                      # N seeds s, s+1, ..., s+N-1 (s: the scenario's seed), or a list
    baseline = { "signals.controller" = "fixed_time" }   # optional, for paired differences

    [set]                           # optional fixed overrides of the base scenario
    "simulation.max_time_s" = 3600

    [grid]                          # a list of values per scenario key (dotted or nested keys)
    "signals.controller" = ["fixed_time", "max_pressure"]
    "demand.scale" = [0.5, 1.0, 1.5]

or on the command line, ``citysim sweep SCENARIO --grid signals.controller=fixed_time,max_pressure
--grid demand.scale=0.5,1.0,1.5 --seeds 20``. Command-line values are read as TOML values, a bare
word as a string, exactly as ``--set`` is.

:func:`plan_sweep` validates every combination with :func:`sim.scenario.load_scenario` before
anything runs, so a bad value fails at once with the scenario file's own message. Each run is
keyed by a hash of (the scenario's content key after overrides, seed, package version).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sim import __version__
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.schema import read_toml

__all__ = [
    "GridAxis",
    "PlannedRun",
    "SweepError",
    "SweepPlan",
    "SweepSpec",
    "load_sweep",
    "parse_assignment",
    "parse_grid",
    "parse_seeds",
    "plan_sweep",
    "run_key",
    "sweep_spec_for",
]

_SWEEP_KEYS = ("scenario", "seeds", "baseline", "set", "grid")
_MAX_LISTED_ERRORS = 5
_OPEN, _CLOSE, _QUOTES = "[{", "]}", "\"'"


class SweepError(ValueError):
    """A sweep definition, or one of its combinations, that cannot be run.

    Attributes:
        source: The sweep file, or ``"<command line>"``.
        key: The offending key (``grid."demand.scale"``, ``--seeds``, ...); empty if none.
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
        self.source = source
        self.key = key


@dataclass(frozen=True)
class GridAxis:
    """One dimension of the grid: a dotted scenario key and the values it takes, in order."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A sweep as written: nothing is validated against the scenario yet (see :func:`plan_sweep`).

    Attributes:
        scenario: The base scenario TOML file.
        grid: The axes; the sweep runs every combination of their values.
        seeds: A count N (seeds ``s .. s+N-1`` from the base scenario's seed ``s``) or the seeds.
        overrides: ``(dotted key, value)`` pairs applied to the base scenario before the grid.
        baseline: ``(axis key, value)`` that paired differences compare the other values with.
        source: Where the definition came from, named in errors.
    """

    scenario: Path
    grid: tuple[GridAxis, ...] = ()
    seeds: int | tuple[int, ...] = 1
    overrides: tuple[tuple[str, Any], ...] = ()
    baseline: tuple[str, Any] | None = None
    source: str = "<command line>"


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: a validated scenario and a seed.

    Attributes:
        key: 16 hex digits of the hash of (scenario key, seed, package version).
        params: ``(axis key, canonical value)`` per grid axis, as the validated scenario holds it
            (``demand.scale=1`` gives ``1.0``).
        seed: The model seed.
        scenario: The base scenario with the overrides and this combination applied.
    """

    key: str
    params: tuple[tuple[str, Any], ...]
    seed: int
    scenario: Scenario


@dataclass(frozen=True)
class SweepPlan:
    """Every run of a sweep, validated, in seed-major order (all combinations of a seed together).

    Attributes:
        spec: The definition it was planned from.
        base: The base scenario with the fixed overrides.
        parameters: The axis keys, in grid order: the parameter columns of the runs table.
        seeds: The seeds, in order.
        runs: The runs.
        baseline: ``(axis key, canonical value)`` or ``None``.
        version: The package version in every run key.
    """

    spec: SweepSpec
    base: Scenario
    parameters: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: tuple[PlannedRun, ...]
    baseline: tuple[str, Any] | None
    version: str


def run_key(scenario_key: str, seed: int, version: str = __version__) -> str:
    """Return the store key of a run: 16 hex digits of sha256 over (scenario key, seed, version)."""
    text = json.dumps([scenario_key, int(seed), version], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ----- parsing -----------------------------------------------------------------------
def _value(raw: str) -> Any:
    """A command-line value: TOML (``0.5``, ``true``, ``[1, 2]``, ``"a,b"``), else the bare text."""
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes: ``[0,1],[2,3]`` is two values."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in _QUOTES:
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _checked_key(source: str, where: str, key: Any) -> str:
    if not isinstance(key, str) or not all(part.strip() for part in key.split(".")):
        raise SweepError(source, where, f"expected a dotted scenario key like 'demand.scale', got {key!r}")
    if key == "seed":
        raise SweepError(source, where, "the seed is not a grid key; give the seeds with 'seeds'/--seeds")
    return key.strip()


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """Parse ``KEY=VALUE`` (value as TOML, else a bare string), as ``--set`` and ``--baseline`` take.

    Raises:
        SweepError: If there is no ``=`` or the key is not a dotted key.
    """
    key, sep, raw = text.partition("=")
    if not sep or not raw.strip():
        raise SweepError("<command line>", option, f"expected KEY=VALUE, got {text!r}")
    return _checked_key("<command line>", option, key.strip()), _value(raw.strip())


def parse_grid(text: str) -> GridAxis:
    """Parse ``--grid KEY=V1,V2,...``; commas inside brackets or quotes do not split values.

    Raises:
        SweepError: If the text has no ``=``, an empty value, or a value twice.
    """
    key, sep, raw = text.partition("=")
    if not sep or not raw.strip():
        raise SweepError("<command line>", "--grid", f"expected KEY=V1,V2,..., got {text!r}")
    pieces = _split_values(raw)
    if not all(pieces):
        raise SweepError("<command line>", "--grid", f"empty value in {text!r}")
    key = _checked_key("<command line>", "--grid", key.strip())
    return _axis("<command line>", f"--grid {key}", key, [_value(piece) for piece in pieces])


def parse_seeds(text: str) -> int | tuple[int, ...]:
    """Parse ``--seeds``: ``N`` (a count) or a comma list ``3,7,11`` (``7,`` is the one seed 7).

    Raises:
        SweepError: If the count is not an integer >= 1 or a seed not an integer >= 0.
    """
    if "," not in text:
        return _seeds("<command line>", "--seeds", _int_or_text(text))
    return _seeds(
        "<command line>", "--seeds", [_int_or_text(part) for part in text.split(",") if part.strip()]
    )


def _int_or_text(text: str) -> int | str:
    try:
        return int(text.strip())
    except ValueError:
        return text.strip()


def _seeds(source: str, where: str, value: Any) -> int | tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise SweepError(source, where, f"expected a count >= 1 or a list of seeds, got {value!r}")
        return value
    good = isinstance(value, list | tuple) and len(value) > 0
    good = good and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    if not good:
        raise SweepError(
            source, where, f"expected a count >= 1 or a non-empty list of integers >= 0, got {value!r}"
        )
    if len(set(value)) != len(value):
        raise SweepError(source, where, f"expected distinct seeds, got {list(value)}")
    return tuple(value)


def _axis(source: str, where: str, key: str, values: Any) -> GridAxis:
    if not isinstance(values, list | tuple) or not values:
        raise SweepError(source, where, f"expected a non-empty list of values, got {values!r}")
    for first, second in itertools.combinations(range(len(values)), 2):
        if values[first] == values[second] and type(values[first]) is type(values[second]):
            raise SweepError(source, where, f"value {values[first]!r} is listed twice")
    return GridAxis(key, tuple(values))


def _flatten(source: str, where: str, table: Any, prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables as dotted keys: ``{signals = {controller = x}}`` gives ``signals.controller``."""
    if not isinstance(table, Mapping):
        raise SweepError(source, where, f"expected a table of scenario keys, got {table!r}")
    flat: dict[str, Any] = {}
    for name, value in table.items():
        dotted = f"{prefix}{name}"
        nested = (
            _flatten(source, where, value, f"{dotted}.") if isinstance(value, Mapping) else {dotted: value}
        )
        for key, item in nested.items():
            if key in flat:
                raise SweepError(source, f"{where}.{key}", "given twice (as a dotted key and in a table)")
            flat[_checked_key(source, f"{where}.{key}", key)] = item
    return flat


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep TOML file (see the module docstring); the scenario path resolves beside it.

    Raises:
        SweepError: If the file cannot be read or breaks the sweep schema.
    """
    file = Path(path).resolve()
    source = str(file)
    data = read_toml(file, "sweep", SweepError)
    unknown = sorted(set(data) - set(_SWEEP_KEYS))
    if unknown:
        raise SweepError(source, unknown[0], f"unknown key; allowed keys: {', '.join(_SWEEP_KEYS)}")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        raise SweepError(source, "scenario", f"expected the base scenario's file path, got {scenario!r}")
    grid = _flatten(source, "grid", data.get("grid", {}))
    overrides = _flatten(source, "set", data.get("set", {}))
    both = sorted(set(grid) & set(overrides))
    if both:
        raise SweepError(source, f"set.{both[0]}", "also a grid key; give it in [grid] or [set], not both")
    baseline = None
    if "baseline" in data:
        table = _flatten(source, "baseline", data["baseline"])
        if len(table) != 1:
            raise SweepError(source, "baseline", f"expected one key = value, got {data['baseline']!r}")
        baseline = next(iter(table.items()))
    return SweepSpec(
        scenario=(file.parent / scenario).resolve(),
        grid=tuple(_axis(source, f"grid.{key}", key, values) for key, values in grid.items()),
        seeds=_seeds(source, "seeds", data.get("seeds", 1)),
        overrides=tuple(overrides.items()),
        baseline=baseline,
        source=source,
    )


def sweep_spec_for(
    path: str | Path,
    grid: Sequence[GridAxis] = (),
    overrides: Sequence[tuple[str, Any]] = (),
    seeds: int | tuple[int, ...] | None = None,
    baseline: tuple[str, Any] | None = None,
) -> SweepSpec:
    """The sweep of a sweep file or of a scenario file, with command-line additions.

    A TOML file with a top-level ``scenario`` key is a sweep file; any other is the base scenario.
    Command-line axes replace file axes of the same key and are added after the others; overrides
    are added after the file's; ``seeds`` and ``baseline`` replace the file's.

    Raises:
        SweepError: If the sweep file is invalid, or a key is given twice on the command line.
    """
    file = Path(path)
    spec = load_sweep(file) if _is_sweep_file(file) else SweepSpec(scenario=file.resolve())
    keys = [axis.key for axis in grid]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise SweepError("<command line>", "--grid", f"{twice[0]!r} is given twice")
    kept = tuple(axis for axis in spec.grid if axis.key not in keys)
    return replace(
        spec,
        grid=kept + tuple(grid),
        overrides=spec.overrides + tuple(overrides),
        seeds=spec.seeds if seeds is None else seeds,
        baseline=spec.baseline if baseline is None else baseline,
    )


def _is_sweep_file(path: Path) -> bool:
    """Whether a TOML file is a sweep definition (top-level ``scenario`` key); unreadable: not one."""
    try:
        return "scenario" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


# ----- planning ----------------------------------------------------------------------
def _canonical(scenario: Scenario, key: str, fallback: Any) -> Any:
    """The value the validated scenario holds at a dotted key (``1`` becomes ``1.0`` for a float key)."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return fallback
        node = node[part]
    return node


@dataclass(frozen=True)
class _Combination:
    """One grid point: the values as given, as the validated scenario holds them, and the scenario."""

    raw: tuple[tuple[str, Any], ...]
    params: tuple[tuple[str, Any], ...]
    scenario: Scenario


def _label(params: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in params) or "the base scenario"


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    """Validate every combination of a sweep and list its runs; nothing is run.

    Raises:
        ScenarioError: If the base scenario (with the fixed overrides) is invalid.
        SweepError: If a combination is invalid (each one listed with the scenario's message),
            two combinations describe the same scenario, or the baseline is not a grid value.
    """
    overrides = dict(spec.overrides)
    base = load_scenario(spec.scenario, overrides)
    combos: list[_Combination] = []
    failures: list[str] = []
    points = list(itertools.product(*(axis.values for axis in spec.grid)))
    for point in points:
        raw = tuple(zip((axis.key for axis in spec.grid), point, strict=True))
        try:
            scenario = load_scenario(spec.scenario, {**overrides, **dict(raw)})
        except ScenarioError as error:
            failures.append(f"combination {_label(raw)}: {error}")
            continue
        params = tuple((key, _canonical(scenario, key, value)) for key, value in raw)
        combos.append(_Combination(raw, params, scenario))
    if failures:
        listed = failures[:_MAX_LISTED_ERRORS]
        more = len(failures) - len(listed)
        listed += [f"... and {more} more"] if more else []
        problem = f"{len(failures)} of {len(points)} combination(s) are invalid\n" + "\n".join(listed)
        raise SweepError(spec.source, "", problem)
    seen: dict[str, _Combination] = {}
    for combo in combos:
        other = seen.setdefault(combo.scenario.key(), combo)
        if other is not combo:
            raise SweepError(
                spec.source,
                "grid",
                f"combinations {_label(other.raw)} and {_label(combo.raw)} give the same scenario",
            )
    seeds = tuple(range(base.seed, base.seed + spec.seeds)) if isinstance(spec.seeds, int) else spec.seeds
    runs = tuple(
        PlannedRun(run_key(combo.scenario.key(), seed), combo.params, seed, combo.scenario)
        for seed in seeds
        for combo in combos
    )
    return SweepPlan(
        spec=spec,
        base=base,
        parameters=tuple(axis.key for axis in spec.grid),
        seeds=seeds,
        runs=runs,
        baseline=_baseline(spec, combos),
        version=__version__,
    )


def _baseline(spec: SweepSpec, combos: Sequence[_Combination]) -> tuple[str, Any] | None:
    """The baseline as ``(axis key, canonical value)``, matched against the raw or canonical values."""
    if spec.baseline is None:
        return None
    key, value = spec.baseline
    keys = [axis.key for axis in spec.grid]
    if key not in keys:
        raise SweepError(
            spec.source, "baseline", f"{key!r} is not a grid key; grid keys: {', '.join(keys) or 'none'}"
        )
    index = keys.index(key)
    for combo in combos:
        level = combo.params[index][1]
        if value in (combo.raw[index][1], level):
            return key, level
    levels = list(dict.fromkeys(combo.params[index][1] for combo in combos))
    raise SweepError(spec.source, "baseline", f"{value!r} is not among the {key!r} values {levels}")
