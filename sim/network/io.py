"""Read and write road networks: the neutral JSON format of the benchmarks, and GraphML.

The neutral JSON format (``sim/data/bench/*/network.json``) is an object with

* ``name`` (str, optional; defaults to the file stem);
* ``nodes``: a list of ``{"id", "x", "y", "kind", "signalized"}`` (x and y in metres), plus an
  optional ``junction`` (str) and ``signal_plan`` object (see :mod:`sim.network.graph`);
* ``edges``: a list of ``{"from", "to", "length", "lanes", "speed"}`` with length in metres and
  speed in metres per second, plus an optional ``capacity`` (vehicles per hour), ``priority``
  (int, the road's rank) and ``turns`` object (``{"next node": [lane_lo, lane_hi]}``, see
  :mod:`sim.network.graph`). The optional
  ``id`` and ``axis`` keys are accepted and dropped: ids are rewritten as ``"{from}-{to}"`` on
  saving, and signal phases come from the nodes (their ``signal_plan``, or geometry).

GraphML stores a ``signal_plan`` and ``turns`` as JSON strings, read back into mappings.

Other top-level keys (``signal``, ``seed``, ``notes``, ...) are ignored. Every loader validates the
network with :func:`sim.network.validate.validate_network`; every saver validates before writing.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from numbers import Real
from pathlib import Path
from typing import Any

import networkx as nx

from sim.network.graph import (
    JUNCTION,
    OPTIONAL_PLAN_KEYS,
    PLAN_PHASE_KEYS,
    PRIORITY,
    SIGNAL_PLAN,
    TURNS,
    NetworkError,
)
from sim.network.validate import validate_network
from sim.schema import excerpt

__all__ = ["load_graphml", "load_network", "load_network_json", "save_graphml", "save_network_json"]

_NODE_KEYS = ("id", "x", "y", "kind", "signalized")
_EDGE_KEYS = ("from", "to", "length", "lanes", "speed")
_OPTIONAL_NODE_KEYS = (SIGNAL_PLAN, JUNCTION)
_OPTIONAL_EDGE_KEYS = ("id", "capacity", TURNS, PRIORITY, "axis")
# JSON key -> graph attribute, for the attributes that are kept
_NODE_ATTRIBUTES = {
    "x": "x",
    "y": "y",
    "signalized": "signalized",
    "kind": "kind",
    SIGNAL_PLAN: SIGNAL_PLAN,
    JUNCTION: JUNCTION,
}
_EDGE_ATTRIBUTES = {
    "length": "length_m",
    "lanes": "lanes",
    "speed": "speed_mps",
    "capacity": "capacity_vph",
    TURNS: TURNS,
    PRIORITY: PRIORITY,
}
_FLOAT_ATTRIBUTES = frozenset({"x", "y", "length_m", "speed_mps", "capacity_vph"})

PathLike = str | os.PathLike[str]


def load_network(path: PathLike) -> nx.DiGraph:
    """Load a road network, choosing the format by file suffix (``.json`` or ``.graphml``).

    Args:
        path: The network file.

    Returns:
        The validated road network.

    Raises:
        NetworkError: If the suffix is unknown, the file is missing or unreadable, or the
            network is malformed or invalid.
    """
    loaders = {".json": load_network_json, ".graphml": load_graphml}
    suffix = Path(path).suffix.lower()
    if suffix not in loaders:
        raise NetworkError(
            f"unknown network file suffix {suffix!r}; expected one of {', '.join(loaders)}", path
        )
    return loaders[suffix](path)


def load_network_json(path: PathLike) -> nx.DiGraph:
    """Load a network from the neutral JSON format described in this module's docstring.

    Args:
        path: The ``network.json`` file.

    Returns:
        The validated road network.

    Raises:
        NetworkError: If the file is missing, is not valid JSON (the message gives line and
            column), lacks a key (the message names the item and the key), or is invalid.
    """
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise NetworkError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}", path
        ) from None
    if not isinstance(data, dict):
        raise NetworkError(f"expected a JSON object at the top level, got {type(data).__name__}", path)
    graph = nx.DiGraph(name=data.get("name", Path(path).stem))
    for label, item in _items(data, "nodes", _NODE_KEYS, _OPTIONAL_NODE_KEYS, path):
        if not isinstance(item["id"], str) or item["id"] in graph:
            raise NetworkError(f"{label}: key 'id' must be a unique string, got {excerpt(item['id'])}", path)
        graph.add_node(item["id"], **_attributes(item, _NODE_ATTRIBUTES))
    for label, item in _items(data, "edges", _EDGE_KEYS, _OPTIONAL_EDGE_KEYS, path):
        for end in ("from", "to"):
            if not isinstance(item[end], str) or item[end] not in graph:
                raise NetworkError(f"{label}: key {end!r} must name a node, got {excerpt(item[end])}", path)
        if graph.has_edge(item["from"], item["to"]):
            raise NetworkError(
                f"{label}: duplicate edge {excerpt(item['from'])} -> {excerpt(item['to'])}; expected at most "
                "one edge per ordered pair of nodes",
                path,
            )
        graph.add_edge(item["from"], item["to"], **_attributes(item, _EDGE_ATTRIBUTES))
    validate_network(graph, path)
    return graph


def save_network_json(graph: nx.DiGraph, path: PathLike) -> None:
    """Write a network in the neutral JSON format; :func:`load_network_json` reads it back equal.

    Edge ids are written as ``"{from}-{to}"``. Node ids are written as they are (use strings).

    Args:
        graph: A valid road network.
        path: The file to write.

    Raises:
        NetworkError: If the network is invalid.
    """
    plain = _plain(graph)
    json_key = {attribute: key for key, attribute in _EDGE_ATTRIBUTES.items()}
    data = {
        "name": plain.graph["name"],
        "nodes": [{"id": node, **attrs} for node, attrs in plain.nodes(data=True)],
        "edges": [
            {"id": f"{u}-{v}", "from": u, "to": v, **{json_key[key]: value for key, value in attrs.items()}}
            for u, v, attrs in plain.edges(data=True)
        ],
    }
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def load_graphml(path: PathLike) -> nx.DiGraph:
    """Load a network from GraphML written by :func:`save_graphml` (or any tool using the schema).

    Attribute types (float, int, bool) come from the GraphML key declarations; node ids are
    read as strings; a ``signal_plan`` and ``turns`` are parsed from their JSON strings.

    Args:
        path: The ``.graphml`` file.

    Returns:
        The validated road network; its ``name`` defaults to the file stem.

    Raises:
        NetworkError: If the file is missing, is not valid GraphML, or the network is invalid.
    """
    text = _read_text(path)
    try:
        raw = nx.parse_graphml(text)
    except ET.ParseError as error:
        line, column = error.position
        raise NetworkError(f"invalid XML at line {line}, column {column}", path) from None
    except (nx.NetworkXError, ValueError, KeyError) as error:
        raise NetworkError(f"invalid GraphML: {error}", path) from None
    if not raw.is_directed() or raw.is_multigraph():
        raise NetworkError(
            'expected a directed graph (edgedefault="directed") with at most one edge per ordered '
            "pair of nodes",
            path,
        )
    graph = nx.DiGraph(name=raw.graph.get("name", Path(path).stem))
    graph.add_nodes_from(raw.nodes(data=True))
    graph.add_edges_from(raw.edges(data=True))
    for node, attrs in graph.nodes(data=True):
        _parse_json_attribute(f"node {excerpt(node)}", attrs, SIGNAL_PLAN, path)
    for u, v, attrs in graph.edges(data=True):
        _parse_json_attribute(f"edge {excerpt(u)} -> {excerpt(v)}", attrs, TURNS, path)
    validate_network(graph, path)
    return graph


def _parse_json_attribute(element: str, attrs: dict[str, Any], key: str, path: PathLike) -> None:
    """Replace the JSON string ``attrs[key]`` (if there is one) by the value it holds."""
    text = attrs.get(key)
    if isinstance(text, str):
        try:
            attrs[key] = json.loads(text)
        except json.JSONDecodeError as error:
            raise NetworkError(
                f"{element}: attribute {key!r} is not valid JSON ({error.msg} at column {error.colno})", path
            ) from None


def save_graphml(graph: nx.DiGraph, path: PathLike) -> None:
    """Write a network as GraphML; :func:`load_graphml` reads it back equal (string node ids).

    Args:
        graph: A valid road network.
        path: The file to write.

    Raises:
        NetworkError: If the network is invalid.
    """
    plain = _plain(graph)
    for _, attrs in plain.nodes(data=True):
        if SIGNAL_PLAN in attrs:
            attrs[SIGNAL_PLAN] = json.dumps(attrs[SIGNAL_PLAN])
    for _, _, attrs in plain.edges(data=True):
        if TURNS in attrs:
            attrs[TURNS] = json.dumps(attrs[TURNS])
    nx.write_graphml(plain, path)


def _read_text(path: PathLike) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkError("file not found", path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise NetworkError(f"cannot read file: {error}", path) from None


def _items(
    data: dict[str, Any], section: str, required: tuple[str, ...], optional: tuple[str, ...], path: PathLike
) -> list[tuple[str, dict[str, Any]]]:
    """Return (label, item) for each item of ``data[section]``, after checking its keys."""
    items = data.get(section)
    if not isinstance(items, list):
        raise NetworkError(f"missing or invalid key {section!r}: expected a list of objects", path)
    labelled = []
    for index, item in enumerate(items):
        label = f"{section}[{index}]"
        if not isinstance(item, dict):
            raise NetworkError(f"{label}: expected an object, got {type(item).__name__}", path)
        if "id" in item:
            label = f"{label} (id {excerpt(item['id'])})"
        missing = [key for key in required if key not in item]
        if missing:
            raise NetworkError(
                f"{label}: missing key {missing[0]!r}; expected keys: {', '.join(required)}", path
            )
        unknown = [key for key in item if key not in required + optional]
        if unknown:
            raise NetworkError(
                f"{label}: unknown key {excerpt(unknown[0])}; allowed: {', '.join(required + optional)}", path
            )
        labelled.append((label, item))
    return labelled


def _attributes(item: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """Graph attributes from a JSON item; JSON integers become floats where the schema wants floats."""
    attributes = {}
    for key, attribute in renames.items():
        if key in item:
            value = item[key]
            is_int = isinstance(value, int) and not isinstance(value, bool)
            attributes[attribute] = float(value) if attribute in _FLOAT_ATTRIBUTES and is_int else value
    return attributes


def _plain(graph: nx.DiGraph) -> nx.DiGraph:
    """Validate ``graph`` and copy it with plain Python attribute types (no numpy scalars)."""
    validate_network(graph)
    plain = nx.DiGraph(name=graph.graph.get("name", ""))
    for node, attrs in graph.nodes(data=True):
        plain.add_node(
            node,
            x=float(attrs["x"]),
            y=float(attrs["y"]),
            kind=str(attrs["kind"]),
            signalized=bool(attrs["signalized"]),
        )
        if JUNCTION in attrs:
            plain.nodes[node][JUNCTION] = str(attrs[JUNCTION])
        if SIGNAL_PLAN in attrs:
            plain.nodes[node][SIGNAL_PLAN] = _plain_plan(attrs[SIGNAL_PLAN])
    for u, v, attrs in graph.edges(data=True):
        plain.add_edge(u, v, **{key: _plain_edge_value(key, value) for key, value in attrs.items()})
    return plain


def _plain_edge_value(key: str, value: Any) -> Any:
    if key == TURNS:
        return {after: [int(lo), int(hi)] for after, (lo, hi) in value.items()}
    return int(value) if key in ("lanes", PRIORITY) else float(value)


def _plain_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """A validated ``signal_plan`` as JSON-ready lists and floats (movement ends kept as they are)."""
    plain = {
        "phases": [[[a, b] for a, b in phase] for phase in plan["phases"]],
        "greens_s": [float(g) for g in plan["greens_s"]],
        "yellow_s": plan["yellow_s"],
        "all_red_s": plan["all_red_s"],
        "offset_s": float(plan["offset_s"]),
        **{key: plan[key] for key in OPTIONAL_PLAN_KEYS if key in plan},
    }
    for key in PLAN_PHASE_KEYS:
        if key in plain:
            value = plain[key]
            plain[key] = float(value) if isinstance(value, Real) else [float(v) for v in value]
    return plain
