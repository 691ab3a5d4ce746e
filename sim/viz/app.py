"""The Solara app that ``citysim viz`` serves: the explorer with the settings named in the environment.

``solara run sim.viz.app`` imports this module; ``citysim viz`` first puts the keyword arguments
of :func:`sim.viz.page.explorer` in :data:`SETTINGS_ENV` as JSON (the scenario was validated by then).
"""

from __future__ import annotations

import json
import os

from sim.viz import SETTINGS_ENV
from sim.viz.page import explorer

__all__ = ["page"]

page = explorer(**json.loads(os.environ[SETTINGS_ENV]))
