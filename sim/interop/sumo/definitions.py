"""SUMO vehicle types, routes and their distributions, collected from route files before the demand.

``<vType>`` (also inside a ``<vTypeDistribution>``, where its ``probability`` is its weight),
``<vTypeDistribution>`` (member types, or ``vTypes="a b"`` with ``probabilities`` or the
types' own ``probability``), named ``<route>`` (``edges``, ``repeat``), ``<routeDistribution>``
(member routes or ``<route refId=...>``, or ``routes="r1 r2"`` with ``probabilities``).
SUMO's predefined types (``DEFAULT_VEHTYPE`` and the like) exist from the start and may be
redefined once, by a type or a distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.interop.sumo.vtypes import BUILTIN_TYPES, VehicleType, vehicle_type
from sim.interop.sumo.xmlfile import Element, element_error

__all__ = ["Choice", "Definitions", "SumoRoute"]

SumoRoute = tuple[str, ...]
"""A route as SUMO edge ids, in travel order."""


@dataclass(frozen=True, eq=False)
class Choice:
    """A distribution: options with their probabilities (summing to 1)."""

    options: tuple
    probabilities: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> list:
        """``n`` options drawn independently (no draw for a single option)."""
        if len(self.options) == 1:
            return [self.options[0]] * n
        return [self.options[i] for i in rng.choice(len(self.options), size=n, p=self.probabilities)]


class Definitions:
    """The vehicle types, routes and distributions of a set of route files.

    Attributes:
        vtypes: Every vehicle type by id (SUMO's predefined ones included).
    """

    def __init__(self) -> None:
        self.vtypes: dict[str, VehicleType] = {
            name: vehicle_type({"vClass": c}) for name, c in BUILTIN_TYPES.items()
        }
        self._type_weights: dict[str, str] = {}
        self._type_choices: dict[str, Choice] = {}
        self._routes: dict[str, SumoRoute] = {}
        self._route_choices: dict[str, Choice] = {}
        self._defined: set[str] = set()

    def add(self, path: Path, element: Element) -> bool:
        """Take the definition ``element`` of the file ``path``; whether it was one.

        Raises:
            InteropError: Naming the file, line and element, for a missing or repeated id, a
                number that cannot be read, an unknown reference or bad probabilities.
        """
        if element.tag == "vType":
            self._add_type(path, element)
        elif element.tag == "vTypeDistribution":
            members = [self._add_type(path, child) for child in element.children if child.tag == "vType"]
            listed = element.attrs.get("vTypes", "").split()
            for name in listed:
                if name not in self.vtypes:
                    raise element_error(path, element, f"vTypes: no vehicle type {name!r} defined before")
            names = members or listed
            weights = [self._type_weights.get(name, "1") for name in names]
            if not members and "probabilities" in element.attrs:
                weights = element.attrs["probabilities"].split()
            self._type_choices[self._new_id(path, element)] = _choice(path, element, names, weights, "vTypes")
        elif element.tag == "route":
            self._routes[self._new_id(path, element)] = self.route(path, element)
        elif element.tag == "routeDistribution":
            self._route_choices[self._new_id(path, element)] = self.route_choice(path, element)
        else:
            return False
        return True

    def types(self, name: str, n: int, rng: np.random.Generator) -> list[str]:
        """Type ids of ``n`` vehicles of type or type distribution ``name``.

        Raises:
            KeyError: If ``name`` is neither.
        """
        if name in self._type_choices:
            return self._type_choices[name].draw(rng, n)
        if name in self.vtypes:
            return [name] * n
        raise KeyError(name)

    def routes(self, name: str, n: int, rng: np.random.Generator) -> list[SumoRoute]:
        """Routes of ``n`` vehicles of named route or route distribution ``name``.

        Raises:
            KeyError: If ``name`` is neither.
        """
        if name in self._route_choices:
            return self._route_choices[name].draw(rng, n)
        return [self._routes[name]] * n

    def route(self, path: Path, element: Element) -> SumoRoute:
        """The edges of a ``<route>`` (repeated ``repeat`` times more), or of the route it refers to."""
        if "refId" in element.attrs:
            return self._reference(path, element, element.attrs["refId"])
        edges = tuple(element.attrs.get("edges", "").split())
        if not edges:
            raise element_error(path, element, 'expected edges="..." with at least one edge id')
        repeat = element.attrs.get("repeat", "0")
        if not repeat.isdigit():
            raise element_error(path, element, f"repeat: expected a whole number >= 0, got {repeat!r}")
        return edges * (int(repeat) + 1)

    def route_choice(self, path: Path, element: Element) -> Choice:
        """The routes of a ``<routeDistribution>`` with their probabilities."""
        members = [child for child in element.children if child.tag == "route"]
        if members:
            routes = [self.route(path, child) for child in members]
            weights = [child.attrs.get("probability", "1") for child in members]
            for child, route in zip(members, routes, strict=True):
                if "id" in child.attrs:
                    self._routes[self._new_id(path, child)] = route
        else:
            listed = element.attrs.get("routes", "").split()
            routes = [self._reference(path, element, name) for name in listed]
            weights = element.attrs.get("probabilities", "").split() or ["1"] * len(listed)
        return _choice(path, element, routes, weights, "routes")

    def _add_type(self, path: Path, element: Element) -> str:
        name = self._new_id(path, element)
        try:
            self.vtypes[name] = vehicle_type(element.attrs)
        except ValueError as error:
            raise element_error(path, element, str(error)) from None
        self._type_weights[name] = element.attrs.get("probability", "1")
        return name

    def _new_id(self, path: Path, element: Element) -> str:
        name = element.attrs.get("id")
        if not name:
            raise element_error(path, element, "expected an id")
        if name in self._defined:
            raise element_error(path, element, f"the id {name!r} is defined twice")
        self._defined.add(name)
        return name

    def _reference(self, path: Path, element: Element, name: str) -> SumoRoute:
        if name not in self._routes:
            raise element_error(path, element, f"no route {name!r} defined before")
        return self._routes[name]


def _choice(path: Path, element: Element, options: Sequence, weights: Sequence[str], what: str) -> Choice:
    """A distribution from text weights (each >= 0, together > 0)."""
    if not options or len(weights) != len(options):
        counts = f"got {len(options)} {what} and {len(weights)} probabilities"
        raise element_error(path, element, f"expected {what} with one probability each, {counts}")
    try:
        values = np.array([float(w) for w in weights])
    except ValueError:
        values = np.array([np.nan])
    if not np.all(np.isfinite(values)) or np.any(values < 0) or values.sum() <= 0:
        raise element_error(
            path, element, f"expected probabilities >= 0 with a positive sum, got {list(weights)}"
        )
    return Choice(tuple(options), values / values.sum())
