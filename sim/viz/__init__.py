"""The interactive explorer: a Solara page over a running scenario, in the browser or in Jupyter.

``explorer(scenario)`` returns the page (display it in a notebook cell; each session builds its own model);
``citysim viz SCENARIO`` serves the same page. It needs the ``viz`` extra (Solara).
"""

from __future__ import annotations

from sim.lazy import lazy_attributes
from sim.viz.model import ExplorerModel

__all__ = ["SETTINGS_ENV", "ExplorerModel", "explorer"]

SETTINGS_ENV = "CITYSIM_VIZ_SETTINGS"
"""Environment variable holding ``explorer``'s keyword arguments as JSON for ``sim.viz.app``."""

# The page imports Solara, which only the `viz` extra installs: load it on first use.
__getattr__, __dir__ = lazy_attributes(__name__, {"explorer": "sim.viz.page"})
