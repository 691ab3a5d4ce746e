"""Interoperability: OpenStreetMap import, SUMO import and export, validation against SUMO.

Each submodule is imported on its own (``from sim.interop.osm import read_osm``), so that
the optional dependencies of one (pyosmium for OSM, the ``eclipse-sumo`` wheel for
netconvert and sumo) are needed only when it is used. Importing this package does nothing.
"""

from sim.interop.errors import InteropError

__all__ = ["InteropError"]
