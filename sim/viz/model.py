"""The model behind the explorer: a CityModel built from a scenario file and a few knobs."""

from __future__ import annotations

import math
import os

import pandas as pd

from sim.metrics.frames import CityFrame
from sim.metrics.summary import all_trip_metrics
from sim.model import CityModel
from sim.parking.metrics import facility_frame
from sim.probes.snapshot import city_frame
from sim.scenario import Scenario, load_scenario

__all__ = ["HISTORY_COLUMNS", "ExplorerModel", "explorer_scenario"]

HISTORY_COLUMNS = ("time_s", "mean_delay_s", "queued_veh", "on_network")
"""Columns of :attr:`ExplorerModel.history`."""


def explorer_scenario(
    path: str | os.PathLike[str], demand_scale: float | None = None, controller: str | None = None
) -> Scenario:
    """Load a scenario with the explorer's knobs applied as overrides (validated like ``--set``).

    Raises:
        ScenarioError: If the file or a knob's value is invalid.
    """
    overrides: dict[str, object] = {}
    if demand_scale is not None:
        overrides["demand.scale"] = float(demand_scale)
    if controller is not None:
        overrides["signals.controller"] = controller
    return load_scenario(path, overrides)


class ExplorerModel(CityModel):
    """A :class:`~sim.model.CityModel` for the explorer: keyword knobs; a step is ``step_s`` simulated s.

    The explorer rebuilds the model from keyword arguments when the user presses Reset, so the
    knobs are plain keywords applied as scenario overrides (validated like ``--set``).

    Args:
        scenario: The scenario TOML file.
        demand_scale: Overrides ``demand.scale`` (multiplies every demand rate); None keeps the file's.
        controller: Overrides ``signals.controller``; None keeps the file's.
        seed: Overrides the scenario's seed; None keeps it.
        step_s: Simulated seconds per :meth:`step` (> 0).

    Raises:
        ScenarioError: If the file or an override is invalid.
        ValueError: If ``step_s`` is not positive.
    """

    def __init__(
        self,
        scenario: str | os.PathLike[str] = "",
        demand_scale: float | None = None,
        controller: str | None = None,
        seed: int | None = None,
        step_s: float = 10.0,
    ) -> None:
        if not step_s > 0:
            raise ValueError(f"step_s: expected a number of simulated seconds > 0, got {step_s!r}")
        super().__init__(
            explorer_scenario(scenario, demand_scale, controller), seed=None if seed is None else int(seed)
        )
        self.step_s = float(step_s)
        parking = self.features.get("parking")
        self._parking_facilities = None if parking is None else facility_frame(parking.facilities)
        self._rows: list[tuple[float, float, int, int]] = []
        self._record()

    def step(self) -> None:
        """Advance ``step_s`` simulated seconds (less at the end of the run) and record the live charts."""
        self.run(until_s=self.time_s + self.step_s)
        # CityModel counts kernel steps in `steps`; undo the one Mesa's step wrapper added.
        self.steps -= 1
        if self.time_s >= self.config.simulation.max_time_s - 1e-9:
            self.running = False
        self._record()

    def frame(self) -> CityFrame:
        """What to draw now."""
        return city_frame(self, self._parking_facilities)

    def open_incident_nodes(self) -> list[str]:
        """Scene node of each emergency call made and not yet cleared (none without ``[emergency]``)."""
        emergency = self.features.get("emergency")
        if emergency is None:
            return []
        calls = emergency.log.incident_frame()
        return list(calls.loc[calls["clear_s"].isna(), "scene_node"])

    def traffic_incident_edges(self) -> list[int]:
        """Compiled edge index of each link with a traffic incident in force (none without incidents)."""
        closures = self.features.get("incidents")
        return [] if closures is None else closures.links[closures.active].tolist()

    @property
    def history(self) -> pd.DataFrame:
        """One row per step so far: ``time_s``, ``mean_delay_s``, ``queued_veh``, ``on_network``.

        ``mean_delay_s`` is over every trip due so far, unfinished ones with their delay so far
        (see :func:`sim.metrics.summary.all_trip_metrics`; NaN before the first); ``queued_veh``
        counts vehicles standing on the network (:attr:`~sim.metrics.frames.CityFrame.vehicle_halted`).
        """
        return pd.DataFrame(self._rows, columns=list(HISTORY_COLUMNS))

    def _record(self) -> None:
        frame = city_frame(self)
        delay_s = all_trip_metrics(self.trip_records(), self.time_s)["delay_s"]
        mean_delay_s = float(delay_s.mean()) if len(delay_s) else math.nan
        self._rows.append((self.time_s, mean_delay_s, int(frame.vehicle_halted.sum()), frame.n_vehicles))
