"""Every scenario key, read from the schema: its shape, default, unit, description and example.

The shapes come from the checks (:func:`sim.schema.json_schema`) or, for a check of another
module, from the field's type hint; descriptions from the ``Attributes`` (or a builder's
``Args``) of the docstrings that declare the keys; units from the key's suffix. The tables
are those :mod:`sim.scenario` validates: the top level, ``[network]`` and ``[demand]`` per
type, ``[signals]`` and each registered controller's table, the vehicle tables, and every
optional section of :data:`sim.scenario.SECTIONS`.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from sim.control.registry import controller_class, controller_names
from sim.network import builders
from sim.scenario import SECTIONS, Scenario
from sim.schema import REQUIRED, Schema, json_schema, schema_of
from sim.tables import (
    DEMAND,
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
)
from sim.traffic.codes import HCM_GAPS_S

__all__ = ["UNITS", "Key", "Table", "catalog", "markdown_code", "number_text", "plain_value", "unit_of"]

UNITS = (
    ("_per_m", "1/m"),
    ("_per_h", "1/h"),
    ("_vphpl", "veh/h/lane"),
    ("_vph", "veh/h"),
    ("_pph", "passengers/h"),
    ("_mps2", "m/s²"),
    ("_mps", "m/s"),
    ("_veh_s", "veh·s"),
    ("_veh", "veh"),
    ("_s", "s"),
    ("_m", "m"),
    ("_h", "h"),
)
"""Key suffixes and the units they name, longest match first (``rate_vph``: veh/h)."""

_EXAMPLES: Mapping[str, Any] = {
    "name": "grid5",
    "description": "A 5x5 signalized grid at 1,000 veh/h.",
    "network.rows": 5,
    "network.cols": 5,
    "network.n_intersections": 8,
    "network.n_nodes": 12,
    "network.path": "../sim/data/helsinki/network.json",
    "demand.matrix": "od.csv",
    "demand.trips": "bench:grid5/trips.csv",
    "demand.profile": [[0.0, 0.5], [1800.0, 1.5]],
    "signals.offset_s": "green_wave",
    "signals.learned.policy": "policy.npz",
    "signals.plan_file": "plans.toml",
    "imported.routes": ["osm.rou.xml"],
    "imported.additional": ["osm.tll.xml"],
    "imported.net": "osm.net.xml.gz",
    "emergency.stations": [{"name": "central", "node": "n2_2", "vehicles": 2}],
    "emergency.stations[].name": "central",
    "emergency.stations[].node": "n2_2",
    "emergency.table": "incidents.csv",
    "emergency.hourly_profile": [0.5] * 6 + [1.5] * 4 + [1.0] * 8 + [1.5] * 3 + [0.5] * 3,
    "emergency.weight_attribute": "population",
    "parking.streets": [{"from_node": "n1_1", "to_node": "n2_1", "spaces": 12}],
    "parking.garages": [{"node": "n2_2", "capacity": 150}],
    "parking.streets[].from_node": "n1_1",
    "parking.streets[].to_node": "n2_1",
    "parking.streets[].spaces": 12,
    "parking.streets[].max_stay_s": 3600.0,
    "parking.streets[].occupied": 10,
    "parking.garages[].node": "n2_2",
    "parking.garages[].capacity": 150,
    "parking.garages[].entry_rate_vph": 600.0,
    "parking.garages[].occupied": 100,
    "shuttles.stops": ["n0_0", "n2_0", "n2_2", "n0_2"],
    "shuttles.timing_points": ["n0_0"],
    "shuttles.od": [["n0_0", "n2_2", 30.0]],
    "shuttles.profile": [[0.0, 0.75], [1800.0, 1.5]],
    "shuttles.requests": "requests.csv",
    "shuttles.od[].origin": "n0_0",
    "shuttles.od[].destination": "n2_2",
    "shuttles.od[].rate_pph": 30.0,
    "vehicle_types.max_speed_mps": 22.22,
    "safety.detector_failures": [{"node": "n1_1", "from_s": 600.0, "to_s": 1200.0}],
    "safety.detector_failures[].node": "n1_1",
    "route_choice.route_set": "grid20_routes.json",
    "incidents.entries": [
        {"id": "crash", "link": "n1_1->n2_1", "lanes": 1, "start_s": 600.0, "end_s": 1800.0}
    ],
    "incidents.entries[].id": "crash",
    "incidents.entries[].link": "n1_1->n2_1",
    "incidents.entries[].start_s": 600.0,
    "incidents.entries[].end_s": 1800.0,
    "incidents.entries[].speed_mps": 5.0,
}
"""Examples of the keys whose default is no example (required, or None: inherited)."""

_UNDOCUMENTED: Mapping[str, str] = {
    "name": "Name of the scenario; results folders are named after it.",
    "description": "Free text describing the scenario.",
    "network.path": "A network file written by citysim (.json) or a GraphML road graph (.graphml).",
    "signals.green_s": 'Green of every phase with timing = "fixed".',
    "signals.yellow_s": "Yellow after every green.",
    "signals.all_red_s": "All-red after every yellow.",
    "signals.min_green_s": "Shortest green of any phase; the kernel enforces it for every controller.",
    "signals.lost_time_s": 'Lost time per phase in the Webster split (timing = "webster" or "coordinated").',
    "signals.saturation_flow_vphpl": (
        'Saturation flow per lane in the Webster split (timing = "webster" or "coordinated").'
    ),
    "shuttles.board_time_s": "Dwell each boarding passenger adds to a stop visit.",
    "shuttles.alight_time_s": "Dwell each alighting passenger adds to a stop visit.",
    "shuttles.od[].origin": "Origin stop node id.",
    "shuttles.od[].destination": "Destination stop node id.",
    "shuttles.od[].rate_pph": "Poisson requests per hour from the origin to the destination.",
    **{
        f"right_of_way.{movement}_{part}_s": f"{what} of a {movement.replace('_', ' ')} movement."
        for movement in HCM_GAPS_S
        for part, what in (("gap", "Critical gap"), ("follow_up", "Follow-up time"))
    },
    "right_of_way.signal_left_follow_up_s": (
        "Follow-up time of permitted left turns at a signal (HCM 2010: 2.5 s); "
        "their critical gap is vehicles.critical_gap_s."
    ),
    "right_of_way.left_wait_vehicles": (
        "Permitted left turners that may wait inside a signalized junction for a gap and clear "
        "when the signal ends (0-2; one fits a junction narrower than six lanes)."
    ),
}
"""Descriptions of the keys that no docstring documents."""

_TOP_SUMMARY = "The scenario's name, description and seed."


@dataclass(frozen=True)
class Key:
    """One key of a scenario table.

    Attributes:
        name: The key as written in its table; a key of the tables in a list of tables is
            written ``list[].key`` (e.g. ``stations[].node``).
        shape: What values it accepts, as a JSON Schema (draft-07) fragment.
        default: Its default; :data:`sim.schema.REQUIRED` when it must be given, None when a
            key left out takes a value from elsewhere (see its description).
        description: What it sets.
        allowed: The accepted values in words.
        unit: The unit its suffix names, or ``""``.
        example: A value it may take.
    """

    name: str
    shape: Mapping[str, Any]
    default: Any
    description: str
    allowed: str
    unit: str
    example: Any

    @property
    def required(self) -> bool:
        """Whether the key must be given."""
        return self.default is REQUIRED


@dataclass(frozen=True)
class Table:
    """One table of a scenario file, or one variant of a table whose ``type`` selects its keys.

    Attributes:
        name: The dotted name ``citysim keys`` takes (``"top"`` for the top level, e.g.
            ``"network"``, ``"signals.max_pressure"``, ``"vehicle_types"``).
        header: How the table is written in a scenario (``[vehicle_types.<name>]``).
        variant: The ``type`` this variant is for (``"grid"``), or ``""``.
        summary: One line on what the table sets.
        intro: More on the table (may be empty).
        keys: Its keys, in declaration order.
    """

    name: str
    header: str
    variant: str
    summary: str
    intro: str
    keys: tuple[Key, ...]


def unit_of(name: str) -> str:
    """The unit a key's suffix names (``"veh/h"`` for ``rate_vph``), or ``""``."""
    return next((unit for suffix, unit in UNITS if name.endswith(suffix)), "")


def catalog() -> tuple[Table, ...]:
    """Every scenario table and its keys, in the order a scenario file usually holds them."""
    top = _table("top", "top level", "", _TOP_SUMMARY, "", TOP, _entries(Scenario, "Attributes"))
    return (
        top,
        *_variants("network", NETWORK, NetworkSpec, None),
        *_variants("demand", DEMAND, DemandSpec, "uniform"),
        _signals(),
        *(_controller_table(name) for name in _builtin_controllers()),
        _spec_table("simulation", "[simulation]", SimulationSpec, SimulationSpec),
        _spec_table("vehicles", "[vehicles]", VehicleSpec, VehicleSpec),
        _spec_table("vehicle_types", "[vehicle_types.<name>]", VehicleTypeSpec, VehicleTypeSpec),
        _spec_table("right_of_way", "[right_of_way]", RightOfWaySpec, RightOfWaySpec),
        _spec_table("imported", "[imported]", ImportedSpec, ImportedSpec),
        *(_section(name) for name in SECTIONS),
    )


def _signals() -> Table:
    """``[signals]``, its ``controller`` key naming the controllers registered now."""
    table = _spec_table("signals", "[signals]", SignalSpec, SignalSpec)
    names = list(_builtin_controllers())
    allowed = ", ".join(f'"{name}"' for name in names)
    allowed += ', a name added with `register_controller`, or a controller class as `"package.module:Class"`'
    keys = tuple(
        replace(key, shape={**key.shape, "examples": names}, allowed=allowed)
        if key.name == "controller"
        else key
        for key in table.keys
    )
    return replace(table, keys=keys)


def _builtin_controllers() -> tuple[str, ...]:
    """The controllers citysim registers by name (not those a program, a test or a path added)."""
    return tuple(
        name
        for name in controller_names()
        if name.isidentifier() and controller_class(name).__module__.startswith("sim.")
    )


def _section(name: str) -> Table:
    spec = importlib.import_module(SECTIONS[name]).Spec
    return _spec_table(name, f"[{name}]", spec, spec)


def _controller_table(name: str) -> Table:
    controller = controller_class(name)
    header = f"[signals.{name}]"
    return _spec_table(f"signals.{name}", header, controller.settings_class, controller)


def _spec_table(name: str, header: str, spec: type, documented: type) -> Table:
    """The table of a spec class; ``documented`` gives the summary (its docstring's first line)."""
    summary, intro = _summary_and_intro(documented)
    _, spec_intro = _summary_and_intro(spec)
    return _table(
        name, header, "", summary, intro or spec_intro, schema_of(spec), _entries(spec, "Attributes"), spec
    )


def _variants(name: str, variants: Mapping[str, Schema], spec: type, default: str | None) -> list[Table]:
    """One table per ``type`` of ``[network]`` or ``[demand]``, each with its ``type`` key first."""
    summary, intro = _summary_and_intro(spec)
    docs = _entries(spec, "Attributes")
    tables = []
    for index, kind in enumerate(variants):
        type_key = {"type": (REQUIRED if default is None else default, _TypeCheck(tuple(variants), kind))}
        builder = getattr(builders, kind, None) if name == "network" else None
        own = _entries(builder, "Args") if builder is not None else {}
        header = f'[{name}] type = "{kind}"' + (" (the default)" if kind == default else "")
        tables.append(
            _table(
                name,
                header,
                kind,
                summary,
                intro if index == 0 else "",
                {**type_key, **variants[kind]},
                {**docs, **own},
            )
        )
    return tables


@dataclass(frozen=True)
class _TypeCheck:
    """Stands for the ``type`` key's check, which :mod:`sim.scenario` applies inline."""

    choices: tuple[str, ...]
    kind: str


def _table(
    name: str,
    header: str,
    variant: str,
    summary: str,
    intro: str,
    schema: Schema,
    docs: Mapping[str, str],
    spec: type | None = None,
) -> Table:
    hints = typing.get_type_hints(spec) if spec is not None else {}
    prefix = "" if name == "top" else f"{name}."
    keys: list[Key] = []
    for key, (default, check) in schema.items():
        if isinstance(check, _TypeCheck):
            shape: dict[str, Any] = {"type": "string", "enum": list(check.choices)}
        else:
            shape = json_schema(check) or _hint_shape(hints.get(key), check)
        item = _key(f"{prefix}{key}", key, shape, default, docs.get(key, ""))
        keys.append(replace(item, example=check.kind) if isinstance(check, _TypeCheck) else item)
        keys += _nested_keys(f"{prefix}{key}", key, hints.get(key))
    return Table(name, header, variant, summary, intro, tuple(keys))


def _key(dotted: str, name: str, shape: Mapping[str, Any], default: Any, doc: str) -> Key:
    shape = dict(shape)
    allowed = shape.pop("description", "") or _allowed_words(shape)
    description = doc or _UNDOCUMENTED.get(dotted, "")
    example = _example(dotted, shape, default)
    return Key(name, shape, default, description, allowed, unit_of(name), example)


def _example(dotted: str, shape: Mapping[str, Any], default: Any) -> Any:
    """A value of the key, or None if none is known.

    An explicit example, else its default, else its first choice; a vehicle type's key left
    out takes the value of ``[vehicles]``, which is then the example.
    """
    if dotted in _EXAMPLES:
        return _EXAMPLES[dotted]
    if default is not REQUIRED and default is not None and default not in ("", ()):
        return plain_value(default)
    if "enum" in shape:
        return shape["enum"][0]
    vehicles = {item.name: item.default for item in fields(VehicleSpec)}
    table, _, key = dotted.partition(".")
    return vehicles.get(key) if table == "vehicle_types" else None


def plain_value(value: Any) -> Any:
    """A default as TOML and JSON write it: tuples as lists, paths as strings."""
    if isinstance(value, tuple | list):
        return [plain_value(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: plain_value(getattr(value, item.name)) for item in fields(value)}
    return str(value) if isinstance(value, Path) else value


def _nested_keys(dotted: str, name: str, hint: Any) -> list[Key]:
    """The keys of the tables in a list of tables (``stations[].node``), from the item class."""
    item = _item_class(hint)
    if item is None:
        return []
    docs = _entries(item, "Attributes")
    hints = typing.get_type_hints(item)
    return [
        _key(
            f"{dotted}[].{field.name}",
            f"{name}[].{field.name}",
            _hint_shape(hints[field.name]),
            REQUIRED if field.default is MISSING else field.default,
            docs.get(field.name, ""),
        )
        for field in fields(item)
    ]


def _item_class(hint: Any) -> type | None:
    """The dataclass of ``tuple[Item, ...]``, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and is_dataclass(args[0]):
        return args[0]
    return None


_HINT_TYPES: Mapping[Any, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    Path: "string",
}


def _hint_shape(hint: Any, check: Any = None) -> dict[str, Any]:
    """The shape of a value of type ``hint`` (None left out: a key left out is None).

    A list of tables gets the properties of its item class but no ``type``, so that the other
    forms a check may accept (``[origin, destination, rate_pph]`` for a table of three keys) pass.
    The check's docstring, if any, says in words what it accepts.
    """
    words = (
        markdown_code(inspect.getdoc(check).splitlines()[0]) if check is not None and check.__doc__ else ""
    )
    shape = {"description": words} if words else {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [_hint_shape(arg)["type"] for arg in args if arg is not type(None)]
        unique = list(dict.fromkeys(kinds))
        return {"type": unique[0] if len(unique) == 1 else unique, **shape}
    if origin is tuple:
        item = _item_class(hint)
        if item is None:
            return {"type": "array", "items": _hint_shape(args[0]), **shape}
        return {"type": "array", "items": _item_shape(item), **shape}
    return {"type": _HINT_TYPES[hint], **shape} if hint in _HINT_TYPES else shape


def _item_shape(item: type) -> dict[str, Any]:
    docs = _entries(item, "Attributes")
    hints = typing.get_type_hints(item)
    properties = {field.name: {**_hint_shape(hints[field.name]), "description": docs.get(field.name, "")}
                  for field in fields(item)}  # fmt: skip
    required = [field.name for field in fields(item) if field.default is MISSING]
    return {"properties": properties, "required": required, "additionalProperties": False}


def _allowed_words(shape: Mapping[str, Any]) -> str:
    """The accepted values in words: ``(0, 70]``, ``>= 0``, ``'a', 'b'``, ``non-empty``."""
    if "enum" in shape:
        return ", ".join(f'"{choice}"' for choice in shape["enum"])
    if shape.get("type") in ("number", "integer"):
        return _interval(shape)
    if shape.get("type") == "array" and isinstance(shape.get("items"), Mapping):
        inner = _allowed_words(shape["items"])
        return f"each {inner}" if inner else ""
    return "non-empty" if shape.get("minLength") else ""


def _interval(shape: Mapping[str, Any]) -> str:
    low = shape.get("exclusiveMinimum", shape.get("minimum"))
    high = shape.get("maximum")
    opening = "(" if "exclusiveMinimum" in shape else "["
    if low is not None and high is not None:
        return f"{opening}{number_text(low)}, {number_text(high)}]"
    if low is not None:
        return f"{'>' if opening == '(' else '>='} {number_text(low)}"
    return f"<= {number_text(high)}" if high is not None else ""


def number_text(value: float) -> str:
    """A bound or default as people read it: ``1,000,000``, ``0.01``, ``13.89``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(value)
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e16):
        return f"{int(value):,}"
    return f"{value:.12g}"


def _summary_and_intro(documented: Any) -> tuple[str, str]:
    """The first line of a docstring and its body up to the first section (``Attributes:``, ...)."""
    doc = markdown_code(inspect.getdoc(documented) or "")
    first, _, body = doc.partition("\n")
    paragraphs = []
    for paragraph in body.strip().split("\n\n"):
        if re.match(r"(Attributes|Args|Returns|Raises|Example)\w*:", paragraph):
            break
        paragraphs.append(" ".join(line.strip() for line in paragraph.splitlines()))
    return first.strip(), "\n\n".join(item for item in paragraphs if item)


def _entries(documented: Any, section: str) -> dict[str, str]:
    """The entries of a Google-style docstring section: name -> text (``a, b: text`` gives both)."""
    lines = (inspect.getdoc(documented) or "").splitlines()
    if f"{section}:" not in lines:
        return {}
    entries: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines[lines.index(f"{section}:") + 1 :]:
        if line.strip() and not line.startswith(" "):
            break
        match = re.match(r" {4}(\w+(?:, \w+)*): (.*)", line)
        if match:
            current = [match.group(2)]
            entries.update({name: current for name in match.group(1).split(", ")})
        elif line.strip():
            current.append(line.strip())
    return {name: markdown_code(" ".join(words)) for name, words in entries.items()}


def markdown_code(text: str) -> str:
    """Sphinx markup as Markdown: ``` ``x`` ``` and ``:role:`~a.b` `` become `` `x` `` and `` `a.b` ``."""
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text).replace("``", "`")
