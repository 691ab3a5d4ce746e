"""The interactive explorer: Mesa's SolaraViz over a running scenario, in the browser or in Jupyter.

``explorer(scenario)`` returns the SolaraViz page (display it in a notebook cell);
``citysim viz SCENARIO`` serves the same page. It needs the ``viz`` extra (Solara).
"""

from __future__ import annotations

from typing import Any

from sim.metrics.snapshot import CityFrame, city_frame
from sim.viz.model import ExplorerModel

__all__ = ["SETTINGS_ENV", "CityFrame", "ExplorerModel", "city_frame", "explorer"]

SETTINGS_ENV = "CITYSIM_VIZ_SETTINGS"
"""Environment variable holding ``explorer``'s keyword arguments as JSON for ``sim.viz.app``."""


def __getattr__(name: str) -> Any:
    # The page imports Solara, which only the `viz` extra installs; load it on first use.
    if name == "explorer":
        from sim.viz.page import explorer

        return explorer
    raise AttributeError(f"module 'sim.viz' has no attribute {name!r}")
