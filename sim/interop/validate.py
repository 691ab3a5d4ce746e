"""Validation against SUMO: one scenario run by citysim and by SUMO, and the two compared.

Both simulators get the same network and the same trips with the same routes (the routes
citysim's router chose). A scenario imported from SUMO (``[imported] format = "sumo"``)
runs in SUMO on its *original* network, with its own junctions, lanes and traffic-light
programs, the routes mapped back onto the original edges. Any other scenario's network is
exported with :func:`sim.interop.sumo.build_net` (point junctions by default) with the
fixed-time plans citysim's controllers run. SUMO runs with step 1 s and its default Krauss
driver, the model citysim's kernel implements.

Metric definitions are citysim's (:func:`sim.metrics.summary.summarize`) for both:
travel time = arrival - scheduled departure (the wait to enter included); delay = travel
time - the route's free-flow time; mean speed = distance driven / travel time over the
completed trips; wall time = the simulation loop alone. Per link, the flow is the number
of vehicles that left the link (downstream or by arriving at its end) over the whole run,
and the mean speed is distance over time of every vehicle on it.

The verdict judges completed vehicles, mean travel time and mean delay, each within its
tolerance (:mod:`sim.interop.agreement`); the validation agrees only when all three do.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from sim.control.fixed_time import FixedTimeController
from sim.interop.agreement import JUDGED, MetricVerdict, Tolerance, Verdict, resolve_tolerances
from sim.interop.errors import InteropError
from sim.interop.sumo import (
    ExportOptions,
    RouteTrip,
    SignalTiming,
    SumoRun,
    build_net,
    net_connections,
    run_sumo,
    sumo_edge_ids,
    write_routes,
)
from sim.interop.sumo.binaries import DEFAULT_TELEPORT_S
from sim.interop.sumo.programs import additional_logics
from sim.metrics.results import RunResults
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.scenario import Scenario
from sim.tables import DEFAULT_VEHICLE_TYPE, ImportedSpec

__all__ = ["SimulatorSummary", "Validation", "validate_against_sumo"]

NET_FILE = "network.net.xml"
ROUTES_FILE = "routes.rou.xml"
PROGRAMS_FILE = "programs.add.xml"
SUMO_FOLDER = "sumo"
LINKS_FILE = "links.csv"
VALIDATION_FILE = "validation.json"
AGREEMENT_FILE = "agreement.csv"
EdgeKey = tuple[str, str]

_SUMMARY_KEYS = {
    "trips": "trips",
    "completed": "completed",
    "mean_travel_time_s": "mean_travel_time_completed_s",
    "mean_delay_s": "mean_delay_completed_s",
    "mean_speed_mps": "mean_speed_completed_mps",
}
"""The :func:`~sim.metrics.summary.summarize` key each citysim :class:`SimulatorSummary` field reads.

SUMO's figures are over completed trips, so these must be citysim's completed-trip metrics.
"""

_ROWS = (
    ("completed", "vehicles completed", "{:,.0f}"),
    ("mean_travel_time_s", "mean travel time (s)", "{:,.1f}"),
    ("mean_delay_s", "mean delay (s)", "{:,.1f}"),
    ("mean_speed_mps", "mean speed (m/s)", "{:.2f}"),
    ("wall_s", "wall time, simulation loop (s)", "{:.2f}"),
)


@dataclass(frozen=True)
class SimulatorSummary:
    """Headline figures of one simulator's run.

    Attributes:
        name: The simulator and its version.
        trips: Trips given.
        completed: Trips that arrived.
        mean_travel_time_s, mean_delay_s: Over completed trips (s).
        mean_speed_mps: Distance over travel time of completed trips (m/s).
        wall_s: Wall time of the simulation loop (s).
    """

    name: str
    trips: int
    completed: int
    mean_travel_time_s: float
    mean_delay_s: float
    mean_speed_mps: float
    wall_s: float


@dataclass(frozen=True, eq=False)
class Validation:
    """citysim beside SUMO on one scenario.

    Attributes:
        scenario: Scenario name.
        seed: The seed of the run.
        citysim, sumo: Each simulator's headline figures.
        teleports: Vehicles SUMO teleported after being stuck (``time_to_teleport_s``).
        links: One row per edge: ``u``, ``v``, ``edge`` (SUMO id), ``flow_citysim``,
            ``flow_sumo`` (vehicles that left it), ``speed_citysim_mps``, ``speed_sumo_mps``
            (NaN where no vehicle used it).
        tolerances: Tolerance of each judged metric by name; metrics left out keep their
            default (:data:`sim.interop.agreement.DEFAULT_TOLERANCES`).

    Raises:
        ToleranceError: If ``tolerances`` names a metric that is not judged.
    """

    scenario: str
    seed: int
    citysim: SimulatorSummary
    sumo: SimulatorSummary
    teleports: int
    links: pd.DataFrame
    tolerances: Mapping[str, Tolerance] = field(default_factory=resolve_tolerances)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tolerances", resolve_tolerances(self.tolerances))

    def ratio(self, key: str) -> float:
        """Citysim's value of a :class:`SimulatorSummary` field over SUMO's (NaN if SUMO's is 0)."""
        ours, theirs = float(getattr(self.citysim, key)), float(getattr(self.sumo, key))
        return ours / theirs if theirs else math.nan

    @property
    def flow_correlation(self) -> float:
        """Pearson correlation of per-link flows over the links either simulator used."""
        used = self.links[(self.links["flow_citysim"] > 0) | (self.links["flow_sumo"] > 0)]
        return _pearson(used["flow_citysim"], used["flow_sumo"])

    @property
    def speed_correlation(self) -> float:
        """Pearson correlation of per-link mean speeds over the links both simulators used."""
        both = self.links.dropna(subset=["speed_citysim_mps", "speed_sumo_mps"])
        return _pearson(both["speed_citysim_mps"], both["speed_sumo_mps"])

    def verdict(self) -> Verdict:
        """Completed vehicles, mean travel time and mean delay, each judged by its tolerance."""
        return Verdict(
            tuple(
                MetricVerdict(
                    metric,
                    getattr(self.citysim, metric.key),
                    getattr(self.sumo, metric.key),
                    self.tolerances[metric.name],
                )
                for metric in JUDGED
            )
        )

    def table(self) -> str:
        """The comparison as a text table, one metric per line, then the verdict per judged metric."""
        width = max(len(label) for _, label, _ in _ROWS)
        column = max(10, len(self.sumo.name))
        lines = [
            f"{self.scenario}, seed {self.seed}: {self.citysim.trips:,} trips on the same network, "
            "signal plans and routes",
            f"{'':<{width}}  {'citysim':>{column}}  {self.sumo.name:>{column}}  {'ratio':>7}",
        ]
        for key, label, spec in _ROWS:
            ours, theirs = _fmt(spec, getattr(self.citysim, key)), _fmt(spec, getattr(self.sumo, key))
            lines.append(f"{label:<{width}}  {ours:>{column}}  {theirs:>{column}}  {self.ratio(key):>7.3f}")
        used = int(((self.links["flow_citysim"] > 0) | (self.links["flow_sumo"] > 0)).sum())
        lines.append(f"per-link flow correlation (Pearson r, {used} links): {self.flow_correlation:.3f}")
        lines.append(f"per-link mean speed correlation (Pearson r): {self.speed_correlation:.3f}")
        lines.append(f"SUMO teleports: {self.teleports}")
        lines.extend(self.verdict().lines())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures: both summaries, ratios, correlations, teleports and the verdict.

        The verdict is ``agreement`` (bool), ``failing`` (names of the metrics outside their
        tolerance) and ``judged`` (per metric: values, difference, tolerance, ``agrees``).
        """
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "citysim": asdict(self.citysim),
            "sumo": asdict(self.sumo),
            "ratios": {key: self.ratio(key) for key, _, _ in _ROWS},
            "flow_correlation": self.flow_correlation,
            "speed_correlation": self.speed_correlation,
            "teleports": self.teleports,
            **self.verdict().to_dict(),
        }

    def write(self, folder: str | Path) -> None:
        """Write ``validation.json`` (see :meth:`to_dict`), ``links.csv`` and ``agreement.csv``.

        ``agreement.csv`` holds the verdict, one row per judged metric (the columns of
        :meth:`~sim.interop.agreement.MetricVerdict.to_dict`).
        """
        folder = Path(folder)
        self.links.to_csv(folder / LINKS_FILE, index=False)
        pd.DataFrame([m.to_dict() for m in self.verdict().metrics]).to_csv(
            folder / AGREEMENT_FILE, index=False
        )
        data = json.dumps(_finite(self.to_dict()), indent=1)
        (folder / VALIDATION_FILE).write_text(data + "\n", encoding="utf-8")


def validate_against_sumo(
    scenario: Scenario,
    out_dir: str | Path,
    seed: int | None = None,
    options: ExportOptions | None = None,
    progress: bool = False,
    tolerances: Mapping[str, Tolerance] | None = None,
    time_to_teleport_s: float = DEFAULT_TELEPORT_S,
) -> Validation:
    """Run ``scenario`` in citysim and in SUMO on the same network, plans and routes; compare.

    Args:
        scenario: A scenario whose signals run ``fixed_time`` (fixed or Webster timing).
        out_dir: Folder for the SUMO net, routes and outputs (created if missing).
        seed: Overrides the scenario's seed.
        options: How the SUMO net is built; default :class:`~sim.interop.sumo.ExportOptions()`.
        progress: Show citysim's progress bar.
        tolerances: Tolerances of the judged metrics by name, overriding the defaults of
            :data:`sim.interop.agreement.DEFAULT_TOLERANCES`.
        time_to_teleport_s: SUMO's ``--time-to-teleport``: a vehicle stuck this long is moved
            on (and counted); negative: never (citysim never teleports). Default SUMO's, 300 s.

    Returns:
        The comparison.

    Raises:
        ToleranceError: If ``tolerances`` names a metric that is not judged.
        InteropError: If the signals are not fixed-time, the network cannot be exported, a
            route uses a turn the SUMO net lacks, or SUMO is missing or fails.
    """
    tolerances = resolve_tolerances(tolerances)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = CityModel(scenario, seed=seed)
    imported = scenario.imported
    if imported is not None and imported.format != "sumo":
        imported = None  # an OpenStreetMap import runs in SUMO as an export
    if imported is not None:
        net_path = imported.net
        pieces, connections = _original_edges(imported.net, imported.vclass, model.graph)
    else:
        net_path = out / NET_FILE
        pieces = {edge_id: (key,) for key, edge_id in sumo_edge_ids(model.graph).items()}
        build_net(model.graph, net_path, _timings(model), options, scenario.signals.phasing())
        connections = net_connections(net_path)
    trips = _route_trips(model, pieces)
    _check_turns(trips, connections)
    write_routes(out / ROUTES_FILE, trips, _vtypes(scenario))
    results = model.run(progress=progress).results()
    horizon_s = scenario.simulation.max_time_s
    programs = _programs_file(imported, out) if imported is not None else ()
    sumo_run = run_sumo(
        net_path, out / ROUTES_FILE, out / SUMO_FOLDER, horizon_s, time_to_teleport_s, True, programs
    )
    return Validation(
        scenario=scenario.name,
        seed=model.seed,
        citysim=_citysim_summary(results),
        sumo=_sumo_summary(sumo_run, results),
        teleports=sumo_run.teleports,
        links=_links(results, sumo_run, pieces),
        tolerances=tolerances,
    )


def _programs_file(imported: ImportedSpec, out: Path) -> tuple[Path, ...]:
    """The traffic-light programs of the imported additional files, alone in one file for SUMO.

    Only the programs: those files may hold routes and vehicles too, which the trips replace.
    """
    logics = additional_logics(imported.additional)
    if not logics:
        return ()
    path = out / PROGRAMS_FILE
    root = ET.Element("additional")
    root.extend(logics)
    ET.ElementTree(root).write(path, encoding="utf-8")
    return (path,)


def _original_edges(
    net_path: Path, vclass: str, graph: nx.DiGraph
) -> tuple[dict[str, tuple[EdgeKey, ...]], frozenset[tuple[str, str]]]:
    """Graph edges of each edge of the original SUMO net, and its connections between them.

    The edges are checked against the scenario's network.

    Raises:
        InteropError: If the scenario's network is not the import of that net (edited since).
    """
    from sim.interop.sumo.net import read_sumo_net

    original = read_sumo_net(net_path, vclass=vclass)
    pieces = dict(original.edges)
    ours, theirs = set(graph.edges), {key for keys in pieces.values() for key in keys}
    if ours != theirs:
        different = sorted(ours ^ theirs)[:3]
        raise InteropError(
            f"the scenario's network is not the import of imported.net (edges differ, e.g. {different}); "
            "import it again with 'citysim import sumo', or remove [imported] to validate on an export",
            net_path,
        )
    return pieces, original.connections


def _timings(model: CityModel) -> dict[str, SignalTiming]:
    timings = {}
    for controller in model.controllers:
        node, plan = controller.intersection.node, controller.intersection.plan
        if not isinstance(controller, FixedTimeController):
            raise InteropError(
                f"validation against SUMO needs fixed-time signals (signals.controller = 'fixed_time'); "
                f"node {node!r} runs {type(controller).__name__}"
            )
        timings[node] = SignalTiming(plan.greens_s, plan.yellow_s, plan.all_red_s, plan.offset_s)
    return timings


def _route_trips(model: CityModel, pieces: Mapping[str, tuple[EdgeKey, ...]]) -> list[RouteTrip]:
    """Each trip with its route as SUMO edges (the pieces of one SUMO edge give it once)."""
    edge_id = {key: sumo_id for sumo_id, keys in pieces.items() for key in keys}
    trips = model.trips
    routes = []
    for i in range(len(trips)):
        path = trips.routes[i] or model.router.shortest_path(trips.origin[i], trips.destination[i])
        edges = [edge_id[(a, b)] for a, b in itertools.pairwise(path)]
        kept = tuple(e for k, e in enumerate(edges) if k == 0 or e != edges[k - 1])
        vtype = None if trips.types[i] == DEFAULT_VEHICLE_TYPE else trips.types[i]
        routes.append(RouteTrip(trips.ids[i], float(trips.depart_s[i]), kept, vtype))
    return routes


def _vtypes(scenario: Scenario) -> dict[str, dict[str, float | None]]:
    """The scenario's vehicle types: ``[vehicles]`` as SUMO's default type, and the declared ones."""
    declared = {name: asdict(spec.resolved(scenario.vehicles)) for name, spec in scenario.vehicle_types}
    return {"DEFAULT_VEHTYPE": asdict(scenario.vehicles)} | declared


def _check_turns(trips: list[RouteTrip], connections: set[tuple[str, str]]) -> None:
    missing = sorted({pair for t in trips for pair in itertools.pairwise(t.edges) if pair not in connections})
    if missing:
        shown = ", ".join(f"{a} -> {b}" for a, b in missing[:5])
        raise InteropError(
            f"{len(missing)} turn(s) used by citysim's routes are missing from the SUMO net built by "
            f"netconvert: {shown}"
        )


def _citysim_summary(results: RunResults) -> SimulatorSummary:
    metrics = summarize(results)
    return SimulatorSummary(
        name="citysim",
        wall_s=float(results.info["sim_wall_s"]),
        **{field_name: metrics[key] for field_name, key in _SUMMARY_KEYS.items()},
    )


def _sumo_summary(run: SumoRun, results: RunResults) -> SimulatorSummary:
    ours = results.trips.set_index("id")
    theirs = run.trips.set_index("id").reindex(ours.index)
    done = theirs["arrive_s"].notna()
    travel_s = (theirs["arrive_s"] - ours["depart_s"])[done]
    delay_s = travel_s - ours["free_flow_s"][done]
    distance_m = theirs["route_length_m"][done].sum()
    return SimulatorSummary(
        name=f"SUMO {importlib.metadata.version('eclipse-sumo')}",
        trips=len(ours),
        completed=int(done.sum()),
        mean_travel_time_s=float(travel_s.mean()) if done.any() else math.nan,
        mean_delay_s=float(delay_s.mean()) if done.any() else math.nan,
        mean_speed_mps=float(distance_m / travel_s.sum()) if done.any() else math.nan,
        wall_s=run.loop_wall_s,
    )


def _links(results: RunResults, run: SumoRun, pieces: Mapping[str, tuple[EdgeKey, ...]]) -> pd.DataFrame:
    """Per SUMO edge: vehicles that left it and mean speed in each simulator.

    citysim's flow is the exits of the edge's last piece, its speed distance over time on
    all its pieces.
    """
    links = results.links
    times = np.sort(links["time_s"].unique())
    span_s = dict(zip(times, np.diff(times, prepend=0.0), strict=True))
    lane_km = {(u, v): d["length_m"] * d["lanes"] / 1000.0 for u, v, d in results.graph.edges(data=True)}
    frame = links.assign(
        span_s=links["time_s"].map(span_s),
        lane_km=[lane_km[(u, v)] for u, v in zip(links["u"], links["v"], strict=True)],
    )
    frame["exits"] = frame["flow_vph"] * frame["span_s"] / 3600.0
    frame["vehicle_s"] = frame["density_vpkm"] * frame["lane_km"] * frame["span_s"]
    frame["distance_m"] = frame["mean_speed_mps"].fillna(0.0) * frame["vehicle_s"]
    ours = frame.groupby(["u", "v"], sort=False)[["exits", "vehicle_s", "distance_m"]].sum()
    sumo = run.edges.set_index("edge")
    rows = []
    for edge_id, keys in pieces.items():
        used = [tuple(ours.loc[key]) if key in ours.index else (0.0, 0.0, 0.0) for key in keys]
        exits = used[-1][0]
        vehicle_s, distance_m = sum(u[1] for u in used), sum(u[2] for u in used)
        in_sumo = edge_id in sumo.index
        rows.append(
            {
                "u": keys[0][0],
                "v": keys[-1][1],
                "edge": edge_id,
                "flow_citysim": round(float(exits)),
                "flow_sumo": int(sumo.at[edge_id, "exits"]) if in_sumo else 0,
                "speed_citysim_mps": distance_m / vehicle_s if vehicle_s > 0 else math.nan,
                "speed_sumo_mps": float(sumo.at[edge_id, "speed_mps"]) if in_sumo else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _pearson(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a.to_numpy(dtype=float), b.to_numpy(dtype=float))[0, 1])


def _fmt(spec: str, value: float) -> str:
    return "n/a" if isinstance(value, float) and math.isnan(value) else spec.format(value)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
