"""Schema building blocks for scenario tables: the named error, value checks, fields.

The scenario module and every optional scenario section (emergency, parking, shuttles)
declare their tables as frozen dataclasses whose fields carry a default and a check
(:func:`spec_field`); :func:`schema_of` turns such a class into the schema the scenario
loader validates with. Errors name the file, the dotted key and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path, PurePath
from typing import Any

__all__ = [
    "BENCH_PREFIX",
    "COUNT",
    "NON_NEGATIVE",
    "POSITIVE",
    "REQUIRED",
    "Check",
    "Context",
    "Schema",
    "ScenarioError",
    "choice",
    "flag",
    "integer",
    "number",
    "path",
    "profile",
    "schema_of",
    "spec_field",
    "tables",
    "text",
]

BENCH_PREFIX = "bench:"
"""Prefix of a file path inside the installed benchmark data folder ``sim/data/bench/``."""

_BENCH_DIR = Path(__file__).resolve().parent / "data" / "bench"
REQUIRED = object()
"""Default of a key that must be given."""


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

    def fail(self, key: str, what: str, value: object) -> ScenarioError:
        """An error for ``key``: expected ``what``, got ``value``."""
        return ScenarioError(self.source, key, f"expected {what}, got {value!r}{self._note(key)}")

    def unknown(self, key: str, allowed: str) -> ScenarioError:
        """An error for an unknown ``key``, listing what is ``allowed``."""
        return ScenarioError(self.source, key, f"unknown key{self._note(key)}; {allowed}")

    def missing(self, key: str, where: str) -> ScenarioError:
        """An error for a required ``key`` that is missing ``where``."""
        return ScenarioError(self.source, key, f"missing required key{where}")


Check = Callable[[Context, str, Any], Any]


def number(
    ctx: Context,
    key: str,
    value: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """A finite number (int or float, not bool) within the given bounds, as a float."""
    limits = [f"{op} {bound:g}" for op, bound in ((">", gt), (">=", ge), ("<=", le)) if bound is not None]
    what = " ".join(["a number", " and ".join(limits)]).strip()
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not finite or (gt is not None and value <= gt) or (ge is not None and value < ge):
        raise ctx.fail(key, what, value)
    if le is not None and value > le:
        raise ctx.fail(key, what, value)
    return float(value)


def integer(ctx: Context, key: str, value: Any, *, ge: int) -> int:
    """An integer (not bool) >= ``ge``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < ge:
        raise ctx.fail(key, f"an integer >= {ge}", value)
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
                raise ctx.unknown(f"{where}.{name}", f"allowed keys: {', '.join(fields)}")
        values = {}
        for name, (required, check) in fields.items():
            raw = item.get(name)
            if raw is None and required:
                raise ctx.missing(f"{where}.{name}", f" in {where}")
            values[name] = None if raw is None else check(ctx, f"{where}.{name}", raw)
        out.append(values)
    return out


def choice(ctx: Context, key: str, value: Any, *, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ctx.fail(key, "one of " + ", ".join(map(repr, choices)), value)
    return value


def path(ctx: Context, key: str, value: Any, *, suffixes: tuple[str, ...] = ()) -> Path:
    """An existing file, relative to the scenario's folder or ``bench:``-prefixed; absolute."""
    if not isinstance(value, str | PurePath) or not str(value):
        raise ctx.fail(key, "a file path string", value)
    text = str(value)
    if suffixes and PurePath(text).suffix.lower() not in suffixes:
        raise ctx.fail(key, "a file ending in " + " or ".join(suffixes), value)
    bench = text.startswith(BENCH_PREFIX)
    path = (_BENCH_DIR / text.removeprefix(BENCH_PREFIX) if bench else ctx.base_dir / text).resolve()
    if not path.is_file():
        raise ctx.fail(key, f"an existing file (resolved to {path})", value)
    return path


def profile(ctx: Context, key: str, value: Any) -> tuple[tuple[float, float], ...]:
    """Piecewise ``[start_s, multiplier]`` pieces: the first at 0, starts increasing, values >= 0."""
    if not isinstance(value, list | tuple):
        raise ctx.fail(key, "a list of [start_s, multiplier] pairs", value)
    pieces: list[tuple[float, float]] = []
    for index, piece in enumerate(value):
        item = f"{key}[{index}]"
        if not isinstance(piece, list | tuple) or len(piece) != 2:
            raise ctx.fail(item, "a [start_s, multiplier] pair", piece)
        start_s = number(ctx, item, piece[0], ge=0.0)
        multiplier = number(ctx, item, piece[1], ge=0.0)
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


def spec_field(default: object, check: Check) -> Any:
    """A dataclass field with its default and the check applied to a value read from a scenario."""
    return field(default=default, metadata={"check": check})


def schema_of(cls: type) -> Schema:
    """The schema (key -> (default, check)) of a dataclass declared with :func:`spec_field`."""
    return {item.name: (item.default, item.metadata["check"]) for item in fields(cls)}
