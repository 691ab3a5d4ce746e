"""Schema building blocks for scenario tables: the named error, value checks, fields.

The scenario module and every optional scenario section (emergency, parking, shuttles)
declare their tables as frozen dataclasses whose fields carry a default and a check
(:func:`spec_field`); :func:`schema_of` turns such a class into the schema the scenario
loader validates with. Errors name the file, the dotted key and what was expected, and
suggest the closest allowed key or value for a typo. Each check describes what it accepts as
a JSON Schema fragment (:func:`json_schema`), from which :mod:`sim.keys` writes the key
reference and the JSON Schema of scenario files.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path, PurePath
from typing import Any

__all__ = [
    "BENCH_PREFIX",
    "COUNT",
    "DISTANCE",
    "DURATION",
    "EXCERPT_CHARS",
    "MAX_DISTANCE_M",
    "MAX_GREEN_S",
    "MAX_MULTIPLIER",
    "MAX_SPEED_MPS",
    "MAX_TIME_S",
    "NON_NEGATIVE",
    "POSITIVE",
    "REQUIRED",
    "SHARE",
    "SPEED",
    "TIME",
    "Check",
    "Context",
    "Schema",
    "ScenarioError",
    "choice",
    "excerpt",
    "flag",
    "integer",
    "json_schema",
    "number",
    "path",
    "paths",
    "profile",
    "read_toml",
    "schema_of",
    "spec_field",
    "suggestion",
    "tables",
    "text",
]

BENCH_PREFIX = "bench:"
"""Prefix of a file path inside the installed benchmark data folder ``sim/data/bench/``."""

_DATA_DIR = Path(__file__).resolve().parent / "data"
_BENCH_DIR = _DATA_DIR / "bench"
REQUIRED = object()
"""Default of a key that must be given."""
EXCERPT_CHARS = 80
"""Longest quote of a bad value or file line in an error message (characters, before the ellipsis)."""


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with an ellipsis when longer.

    Error messages quote bad values and file lines with it, so a huge value or a binary file
    read as text cannot flood a terminal or a log.
    """
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """``" did you mean 'x'?"`` for the candidate closest to a mistyped ``word``, or ``""``.

    Closeness is :func:`difflib.get_close_matches`' (a similarity ratio of at least 0.6).
    """
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" did you mean {close[0]!r}?" if close else ""


class ScenarioError(ValueError):
    """A scenario file, dict or override that breaks the schema.

    Attributes:
        source: The scenario file (or ``"<dict>"``) the error is about.
        key: Dotted key of the offending item; empty for whole-file errors.
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")
        self.source = source
        self.key = key


def read_toml(file: Path, what: str, error: Callable[[str, str, str], Exception]) -> dict[str, Any]:
    """The tables of the TOML file ``file`` (a ``what`` file, as the error says it could not read).

    Raises:
        Exception: ``error(source, "", problem)`` (a :class:`ScenarioError` or the like), if the
            file cannot be read, is not UTF-8 or is not valid TOML.
    """
    source = str(file)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(source, "", f"cannot read {what} file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(source, "", f"expected UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(source, "", f"invalid TOML: {exc}") from None


@dataclass(frozen=True)
class Context:
    """Where the values come from: the source named in errors and the folder of relative paths."""

    source: str
    base_dir: Path
    overridden: frozenset[str]

    def _note(self, key: str) -> str:
        base = key.partition("[")[0]
        hit = any(dotted == base or dotted.startswith(f"{base}.") for dotted in self.overridden)
        return " (set by override)" if hit else ""

    def fail(self, key: str, what: str, value: object, allowed: str = "", hint: str = "") -> ScenarioError:
        """An error for ``key``: expected ``what``, got ``value`` (quoted as an :func:`excerpt`).

        Args:
            key: The dotted key.
            what: What was expected.
            value: What was given.
            allowed: The whole allowed range, appended when ``what`` names only the broken bound.
            hint: Appended last, e.g. a :func:`suggestion`.
        """
        tail = f"; allowed: {allowed}" if allowed else ""
        return ScenarioError(
            self.source, key, f"expected {what}, got {excerpt(value)}{self._note(key)}{tail}{hint}"
        )

    def unknown(self, key: str, allowed: str, candidates: Iterable[str] = ()) -> ScenarioError:
        """An error for an unknown ``key``: the closest of ``candidates`` (if one is close), then ``allowed``.

        Args:
            key: The dotted key; its last part is compared with ``candidates``.
            allowed: What is allowed, e.g. ``"allowed keys in [demand]: ..."``.
            candidates: The allowed key names.
        """
        hint = suggestion(key.rpartition(".")[2], candidates)
        hint = f";{hint}" if hint else ";"
        return ScenarioError(self.source, key, f"unknown key{self._note(key)}{hint} {allowed}")

    def missing(self, key: str, where: str) -> ScenarioError:
        """An error for a required ``key`` that is missing ``where``."""
        return ScenarioError(self.source, key, f"missing required key{where}")


Check = Callable[[Context, str, Any], Any]


def _out_of_range(
    ctx: Context, key: str, value: Any, kind: str, lower: str, upper: str, above: bool
) -> ScenarioError:
    """The error for a value that is not a ``kind`` or breaks a bound: the bound it broke, then the range."""
    what = " ".join(filter(None, [kind, upper if above else lower or upper]))
    return ctx.fail(key, what, value, allowed=f"{lower} and {upper}" if lower and upper else "")


def number(
    ctx: Context,
    key: str,
    value: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """A finite number (int or float, not bool) within the given bounds, as a float.

    Raises:
        ScenarioError: Naming the bound that was broken and, for a two-sided range, the whole range.
    """
    lower = f"> {gt:g}" if gt is not None else f">= {ge:g}" if ge is not None else ""
    upper = f"<= {le:g}" if le is not None else ""
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not finite or (gt is not None and value <= gt) or (ge is not None and value < ge):
        raise _out_of_range(ctx, key, value, "a number", lower, upper, above=False)
    if le is not None and value > le:
        raise _out_of_range(ctx, key, value, "a number", lower, upper, above=True)
    return float(value)


def integer(ctx: Context, key: str, value: Any, *, ge: int, le: int | None = None) -> int:
    """An integer (not bool) >= ``ge`` and, if given, <= ``le``.

    Raises:
        ScenarioError: Naming the bound that was broken and, for a two-sided range, the whole range.
    """
    lower, upper = f">= {ge}", "" if le is None else f"<= {le}"
    if isinstance(value, bool) or not isinstance(value, int) or value < ge:
        raise _out_of_range(ctx, key, value, "an integer", lower, upper, above=False)
    if le is not None and value > le:
        raise _out_of_range(ctx, key, value, "an integer", lower, upper, above=True)
    return value


def text(ctx: Context, key: str, value: Any, *, nonempty: bool = False) -> str:
    """A string, non-empty if asked."""
    if not isinstance(value, str) or (nonempty and not value.strip()):
        raise ctx.fail(key, "a non-empty string" if nonempty else "a string", value)
    return value


def flag(ctx: Context, key: str, value: Any) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ctx.fail(key, "true or false", value)
    return value


def tables(
    ctx: Context, key: str, value: Any, fields: Mapping[str, tuple[bool, Check]], *, what: str = "tables"
) -> list[dict[str, Any]]:
    """A list of tables whose keys are ``fields`` (name -> (required, check)).

    Returns:
        One dict per table with every key of ``fields``; an absent optional key is None.
    """
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, f"a list of {what}", value)
    out = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise ctx.fail(where, "a table with " + ", ".join(fields), item)
        for name in item:
            if name not in fields:
                raise ctx.unknown(f"{where}.{name}", f"allowed keys: {', '.join(fields)}", fields)
        values = {}
        for name, (required, check) in fields.items():
            raw = item.get(name)
            if raw is None and required:
                raise ctx.missing(f"{where}.{name}", f" in {where}")
            values[name] = None if raw is None else check(ctx, f"{where}.{name}", raw)
        out.append(values)
    return out


def choice(ctx: Context, key: str, value: Any, *, choices: tuple[str, ...]) -> str:
    """One of ``choices``; a close miss names the choice it resembles."""
    if not isinstance(value, str) or value not in choices:
        hint = suggestion(value, choices) if isinstance(value, str) else ""
        raise ctx.fail(key, "one of " + ", ".join(map(repr, choices)), value, hint=f";{hint}" if hint else "")
    return value


def path(ctx: Context, key: str, value: Any, *, suffixes: tuple[str, ...] = ()) -> Path:
    """An existing file: absolute, relative to the scenario's folder, or ``bench:<name>/<file>``.

    A ``bench:`` path must stay inside the installed ``sim/data/bench/`` folder, and a relative
    path inside the scenario's folder tree or the installed data folder ``sim/data/`` (which the
    shipped scenarios reach as ``../sim/data/...``): a scenario file from elsewhere cannot make
    citysim read, and quote in its errors, files outside them. An absolute path is the user's
    explicit choice and may point anywhere. The containment is checked on the path as written
    (``..`` removed lexically), so symbolic links inside those folders keep working.

    Returns:
        The resolved absolute path.
    """
    if not isinstance(value, str | PurePath) or not str(value) or "\0" in str(value):
        raise ctx.fail(key, "a file path string", value)
    text = str(value)
    if suffixes and PurePath(text).suffix.lower() not in suffixes:
        raise ctx.fail(key, "a file ending in " + " or ".join(suffixes), value)
    bench = text.startswith(BENCH_PREFIX)
    written = Path(text.removeprefix(BENCH_PREFIX))
    if bench or not written.is_absolute():
        roots = (_BENCH_DIR,) if bench else (ctx.base_dir.absolute(), _DATA_DIR)
        lexical = Path(os.path.normpath(roots[0] / written))
        if not any(lexical.is_relative_to(root) for root in roots):
            inside = f"inside {_BENCH_DIR}" if bench else f"inside {roots[0]} or {_DATA_DIR}, or absolute"
            raise ctx.fail(key, f"a file path {inside}", value)
    try:
        found = (_BENCH_DIR / written if bench else ctx.base_dir / written).resolve()
        exists = found.is_file()
    except OSError as exc:
        raise ctx.fail(key, f"a readable file path ({exc.strerror or exc})", value) from None
    if not exists:
        raise ctx.fail(key, f"an existing file (resolved to {found})", value)
    return found


def paths(ctx: Context, key: str, value: Any, *, suffixes: tuple[str, ...] = ()) -> tuple[Path, ...]:
    """A list of existing files, each checked as :func:`path` checks one (``key[i]`` in errors)."""
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, "a list of file path strings", value)
    return tuple(path(ctx, f"{key}[{i}]", item, suffixes=suffixes) for i, item in enumerate(value))


def profile(ctx: Context, key: str, value: Any) -> tuple[tuple[float, float], ...]:
    """Piecewise ``[start_s, multiplier]`` pieces: the first at 0, starts increasing.

    Starts are times in [0, :data:`MAX_TIME_S`], multipliers in [0, :data:`MAX_MULTIPLIER`].
    """
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, "a list of [start_s, multiplier] pairs", value)
    pieces: list[tuple[float, float]] = []
    for index, piece in enumerate(value):
        item = f"{key}[{index}]"
        if not isinstance(piece, list | tuple) or len(piece) != 2:
            raise ctx.fail(item, "a [start_s, multiplier] pair", piece)
        start_s = TIME(ctx, item, piece[0])
        multiplier = number(ctx, item, piece[1], ge=0.0, le=MAX_MULTIPLIER)
        if not pieces and start_s != 0.0:
            raise ctx.fail(item, "the first piece to start at start_s = 0", piece)
        if pieces and start_s <= pieces[-1][0]:
            raise ctx.fail(item, f"start_s > {pieces[-1][0]:g} (the previous piece's start)", piece)
        pieces.append((start_s, multiplier))
    return tuple(pieces)


Schema = Mapping[str, tuple[Any, Check]]

POSITIVE = partial(number, gt=0.0)
NON_NEGATIVE = partial(number, ge=0.0)
COUNT = partial(integer, ge=1)

# Physical limits shared by every table. They are generous (no real scenario comes near them)
# but finite, so that no value can overflow a computation, allocate without bound or stall a run.
MAX_TIME_S = 3 * 86_400.0
"""Longest simulated time and the latest time or longest duration any key may give (s): 3 days."""
MAX_SPEED_MPS = 70.0
"""Highest speed (m/s; 252 km/h, above any posted road limit)."""
MAX_DISTANCE_M = 100_000.0
"""Longest distance any key may give (m): 100 km, beyond a metropolitan area's extent."""
MAX_GREEN_S = 1_000_000.0
"""Longest green (s). Far beyond any cycle, but a green longer than any run (3 days) is the
idiom of a signal that never switches: SUMO programs write 10,000 s for such phases, and
free-flow references run a signal at a green of 10^6 s."""
MAX_MULTIPLIER = 100.0
"""Largest demand multiplier (``scale``, profile pieces): 100 times the given rates."""

TIME = partial(number, ge=0.0, le=MAX_TIME_S)
"""A time or duration that may be 0 (s)."""
DURATION = partial(number, gt=0.0, le=MAX_TIME_S)
"""A duration > 0 (s)."""
SPEED = partial(number, gt=0.0, le=MAX_SPEED_MPS)
"""A speed > 0 (m/s)."""
DISTANCE = partial(number, gt=0.0, le=MAX_DISTANCE_M)
"""A distance > 0 (m)."""
SHARE = partial(number, ge=0.0, le=1.0)
"""A share or probability in [0, 1]."""


def spec_field(default: object, check: Check) -> Any:
    """A dataclass field with its default and the check applied to a value read from a scenario."""
    return field(default=default, metadata={"check": check})


def schema_of(cls: type) -> Schema:
    """The schema (key -> (default, check)) of a dataclass: its fields declared with :func:`spec_field`.

    Fields declared otherwise (e.g. validated tables nested in it) are not keys of the schema.
    """
    return {
        item.name: (item.default, item.metadata["check"]) for item in fields(cls) if "check" in item.metadata
    }


def json_schema(check: Check) -> dict[str, Any] | None:
    """What ``check`` accepts, as a JSON Schema (draft-07) fragment; None for another module's check.

    ``check`` is one of this module's checks, bare or with its keywords bound by
    :func:`functools.partial` (``partial(number, gt=0.0, le=70.0)`` gives
    ``{"type": "number", "exclusiveMinimum": 0.0, "maximum": 70.0}``). The fragment's
    ``description``, if any, says in words what is accepted. What a fragment cannot express
    (a file must exist, a profile's starts increase) is left to the loader: every value the
    loader accepts matches the fragment of its check.
    """
    func, keywords = (check.func, check.keywords) if isinstance(check, partial) else (check, {})
    describe = _DESCRIBERS.get(func)
    if describe is None or (isinstance(check, partial) and check.args):
        return None
    return describe(**keywords)


def _number_schema(gt: float | None = None, ge: float | None = None, le: float | None = None) -> dict:
    bounds = {"exclusiveMinimum": gt, "minimum": ge, "maximum": le}
    return {"type": "number", **{name: bound for name, bound in bounds.items() if bound is not None}}


def _integer_schema(ge: int, le: int | None = None) -> dict:
    return {"type": "integer", "minimum": ge, **({} if le is None else {"maximum": le})}


def _path_schema(suffixes: tuple[str, ...] = ()) -> dict:
    ending = f" ending in {' or '.join(suffixes)}" if suffixes else ""
    return {
        "type": "string",
        "description": f"a file path{ending}: absolute, relative to the scenario's folder, or "
        f"{BENCH_PREFIX}<name>/<file>",
    }


def _paths_schema(suffixes: tuple[str, ...] = ()) -> dict:
    return {"type": "array", "items": _path_schema(suffixes), "description": "a list of file paths"}


def _profile_schema() -> dict:
    pair = [_number_schema(ge=0.0, le=MAX_TIME_S), _number_schema(ge=0.0, le=MAX_MULTIPLIER)]
    return {
        "type": "array",
        "items": {"type": "array", "items": pair, "minItems": 2, "maxItems": 2},
        "description": f"[start_s, multiplier] pairs, the first at 0, starts increasing; start_s in "
        f"[0, {MAX_TIME_S:g}], multiplier in [0, {MAX_MULTIPLIER:g}]",
    }


_DESCRIBERS: Mapping[Callable[..., Any], Callable[..., dict]] = {
    number: _number_schema,
    integer: _integer_schema,
    text: lambda nonempty=False: {"type": "string", **({"minLength": 1} if nonempty else {})},
    flag: lambda: {"type": "boolean"},
    choice: lambda choices: {"type": "string", "enum": list(choices)},
    path: _path_schema,
    paths: _paths_schema,
    profile: _profile_schema,
}
"""Each check of this module and the function giving its fragment from the check's keywords."""
