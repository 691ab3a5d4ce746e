"""citysim: a fast multi-agent smart-city traffic simulator.

The public API: :func:`load_scenario` reads a scenario file, :class:`CityModel` runs it step by
step or in chunks, and :func:`run` does both and returns the :class:`RunResults`.

``CityModel``, ``Scenario``, ``RunResults`` and ``load_scenario`` are imported on first use
(PEP 562), because the model pulls in mesa and numba (about 1.5 s); ``import sim`` stays cheap
and does nothing else.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sim.lazy import lazy_attributes

if TYPE_CHECKING:
    from sim.metrics.results import RunResults
    from sim.model import CityModel
    from sim.scenario import Overrides, Scenario, load_scenario

__version__ = "0.1.0"

__all__ = ["CityModel", "RunResults", "Scenario", "__version__", "load_scenario", "run"]

_LAZY = {
    "CityModel": "sim.model",
    "RunResults": "sim.metrics.results",
    "Scenario": "sim.scenario",
    "load_scenario": "sim.scenario",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


def run(
    scenario: Scenario | str | os.PathLike[str], seed: int | None = None, overrides: Overrides = ()
) -> RunResults:
    """Run a scenario to its end and return its results.

    The run stops at ``simulation.max_time_s``, when every trip has arrived, or when the
    network stalls in gridlock, as :meth:`CityModel.run` does.

    Args:
        scenario: A validated :class:`Scenario`, or the path of a scenario TOML file.
        seed: Overrides the scenario's seed.
        overrides: ``["demand.rate_vph=3000", ...]`` or ``{"demand.rate_vph": 3000}``, validated
            like the scenario's own keys (see :func:`load_scenario`).

    Returns:
        The run's results, with ``sim_wall_s``, ``setup_wall_s`` and ``vehicle_steps`` in ``info``.

    Raises:
        ScenarioError: If the file cannot be read or the scenario or an override is invalid.
        NetworkError, DemandError, RoutingError: If the network, demand or routes cannot be built.
    """
    from sim.model import CityModel
    from sim.scenario import Scenario, load_scenario

    if isinstance(scenario, Scenario):
        spec = scenario.with_overrides(overrides) if overrides else scenario
    else:
        spec = load_scenario(scenario, overrides)
    return CityModel(spec, seed=seed).run().results()
