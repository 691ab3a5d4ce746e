"""The road network: builders, file formats, validation and compilation to arrays."""

from __future__ import annotations

from typing import Any

import networkx as nx

from sim.network.builders import arterial, grid, ring, roundabout
from sim.network.compile import CompiledNetwork, compile_network
from sim.network.graph import FRINGE, INTERSECTION, NetworkError
from sim.network.io import load_graphml, load_network, load_network_json, save_graphml, save_network_json
from sim.network.validate import validate_network

__all__ = [
    "BUILDERS",
    "FRINGE",
    "INTERSECTION",
    "CompiledNetwork",
    "NetworkError",
    "arterial",
    "build_network",
    "compile_network",
    "grid",
    "load_graphml",
    "load_network",
    "load_network_json",
    "ring",
    "roundabout",
    "save_graphml",
    "save_network_json",
    "validate_network",
]

BUILDERS = {"grid": grid, "arterial": arterial, "ring": ring, "roundabout": roundabout}


def build_network(kind: str, params: dict[str, Any]) -> nx.DiGraph:
    """Build (a key of :data:`BUILDERS`) or load (``"file"``, ``params["path"]``) a network."""
    if kind == "file":
        return load_network(params["path"])
    return BUILDERS[kind](**params)
