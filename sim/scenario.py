"""Scenario files: the TOML schema, its validation, and overrides.

A scenario is parsed and checked here, once, into a frozen :class:`Scenario`; everything downstream
takes that object and never sees a raw dict. Every problem raises a :class:`ScenarioError` that
names the file, the dotted key and what was expected. Overrides (``--set demand.rate_vph=3000``)
are merged into the raw tables first, so they go through exactly the same validation.

The schema: the fields of ``SignalSpec``, ``SimulationSpec`` and ``VehicleSpec`` (and of
``VehicleTypeSpec`` for each ``[vehicle_types.<name>]``) carry their defaults and checks, and
each controller's ``settings_class`` those of its table ``[signals.<controller>]``; the
type-dependent ``[network]`` and ``[demand]`` tables and the top-level keys are in
``NETWORK``, ``DEMAND`` and ``TOP``. File paths are resolved against the scenario
file's folder (or the current directory for a dict); a path written ``bench:<name>/<file>``
resolves inside the installed ``sim/data/bench/`` folder.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from sim.control.plans import check_plan_file
from sim.control.registry import controller_class, controller_names
from sim.schema import (
    BENCH_PREFIX,
    ScenarioError,
    Schema,
    read_toml,
)
from sim.schema import (
    REQUIRED as _REQUIRED,
)
from sim.schema import Context as _Context
from sim.schema import choice as _choice
from sim.schema import schema_of as _schema
from sim.tables import (
    DEMAND,
    MOVED_SIGNAL_KEYS,
    NETWORK,
    TOP,
    DemandSpec,
    ImportedSpec,
    NetworkSpec,
    RightOfWaySpec,
    SignalSpec,
    SimulationSpec,
    VehicleSpec,
    VehicleTypeSpec,
    check_demand_size,
    vehicle_type_name,
)

__all__ = [
    "BENCH_PREFIX",
    "SAFETY",
    "SECTIONS",
    "Overrides",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "scenario_from_dict",
]


Overrides = Sequence[str] | Mapping[str, object]
"""``"dotted.key=value"`` strings (value parsed as TOML, else a bare string) or a dotted-key mapping."""

SAFETY = "safety"
"""The table of the signal safety envelope (:mod:`sim.control.envelope`): a scenario without it
has it with its defaults, and :meth:`Scenario.to_dict` writes it only where it differs from them."""

SECTIONS: Mapping[str, str] = {
    "emergency": "sim.emergency",
    "parking": "sim.parking",
    "shuttles": "sim.shuttles",
    SAFETY: "sim.control.envelope",
    "emissions": "sim.emissions.feature",
    "route_choice": "sim.routing.feature",
    "incidents": "sim.closures",
}
"""Optional scenario tables and the package that serves each: it exports ``Spec`` (a frozen
dataclass declared with :func:`sim.schema.spec_field`, optionally with a ``validate(ctx)``
method for checks across keys) and ``attach(model, spec)``, which adds the feature to a
:class:`~sim.model.CityModel`; with an ``ARRAY_KEY``, the table may be written as an array of
tables (``[[incidents]]``)."""

_TABLES = (
    "network",
    "demand",
    "signals",
    "simulation",
    "vehicles",
    "vehicle_types",
    "right_of_way",
    "imported",
    *SECTIONS,
)
_TYPE_DEFAULTS = {"network.type": None, "demand.type": "uniform"}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build it with :func:`load_scenario` or :func:`scenario_from_dict`.

    Attributes:
        seed: Seed of the model's random generator (>= 0).
        vehicle_types: ``(name, type)`` of every ``[vehicle_types.<name>]`` table, in file order.
        right_of_way: Gap acceptance at unsignalized junctions (``[right_of_way]``).
        imported: Where an imported scenario's network and demand came from (``[imported]``),
            or ``None``.
        source: The file it was read from, or ``"<dict>"``; not part of equality nor of ``key()``.
    """

    name: str
    description: str
    seed: int
    network: NetworkSpec
    demand: DemandSpec
    signals: SignalSpec
    simulation: SimulationSpec
    vehicles: VehicleSpec
    vehicle_types: tuple[tuple[str, VehicleTypeSpec], ...] = ()
    right_of_way: RightOfWaySpec = RightOfWaySpec()
    sections: tuple[tuple[str, Any], ...] = ()
    imported: ImportedSpec | None = None
    source: str = field(default="<dict>", compare=False)

    def section(self, name: str) -> Any | None:
        """The spec of optional table ``name`` (see :data:`SECTIONS`), or None if absent."""
        return dict(self.sections).get(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical content as JSON-able tables (paths as absolute strings).

        Only the keys that apply to the network and demand types appear, so the result
        validates again with :func:`scenario_from_dict` into an equal scenario.
        """
        demand_keys = DEMAND[self.demand.type]
        return _jsonable(
            {
                "name": self.name,
                "description": self.description,
                "seed": self.seed,
                "network": {"type": self.network.type, **self.network.kwargs()},
                "demand": {"type": self.demand.type} | {k: getattr(self.demand, k) for k in demand_keys},
                "signals": self.signals.tables(),
                "simulation": asdict(self.simulation),
                "vehicles": asdict(self.vehicles),
                **({"vehicle_types": _type_tables(self.vehicle_types)} if self.vehicle_types else {}),
                "right_of_way": asdict(self.right_of_way),
                **{
                    name: asdict(spec)
                    for name, spec in self.sections
                    if name != SAFETY or spec != type(spec)()
                },
                **({"imported": asdict(self.imported)} if self.imported is not None else {}),
            }
        )

    def key(self) -> str:
        """Return a stable content hash: the first 16 hex digits of a sha256.

        It covers ``to_dict()`` and the bytes of every file the scenario refers to (trip
        and matrix tables, networks, policies, feature tables), so editing such a file in
        place gives a new key: a sweep re-runs, rather than reuses, runs made with the old file.
        """
        files = {str(path): _file_digest(path) for path in sorted(set(_referenced_files(self)))}
        text = json.dumps({"scenario": self.to_dict(), "files": files}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def with_overrides(self, overrides: Overrides) -> Scenario:
        """Return this scenario with ``overrides`` applied, validated again.

        Raises:
            ScenarioError: If an override names an unknown key or gives an invalid value.
        """
        return _validate(self.to_dict(), self.source, overrides)


def _referenced_files(value: Any) -> Iterator[Path]:
    """Every file path held by a scenario's (nested) specs."""
    if isinstance(value, Path):
        yield value
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            yield from _referenced_files(getattr(value, item.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _referenced_files(item)


@lru_cache(maxsize=256)
def _digest_of(path: Path, _mtime_ns: int, _size: int) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _file_digest(path: Path) -> str:
    """sha256 of a file's bytes, remembered while its modification time and size stay the same."""
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return _digest_of(path, stat.st_mtime_ns, stat.st_size)


def load_scenario(path: str | PurePath, overrides: Overrides = ()) -> Scenario:
    """Read, override and validate a scenario TOML file.

    Args:
        path: The ``.toml`` file; relative file paths inside it resolve against its folder.
        overrides: ``["demand.rate_vph=3000", ...]`` (values parsed as TOML, falling back to a
            bare string) or ``{"demand.rate_vph": 3000}``; validated like the file's own keys.
            An override that changes ``network.type`` or ``demand.type`` starts that table afresh:
            the file's other keys there belong to the old type and are dropped.

    Returns:
        The validated scenario, with ``source`` the absolute path of the file.

    Raises:
        ScenarioError: If the file is unreadable, is not valid TOML, or breaks the schema.
    """
    file = Path(path).resolve()
    return _validate(read_toml(file, "scenario", ScenarioError), str(file), overrides)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate scenario tables (as ``tomllib`` returns them) into a :class:`Scenario`.

    Args:
        data: The top-level table.
        source: Named in errors; when it is an existing file, relative paths resolve against
            its folder, otherwise against the current directory.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: If the data breaks the schema.
    """
    return _validate(data, source, ())


def _table(
    ctx: _Context, prefix: str, data: Mapping[str, Any], schema: Schema, where: str, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Reject unknown keys, check the given values and fill in the defaults of one table."""
    allowed = sorted({*schema, *extra})
    for key in data:
        if key not in allowed:
            raise ctx.unknown(f"{prefix}{key}", f"allowed keys{where}: {', '.join(allowed)}", allowed)
    values = {}
    for key, (default, check) in schema.items():
        if key in data:
            values[key] = check(ctx, prefix + key, data[key])
        elif default is _REQUIRED:
            raise ctx.missing(prefix + key, where)
        else:
            values[key] = default
    return values


def _subtable(ctx: _Context, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise ctx.fail(name, f"a table [{name}]", table)
    return table


def _variant(
    ctx: _Context,
    data: Mapping[str, Any],
    name: str,
    variants: Mapping[str, Schema],
    default: object = _REQUIRED,
) -> tuple[str, dict[str, Any]]:
    """Validate a table whose ``type`` key selects the schema of its other keys."""
    table = _subtable(ctx, data, name)
    choices = tuple(variants)
    if "type" in table:
        kind = _choice(ctx, f"{name}.type", table["type"], choices=choices)
    elif default is _REQUIRED:
        raise ctx.missing(f"{name}.type", f" in [{name}]; one of {', '.join(map(repr, choices))}")
    else:
        kind = str(default)
    where = f" for [{name}] type = {kind!r}"
    return kind, _table(ctx, f"{name}.", table, variants[kind], where, extra=("type",))


def _demand(ctx: _Context, data: Mapping[str, Any]) -> DemandSpec:
    kind, values = _variant(ctx, data, "demand", DEMAND, default="uniform")
    if kind == "trips" and values["scale"] != 1.0:
        raise ctx.fail(
            "demand.scale",
            "1.0 with demand.type = 'trips' (a trip table is replayed as given)",
            values["scale"],
        )
    for index, piece in enumerate(values.get("profile", ())):
        if piece[0] >= values["duration_s"]:
            duration_s = values["duration_s"]
            raise ctx.fail(
                f"demand.profile[{index}]", f"start_s < demand.duration_s ({duration_s:g})", list(piece)
            )
    spec = DemandSpec(type=kind, **values)
    if kind == "uniform":
        check_demand_size(ctx.source, spec, spec.rate_vph or 0.0, "demand.rate_vph")
    return spec


def _build(ctx: _Context, data: Mapping[str, Any]) -> Scenario:
    top = _table(ctx, "", data, TOP, " at top level", extra=_TABLES)
    network_type, network_params = _variant(ctx, data, "network", NETWORK)

    def section(name: str, schema: Schema) -> dict[str, Any]:
        return _table(ctx, f"{name}.", _subtable(ctx, data, name), schema, f" in [{name}]")

    return Scenario(
        **top,
        network=NetworkSpec(network_type, tuple(network_params.items())),
        demand=_demand(ctx, data),
        signals=_signals(ctx, data),
        simulation=SimulationSpec(**section("simulation", _schema(SimulationSpec))),
        vehicles=VehicleSpec(**section("vehicles", _schema(VehicleSpec))),
        vehicle_types=_vehicle_types(ctx, data),
        right_of_way=RightOfWaySpec(**section("right_of_way", _schema(RightOfWaySpec))),
        sections=tuple(
            (name, _optional_section(ctx, name, section))
            for name in SECTIONS
            if name in data or name == SAFETY
        ),
        imported=ImportedSpec(**section("imported", _schema(ImportedSpec))) if "imported" in data else None,
        source=ctx.source,
    )


def _vehicle_types(ctx: _Context, data: Mapping[str, Any]) -> tuple[tuple[str, VehicleTypeSpec], ...]:
    """Every ``[vehicle_types.<name>]`` table; the keys it leaves out stay None (``[vehicles]``'s).

    Their shares may sum to at most 1 (the default type gets the rest): an error names the
    key of the share that passes 1 and lists the others.
    """
    types = []
    shares = []
    for name, table in _subtable(ctx, data, "vehicle_types").items():
        key = f"vehicle_types.{name}"
        vehicle_type_name(ctx, key, name)
        if not isinstance(table, Mapping):
            raise ctx.fail(key, f"a table [{key}] of the type's keys", table)
        values = _table(ctx, f"{key}.", table, _schema(VehicleTypeSpec), f" in [{key}]")
        types.append((name, VehicleTypeSpec(**values)))
        shares += [f"{key}.share"] if values["share"] > 0.0 else []
        total = sum(spec.share for _, spec in types)
        if total > 1.0 + 1e-9:  # shares such as 0.7 + 0.2 + 0.1 sum to 1 only within rounding
            raise ctx.fail(
                f"{key}.share", f"{' + '.join(shares)} <= 1 (the default type gets the rest)", round(total, 9)
            )
    return tuple(types)


def _type_tables(types: tuple[tuple[str, VehicleTypeSpec], ...]) -> dict[str, dict[str, Any]]:
    """The vehicle types as tables holding the keys each gives (those it leaves out follow ``[vehicles]``)."""
    return {name: {k: v for k, v in asdict(spec).items() if v is not None} for name, spec in types}


def _signals(ctx: _Context, data: Mapping[str, Any]) -> SignalSpec:
    """The shared ``[signals]`` keys, then the tables of the controllers it names or holds."""
    table = _subtable(ctx, data, "signals")
    for key, place in MOVED_SIGNAL_KEYS.items():
        if key in table:
            raise ctx.unknown(f"signals.{key}", f"it moved to {place}, its controller's own table")
    names = controller_names()
    shared = SignalSpec(**_table(ctx, "signals.", table, _schema(SignalSpec), " in [signals]", extra=names))
    if shared.timing == "fixed" and shared.green_s < shared.min_green_s:
        raise ctx.fail(
            "signals.green_s", f"a green >= signals.min_green_s ({shared.min_green_s:g})", shared.green_s
        )
    if shared.plan_file is not None:
        check_plan_file(ctx.source, "signals.plan_file", shared.plan_file)
    # names again: validating a "package.module:Class" controller registered it
    settings = tuple(
        (name, _controller_settings(ctx, table, name, shared))
        for name in controller_names()
        if name in table or name == shared.controller
    )
    return replace(shared, settings=settings)


def _controller_settings(ctx: _Context, signals: Mapping[str, Any], name: str, shared: SignalSpec) -> Any:
    """Validate ``[signals.<name>]`` (absent: every default) into its controller's settings class."""
    key = f"signals.{name}"
    table = signals.get(name, {})
    if not isinstance(table, Mapping):
        raise ctx.fail(key, f"a table [{key}] of the {name} controller's settings", table)
    settings_class = controller_class(name).settings_class
    settings = settings_class(**_table(ctx, f"{key}.", table, _schema(settings_class), f" in [{key}]"))
    if hasattr(settings, "validate"):
        settings.validate(ctx, key, shared)
    return settings


def _optional_section(ctx: _Context, name: str, section: Callable[[str, Schema], dict[str, Any]]) -> Any:
    spec_class = importlib.import_module(SECTIONS[name]).Spec
    spec = spec_class(**section(name, _schema(spec_class)))
    if hasattr(spec, "validate"):
        spec.validate(ctx)
    return spec


def _validate(data: Mapping[str, Any], source: str, overrides: Overrides) -> Scenario:
    if not isinstance(data, Mapping):
        raise ScenarioError(source, "", f"expected a table of scenario keys, got {data!r}")
    merged, overridden = _apply_overrides(source, data, overrides)
    base_dir = Path(source).parent if Path(source).is_file() else Path.cwd()
    return _build(_Context(source, base_dir, overridden), merged)


def _plain(value: Any) -> Any:
    """Copy nested mappings into dicts, so overrides can be merged without touching the input."""
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


def _parse_override(source: str, text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(source, "", f"expected an override like 'demand.rate_vph=3000', got {text!r}")
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip(), value


def _apply_overrides(
    source: str, data: Mapping[str, Any], overrides: Overrides
) -> tuple[dict, frozenset[str]]:
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        items = [
            _parse_override(source, text)
            for text in ([overrides] if isinstance(overrides, str) else overrides)
        ]
    merged = _plain(data)
    for name, module in SECTIONS.items():
        # an optional section with an ARRAY_KEY may be written [[name]]: its entries go under that key
        key = getattr(importlib.import_module(module), "ARRAY_KEY", None) if name in merged else None
        if key is not None and isinstance(merged[name], list):
            merged[name] = {key: merged[name]}
    for dotted, value in items:
        table = merged.get(dotted.removesuffix(".type")) if dotted in _TYPE_DEFAULTS else None
        if isinstance(table, dict) and table.get("type", _TYPE_DEFAULTS[dotted]) != value:
            table.clear()
    for dotted, value in items:
        parts = dotted.split(".") if isinstance(dotted, str) else [""]
        if not all(part.strip() for part in parts):
            raise ScenarioError(
                source, "", f"expected an override key like 'demand.rate_vph', got {dotted!r}"
            )
        table = merged
        for depth, part in enumerate(parts[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                where = ".".join(parts[: depth + 1])
                raise ScenarioError(
                    source, where, f"expected a table to hold override {dotted!r}, got {table!r}"
                )
        table[parts[-1]] = value
    return merged, frozenset(dotted for dotted, _ in items)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value) if isinstance(value, PurePath) else value
