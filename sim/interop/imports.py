"""``citysim import``: turn a SUMO model or an OpenStreetMap extract into a ready scenario folder.

The folder holds ``network.json`` (the imported road graph), the demand (``trips.csv`` from
SUMO route files, or ``od.csv``, an OD matrix over every drivable pair of fringe nodes, when
there are none) and ``scenario.toml``, which ``citysim run`` runs as it is. The scenario's
``[imported]`` table names the original files, so ``citysim validate --against sumo`` runs
SUMO on the original network. What was kept and dropped is returned as report lines.

A ``.sumocfg`` may stand for the network: its ``net-file``, ``route-files``,
``additional-files`` (read for the traffic-light programs, routes and vehicle types they
hold) and ``begin``/``end`` are used, relative to its folder, as SUMO reads them.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.interop.demand import write_od_matrix
from sim.interop.errors import InteropError
from sim.interop.sumo.flows import time_ms
from sim.interop.sumo.programs import ACTUATED_TYPES, TlsProgram
from sim.interop.sumo.xmlfile import parse_tree
from sim.network.io import save_network_json
from sim.schema import MAX_TIME_S

__all__ = [
    "DEFAULT_RATE_VPH",
    "ImportedFolder",
    "SumoConfig",
    "import_osm",
    "import_sumo",
    "read_sumocfg",
]

NETWORK_FILE = "network.json"
TRIPS_FILE = "trips.csv"
OD_FILE = "od.csv"
SCENARIO_FILE = "scenario.toml"
DEFAULT_RATE_VPH = 1000.0
"""Departures per hour of the OD demand written when the import has no route files."""
CLEARANCE_S = 3600.0
"""Time the run is given after the last departure, so that every trip can arrive (s)."""
_DEMAND_HOUR_S = 3600.0
_CONFIG_ROOTS = ("sumoConfiguration", "configuration")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SumoConfig:
    """The inputs a ``.sumocfg`` names, with paths resolved against its folder.

    Attributes:
        net: The network file.
        routes: Route files.
        additional: Additional files (they may hold traffic-light programs, routes and vTypes).
        begin_s, end_s: The simulated period (s); ``end_s`` is ``None`` when not set.
    """

    net: Path
    routes: tuple[Path, ...]
    additional: tuple[Path, ...]
    begin_s: float
    end_s: float | None


@dataclass(frozen=True)
class ImportedFolder:
    """A scenario folder written by an import.

    Attributes:
        folder: The folder.
        scenario: Its ``scenario.toml``.
        report: What was kept and dropped, as lines of text.
    """

    folder: Path
    scenario: Path
    report: tuple[str, ...]


def read_sumocfg(path: PathLike) -> SumoConfig:
    """Read the inputs and the period of a SUMO configuration file.

    Raises:
        InteropError: If the file is missing, not XML, not a SUMO configuration, or names no
            ``net-file``.
    """
    path = Path(path)
    root = parse_tree(path)
    if root.tag not in _CONFIG_ROOTS:
        expected = "expected a SUMO configuration (root element <sumoConfiguration> or <configuration>)"
        raise InteropError(f"{expected}, got <{root.tag}>", path)
    values = {el.tag: el.get("value", "") for el in root.iter() if el.get("value") is not None}
    if not values.get("net-file"):
        raise InteropError("no <net-file value=...> in the configuration", path)

    def files(key: str) -> tuple[Path, ...]:
        names = [name.strip() for name in values.get(key, "").split(",") if name.strip()]
        return tuple((path.parent / name).resolve() for name in names)

    try:
        begin_s = time_ms(values.get("begin") or "0", "begin") / 1000.0
        end_s = time_ms(values["end"], "end") / 1000.0 if values.get("end") else None
    except ValueError as error:
        raise InteropError(str(error), path) from None
    return SumoConfig(files("net-file")[0], files("route-files"), files("additional-files"), begin_s, end_s)


def import_sumo(
    net: PathLike,
    out: PathLike,
    routes: Sequence[PathLike] = (),
    *,
    additional: Sequence[PathLike] = (),
    name: str | None = None,
    vclass: str = "passenger",
    seed: int = 42,
    begin_s: float | None = None,
    end_s: float | None = None,
    rate_vph: float = DEFAULT_RATE_VPH,
) -> ImportedFolder:
    """Import a SUMO network (or a ``.sumocfg``) and its route files into a scenario folder.

    Args:
        net: A ``.net.xml``, ``.net.xml.gz`` or ``.sumocfg``.
        out: The folder to write (created if missing).
        routes: SUMO route files, read after those of a ``.sumocfg``.
        additional: SUMO additional files, read after those of a ``.sumocfg``: their
            traffic-light programs load after the net's (SUMO runs the last one loaded for each
            light), their routes and vTypes with the route files'.
        name: Scenario name; default the network file's name without suffixes.
        vclass: The SUMO vehicle class whose lanes and vehicles are imported.
        seed: The scenario's seed, also for the random draws of probabilistic flows and
            route distributions.
        begin_s: Keep only departures at or after ``begin_s``, as SUMO's ``--begin``
            (default: a ``.sumocfg``'s, else 0).
        end_s: Keep only departures before ``end_s``, as SUMO's ``--end`` (default: a
            ``.sumocfg``'s, else every departure).
        rate_vph: Departures per hour of the OD demand written when there are no route files.

    Returns:
        The folder, its scenario file and the report.

    Raises:
        InteropError: If a file is missing or malformed, or nothing can be driven.
    """
    from sim.interop.sumo.net import read_sumo_net
    from sim.interop.sumo.routes import read_sumo_routes, write_trip_table

    source = Path(net)
    config = read_sumocfg(source) if source.suffix == ".sumocfg" else None
    net_path = config.net if config else source
    route_paths = (*(config.routes if config else ()), *(Path(r).resolve() for r in routes))
    extra = (*(config.additional if config else ()), *(Path(a).resolve() for a in additional))
    begin_s = begin_s if begin_s is not None else (config.begin_s if config else 0.0)
    end_s = end_s if end_s is not None else (config.end_s if config else None)
    folder = _folder(out)
    network = read_sumo_net(net_path, vclass=vclass, additional=extra)
    name = name or net_path.name.split(".")[0]
    report = [f"network {net_path}:", *_indented(network.report.summary())]
    tables: dict[str, Any] = {}
    demand_files = (*route_paths, *extra)
    demand = None
    if demand_files:
        period = {"begin_s": begin_s, "end_s": end_s}
        demand = read_sumo_routes(demand_files, network, seed=seed, vclass=vclass, **period)
        report += [f"demand {', '.join(str(p) for p in demand_files)}:", *_indented(demand.report.summary())]
    if demand is not None and len(demand.trips) > 0:
        write_trip_table(demand, folder / TRIPS_FILE)
        tables["demand"] = {"type": "trips", "trips": TRIPS_FILE}
        tables["vehicle_types"] = dict(demand.types)
        last_s = float(demand.trips.depart_s[-1])
    elif route_paths:
        raise InteropError("the route files give no trip that can be driven on the imported network")
    else:
        pairs = write_od_matrix(network.graph, folder / OD_FILE, rate_vph)
        report.append(f"demand: no route files; {rate_vph:g} veh/h for 1 h over {pairs:,} drivable OD pairs")
        tables["demand"] = {"type": "matrix", "matrix": OD_FILE, "duration_s": _DEMAND_HOUR_S}
        last_s = _DEMAND_HOUR_S
    controller, line = _controller_of(network.programs.values())
    tables["signals"] = {"controller": controller}
    report.append(line)
    network.graph.graph["name"] = name
    save_network_json(network.graph, folder / NETWORK_FILE)
    description = f"Imported from SUMO: {net_path.name}" + (
        f" with {', '.join(p.name for p in route_paths)}" if route_paths else ""
    )
    imported = {"format": "sumo", "net": str(net_path.resolve()), "vclass": vclass}
    if route_paths:
        imported["routes"] = [str(p) for p in route_paths]
    if extra:
        imported["additional"] = [str(p) for p in extra]
    scenario = _write_scenario(folder, name, description, seed, tables, last_s, imported)
    return ImportedFolder(folder, scenario, tuple(report))


def _controller_of(programs: Iterable[TlsProgram]) -> tuple[str, str]:
    """``actuated`` if every program is (SUMO's ``actuated`` or ``delay_based``), else ``fixed_time``.

    Returns:
        The controller and a report line saying why.
    """
    kinds = Counter(program.kind for program in programs)
    actuated = sum(kinds[kind] for kind in ACTUATED_TYPES)
    controller = "actuated" if kinds and actuated == kinds.total() else "fixed_time"
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) or "none"
    line = f"signals: programs {counts}; signals.controller = {controller!r}"
    if 0 < actuated < kinds.total():
        line += " (the actuated programs run their nominal durations as fixed time)"
    return controller, line


def import_osm(
    path: PathLike,
    out: PathLike,
    *,
    name: str | None = None,
    seed: int = 42,
    rate_vph: float = DEFAULT_RATE_VPH,
) -> ImportedFolder:
    """Import an OpenStreetMap extract into a scenario folder with OD demand over its fringe.

    Args:
        path: An ``.osm`` or ``.osm.pbf`` file (needs the ``osm`` extra).
        out: The folder to write (created if missing).
        name: Scenario name; default the file name without suffixes.
        seed: The scenario's seed.
        rate_vph: Departures per hour, for one hour, spread over every drivable pair of fringe nodes.

    Returns:
        The folder, its scenario file and the report.

    Raises:
        InteropError: If the file is missing or malformed, or nothing can be driven.
    """
    from sim.interop.osm import OsmOptions, read_osm

    path = Path(path)
    folder = _folder(out)
    network = read_osm(path, OsmOptions(name=name))
    name = network.graph.graph["name"]
    save_network_json(network.graph, folder / NETWORK_FILE)
    pairs = write_od_matrix(network.graph, folder / OD_FILE, rate_vph)
    report = [
        f"network {path}:",
        *_indented(network.report.summary()),
        f"demand: {rate_vph:g} veh/h for 1 h over {pairs:,} drivable fringe pairs",
    ]
    tables = {"demand": {"type": "matrix", "matrix": OD_FILE, "duration_s": _DEMAND_HOUR_S}}
    imported = {"format": "osm", "net": str(path.resolve())}
    description = f"Imported from OpenStreetMap: {path.name}"
    scenario = _write_scenario(folder, name, description, seed, tables, _DEMAND_HOUR_S, imported)
    return ImportedFolder(folder, scenario, tuple(report))


def _folder(out: PathLike) -> Path:
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InteropError("expected a folder to write the scenario to, found a file", folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _indented(text: str) -> list[str]:
    return [f"  {line}" for line in text.splitlines()]


def _write_scenario(
    folder: Path,
    name: str,
    description: str,
    seed: int,
    tables: Mapping[str, Any],
    last_departure_s: float,
    imported: Mapping[str, Any],
) -> Path:
    """Write ``scenario.toml``: the network file, ``tables``, a horizon and ``[imported]``.

    Signals run each node's own plan (the imported programs) with fixed-time control unless
    ``tables`` says otherwise; the horizon leaves :data:`CLEARANCE_S` after the last departure.
    """
    max_time_s = min(MAX_TIME_S, math.ceil(last_departure_s + CLEARANCE_S))
    document: dict[str, Any] = {
        "name": name,
        "description": description,
        "seed": seed,
        "network": {"type": "file", "path": NETWORK_FILE},
        "signals": {"controller": "fixed_time"},
        **{key: value for key, value in tables.items() if value},
        "simulation": {"max_time_s": float(max_time_s)},
        "imported": dict(imported),
    }
    path = folder / SCENARIO_FILE
    path.write_text(_toml(document), encoding="utf-8")
    return path


def _toml(document: Mapping[str, Any]) -> str:
    """TOML text of plain tables (strings, numbers, lists and nested tables)."""
    lines: list[str] = []

    def table(prefix: str, values: Mapping[str, Any]) -> None:
        plain = {k: v for k, v in values.items() if not isinstance(v, Mapping)}
        nested = {k: v for k, v in values.items() if isinstance(v, Mapping)}
        if prefix and (plain or not nested):
            lines.extend(["", f"[{prefix}]"])
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in plain.items())
        for key, sub in nested.items():
            table(f"{prefix}.{_key(key)}" if prefix else _key(key), sub)

    table("", document)
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(str(value))
