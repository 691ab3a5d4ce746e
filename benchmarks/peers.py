"""Runners for the peer simulators (SUMO 1.28, UXsim 1.15) on the gridN benchmark scenarios.

Each runner reads one gridN scenario directory (``network.json`` + ``trips.csv``, as in
``sim/data/bench/<name>/``), builds the same
network, signal plan and explicit per-vehicle routes in the peer simulator, runs it,
and returns one flat dict with the same metric definitions for every simulator:

- travel time = arrival - scheduled departure (``trips.csv`` ``depart_s``), so it
  includes any wait to enter the network;
- delay = travel time - the route's free-flow time (sum of length / speed);
- loop wall = wall seconds of the simulation loop alone (no imports, no network loading).

Use from ``benchmarks/bench_engine.py`` (``from peers import run_sumo, run_uxsim``) or
from the command line::

    python benchmarks/peers.py --scen sim/data/bench/grid5 --sim sumo
    python benchmarks/peers.py --scen sim/data/bench/grid10 --sim uxsim

SUMO runs through citysim's own SUMO interop (:mod:`sim.interop.sumo`: export, netconvert,
the ``sumo`` binary and its outputs), the code ``citysim validate --against sumo`` uses; here
with netconvert's junction geometry and internal lanes, as the benchmark has always run.
Both peers come from the optional extra ``bench`` (``pip install eclipse-sumo==1.28.0
sumolib==1.28.0 uxsim==1.15.1``); they are imported only when a runner is called.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sim.interop.errors import InteropError
from sim.interop.sumo.export import ExportOptions, RouteTrip, SignalTiming, build_net, write_routes
from sim.interop.sumo.run import run_sumo as sumo_run
from sim.network import NetworkError, compile_network, load_network_json

__all__ = [
    "Edge",
    "Node",
    "PeerRunError",
    "Phase",
    "Scenario",
    "ScenarioError",
    "Trip",
    "load_scenario",
    "main",
    "run_sumo",
    "run_uxsim",
]

HORIZON_S = 7200
"""Hard cap (s) on simulated time for every simulator; all stop earlier once empty."""

T = TypeVar("T")

AXES = ("NS", "EW")
UXSIM_SEED = 42
UXSIM_CHUNK_S = 300
NET_FORMAT = "interop1"
"""Tag of the way cached SUMO nets are built; a new tag makes old caches unused."""
"""Simulated seconds per ``exec_simulation`` call; between calls the runner checks for an empty net."""


class ScenarioError(ValueError):
    """A scenario file is missing, malformed, or inconsistent."""


class PeerRunError(RuntimeError):
    """A peer simulator is not installed, failed, or produced unreadable output."""


@dataclass(frozen=True)
class Node:
    """A network node.

    Attributes:
        node_id: Node id (``n{c}_{r}`` intersection or fringe ``W0``, ``N3``, ...).
        x_m: Easting (m).
        y_m: Northing (m).
        signalized: Whether the scenario's fixed-time plan runs here.
    """

    node_id: str
    x_m: float
    y_m: float
    signalized: bool


@dataclass(frozen=True)
class Edge:
    """A directed link.

    Attributes:
        edge_id: Link id (``"{from}-{to}"`` in the gridN data).
        from_node: Upstream node id.
        to_node: Downstream node id.
        length_m: Length (m).
        lanes: Number of lanes.
        speed_mps: Speed limit (m/s).
        axis: ``"NS"`` or ``"EW"``: the phase that serves this link at ``to_node``.
    """

    edge_id: str
    from_node: str
    to_node: str
    length_m: float
    lanes: int
    speed_mps: float
    axis: str

    @property
    def free_flow_s(self) -> float:
        """Free-flow traversal time (s)."""
        return self.length_m / self.speed_mps


@dataclass(frozen=True)
class Phase:
    """One stage of the fixed-time plan: a green for one axis, then its yellow.

    Attributes:
        green_axis: ``"NS"`` or ``"EW"``.
        green_s: Green duration (s).
        yellow_s: Yellow duration (s) that follows the green.
    """

    green_axis: str
    green_s: float
    yellow_s: float


@dataclass(frozen=True)
class Trip:
    """One vehicle trip with its fixed route.

    Attributes:
        trip_id: Vehicle id.
        depart_s: Scheduled departure (s).
        origin: First node of the route.
        destination: Last node of the route.
        edge_ids: Route as link ids, origin link first.
        free_flow_s: Route free-flow time, sum of length / speed (s).
    """

    trip_id: str
    depart_s: float
    origin: str
    destination: str
    edge_ids: tuple[str, ...]
    free_flow_s: float


@dataclass(frozen=True)
class Scenario:
    """A gridN benchmark scenario, validated.

    Attributes:
        name: Scenario name (from ``network.json``, else the directory name).
        directory: Directory holding ``network.json`` and ``trips.csv``.
        nodes: All nodes.
        edges: All directed links.
        phases: Fixed-time plan, in cycle order, applied at every signalized node.
        offset_s: Plan offset (s), the same at every signalized node.
        trips: Trips sorted by scheduled departure.
    """

    name: str
    directory: Path
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    phases: tuple[Phase, ...]
    offset_s: float
    trips: tuple[Trip, ...]


def _parse_items(raw: Any, key: str, where: str, build: Callable[[dict[str, Any]], T]) -> tuple[T, ...]:
    """Build one object per item of the list ``raw[key]``; errors name ``where``, the key and the index."""
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list):
        raise ScenarioError(f"{where}: '{key}' must be a list")
    items = []
    for i, item in enumerate(raw[key]):
        try:
            items.append(build(item))
        except KeyError as exc:
            raise ScenarioError(f"{where}: {key}[{i}] lacks key {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{where}: {key}[{i}] has a bad value ({exc})") from exc
    return tuple(items)


def _check_unique(ids: Iterable[str], what: str, where: Path) -> None:
    """Raise a ScenarioError naming the first id that occurs twice."""
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ScenarioError(f"{where}: duplicate {what} id '{item_id}'")
        seen.add(item_id)


def _load_network(path: Path) -> tuple[str, tuple[Node, ...], tuple[Edge, ...], tuple[Phase, ...], float]:
    """Parse ``network.json`` into nodes, edges and the signal plan."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ScenarioError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: invalid JSON ({exc})") from exc
    nodes = _parse_items(
        raw,
        "nodes",
        str(path),
        lambda n: Node(str(n["id"]), float(n["x"]), float(n["y"]), bool(n["signalized"])),
    )
    edges = _parse_items(
        raw,
        "edges",
        str(path),
        lambda e: Edge(
            str(e["id"]),
            str(e["from"]),
            str(e["to"]),
            float(e["length"]),
            int(e["lanes"]),
            float(e["speed"]),
            str(e["axis"]),
        ),
    )
    signal = raw.get("signal")
    phases = _parse_items(
        signal,
        "phases",
        f"{path} signal",
        lambda p: Phase(str(p["green_axis"]), float(p["green_s"]), float(p["yellow_s"])),
    )
    try:
        offset_s = float(signal.get("offset_s", 0.0))
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{path}: signal.offset_s must be a number") from exc
    _check_unique((n.node_id for n in nodes), "node", path)
    _check_unique((e.edge_id for e in edges), "edge", path)
    node_ids = {n.node_id for n in nodes}
    for e in edges:
        if e.axis not in AXES:
            raise ScenarioError(f"{path}: edge '{e.edge_id}' has axis '{e.axis}', expected one of {AXES}")
        if e.from_node not in node_ids or e.to_node not in node_ids:
            raise ScenarioError(f"{path}: edge '{e.edge_id}' joins an unknown node")
        if e.length_m <= 0 or e.speed_mps <= 0 or e.lanes < 1:
            raise ScenarioError(f"{path}: edge '{e.edge_id}' needs length > 0, speed > 0 and lanes >= 1")
    if sorted(p.green_axis for p in phases) != sorted(AXES):
        raise ScenarioError(
            f"{path}: signal.phases must be one NS and one EW phase, got {[p.green_axis for p in phases]}"
        )
    if any(p.green_s <= 0 or p.yellow_s < 0 for p in phases):
        raise ScenarioError(f"{path}: signal.phases need green_s > 0 and yellow_s >= 0")
    return str(raw.get("name", path.parent.name)), nodes, edges, phases, offset_s


def _load_trips(path: Path, edge_by_pair: dict[tuple[str, str], Edge]) -> tuple[Trip, ...]:
    """Parse ``trips.csv`` (id, depart_s, ..., route as space-separated node ids)."""
    trips = []
    try:
        with path.open(newline="") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                try:
                    nodes = row["route"].split()
                    depart_s = float(row["depart_s"])
                    trip_id = row["id"]
                except (KeyError, AttributeError) as exc:
                    raise ScenarioError(f"{path} line {line}: needs columns id, depart_s, route") from exc
                except ValueError as exc:
                    raise ScenarioError(f"{path} line {line}: depart_s is not a number") from exc
                try:
                    route = [edge_by_pair[pair] for pair in zip(nodes[:-1], nodes[1:], strict=True)]
                except KeyError as exc:
                    raise ScenarioError(
                        f"{path} line {line}: trip '{trip_id}' route uses a missing link {exc.args[0]}"
                    ) from exc
                if not route:
                    raise ScenarioError(f"{path} line {line}: trip '{trip_id}' route has fewer than 2 nodes")
                edge_ids = tuple(e.edge_id for e in route)
                trips.append(
                    Trip(trip_id, depart_s, nodes[0], nodes[-1], edge_ids, sum(e.free_flow_s for e in route))
                )
    except FileNotFoundError as exc:
        raise ScenarioError(f"{path}: file not found") from exc
    if not trips:
        raise ScenarioError(f"{path}: no trips")
    _check_unique((t.trip_id for t in trips), "trip", path)
    return tuple(sorted(trips, key=lambda t: t.depart_s))


def load_scenario(scen_dir: str | Path) -> Scenario:
    """Load and validate one scenario directory.

    Args:
        scen_dir: Directory holding ``network.json`` and ``trips.csv``.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: A file is missing or malformed; the message names file and item.
    """
    directory = Path(scen_dir)
    name, nodes, edges, phases, offset_s = _load_network(directory / "network.json")
    edge_by_pair = {(e.from_node, e.to_node): e for e in edges}
    trips = _load_trips(directory / "trips.csv", edge_by_pair)
    return Scenario(name, directory, nodes, edges, phases, offset_s, trips)


def _summarize(records: Iterable[tuple[float, float]]) -> dict[str, Any]:
    """Completion count and mean travel time / delay from (travel_time_s, free_flow_s) pairs."""
    records = list(records)
    if not records:
        return dict(completed=0, mean_tt_s=None, mean_delay_s=None)
    return dict(
        completed=len(records),
        mean_tt_s=round(statistics.fmean(tt for tt, _ in records), 2),
        mean_delay_s=round(statistics.fmean(tt - ff for tt, ff in records), 2),
    )


def _plan_timing(scenario: Scenario, phase_axes: tuple[str, ...]) -> SignalTiming:
    """The scenario's plan on the phases citysim compiles at a node (their axes, in order).

    The plan's offset is the start of its first stage's green; the timing's is the start of
    the node's first compiled phase, so it moves by the stages that come before that one.
    """
    yellows = {p.yellow_s for p in scenario.phases}
    if len(yellows) != 1:
        raise ScenarioError(
            f"{scenario.directory}: signal.phases must share one yellow_s, got {sorted(yellows)}"
        )
    stage = {p.green_axis: i for i, p in enumerate(scenario.phases)}
    first = stage[phase_axes[0]]
    offset_s = scenario.offset_s + sum(p.green_s + p.yellow_s for p in scenario.phases[:first])
    greens = tuple(scenario.phases[stage[axis]].green_s for axis in phase_axes)
    return SignalTiming(greens, yellows.pop(), 0.0, offset_s)


def _cached_net(scenario: Scenario, work_dir: Path) -> Path:
    """Build the SUMO net once per ``network.json`` content; reuse it on later calls.

    The net is citysim's SUMO export (:func:`sim.interop.sumo.build_net`) with netconvert's
    junction geometry and internal lanes (``point_junctions=False``), every signal running
    the scenario's plan.
    """
    digest = hashlib.sha256((scenario.directory / "network.json").read_bytes()).hexdigest()[:12]
    net_path = work_dir / f"{scenario.name}-{digest}-{NET_FORMAT}.net.xml"
    if net_path.exists():
        return net_path
    try:
        graph = load_network_json(scenario.directory / "network.json")
        net = compile_network(graph)
        timings = {}
        for s, node in enumerate(net.signal_nodes.tolist()):
            axes = net.phase_axis[net.signal_phase_ptr[s] : net.signal_phase_ptr[s + 1]]
            timings[net.node_ids[node]] = _plan_timing(scenario, tuple(axes))
        build_net(graph, net_path, timings, ExportOptions(point_junctions=False))
    except (InteropError, NetworkError) as exc:
        raise PeerRunError(f"building the SUMO net for {scenario.directory}: {exc}") from exc
    return net_path


def run_sumo(scen_dir: str | Path, work_dir: str | Path | None = None, horizon_s: int = HORIZON_S) -> dict:
    """Run one scenario with the ``sumo`` 1.28 binary (default Krauss driver).

    Builds the net with :func:`sim.interop.sumo.build_net` (cached in ``work_dir``), every
    signal running the scenario's fixed-time plan, writes explicit routes
    (``departLane=best departSpeed=max``), then runs ``sumo`` with step 1 s and
    ``--time-to-teleport 300`` until the network is empty or ``horizon_s``
    (:func:`sim.interop.sumo.run_sumo`: a first run without ``--end``, and a second one
    with it only if the first outlasts the horizon).

    Args:
        scen_dir: Scenario directory (``network.json``, ``trips.csv``).
        work_dir: Where the built net is cached; default a fixed folder under the
            system temp directory, so repeated calls skip ``netconvert``.
        horizon_s: Last simulated second (s).

    Returns:
        ``sim``, ``scenario``, ``trips``, ``loop_wall_s`` (SUMO's own reported
        simulation-loop duration, s), ``end_s`` (simulated time at the end, s),
        ``teleports``, ``vehicle_steps`` (vehicles running, summed over 1 s steps),
        ``completed``, ``mean_tt_s``, ``mean_delay_s`` and ``vehicle_steps_per_s``.

    Raises:
        ScenarioError: The scenario files are malformed.
        PeerRunError: SUMO is missing or a SUMO program failed.
    """
    scenario = load_scenario(scen_dir)
    work = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir()) / "citysim-peers-sumo"
    work.mkdir(parents=True, exist_ok=True)
    net_path = _cached_net(scenario, work)
    with tempfile.TemporaryDirectory(dir=work, prefix=f"{scenario.name}-run-") as tmp:
        routes_path = Path(tmp) / "routes.rou.xml"
        write_routes(routes_path, [RouteTrip(t.trip_id, t.depart_s, t.edge_ids) for t in scenario.trips])
        try:
            run = sumo_run(net_path, routes_path, Path(tmp), horizon_s)
        except InteropError as exc:
            raise PeerRunError(f"SUMO on {scenario.directory}: {exc}") from exc
    arrive_s = dict(zip(run.trips["id"], run.trips["arrive_s"], strict=True))
    records = [
        (arrive_s[t.trip_id] - t.depart_s, t.free_flow_s)
        for t in scenario.trips
        if not math.isnan(arrive_s.get(t.trip_id, math.nan))
    ]
    steps_per_s = round(run.vehicle_steps / run.loop_wall_s) if run.loop_wall_s else None
    return dict(
        sim="SUMO 1.28",
        scenario=scenario.name,
        trips=len(scenario.trips),
        loop_wall_s=run.loop_wall_s,
        end_s=run.end_s,
        teleports=run.teleports,
        vehicle_steps=run.vehicle_steps,
        **_summarize(records),
        vehicle_steps_per_s=steps_per_s,
    )


def _build_uxsim_world(scenario: Scenario, cpp: bool, deltan: int, horizon_s: int) -> tuple[Any, list[Trip]]:
    """Build the UXsim world; return it with the trip that leads each platoon.

    UXsim has no yellow: each plan stage becomes two UXsim phases, green (the
    stage's axis has right of way) then yellow, during which every approach is
    red, i.e. yellow is treated as clearance time.
    """
    try:
        import uxsim
    except ImportError as exc:
        raise PeerRunError("UXsim not installed: pip install uxsim==1.15.1") from exc
    world = uxsim.World(
        name=scenario.name,
        deltan=deltan,
        reaction_time=1,
        tmax=horizon_s,
        random_seed=UXSIM_SEED,
        print_mode=0,
        save_mode=0,
        show_mode=0,
        show_progress=0,
        vehicle_logging_timestep_interval=-1,
        cpp=cpp,
    )
    signal = [d for p in scenario.phases for d in (p.green_s, p.yellow_s)]
    green_group = {p.green_axis: [2 * i] for i, p in enumerate(scenario.phases)}
    signalized = set()
    for n in scenario.nodes:
        if n.signalized:
            world.addNode(n.node_id, n.x_m, n.y_m, signal=signal, signal_offset=scenario.offset_s)
            signalized.add(n.node_id)
        else:
            world.addNode(n.node_id, n.x_m, n.y_m)
    for e in scenario.edges:
        world.addLink(
            e.edge_id,
            e.from_node,
            e.to_node,
            length=e.length_m,
            free_flow_speed=e.speed_mps,
            number_of_lanes=e.lanes,
            signal_group=green_group[e.axis] if e.to_node in signalized else [0],
        )
    leaders = list(scenario.trips[::deltan])
    for trip in leaders:
        vehicle = world.addVehicle(trip.origin, trip.destination, trip.depart_s, name=trip.trip_id)
        vehicle.enforce_route(list(trip.edge_ids))
    return world, leaders


def _run_uxsim_loop(world: Any) -> float:
    """Advance ``world`` until no vehicle is left or its ``tmax``; return the loop wall time (s).

    ``exec_simulation()`` alone always runs to ``tmax``; running in chunks of
    ``UXSIM_CHUNK_S`` and stopping once every vehicle has ended (UXsim keeps
    not-yet-departed vehicles in ``VEHICLES_LIVING`` too) mirrors SUMO's end rule.
    """
    world.finalize_scenario()
    start = time.perf_counter()
    while world.VEHICLES_LIVING:
        reached_tmax = world.exec_simulation(duration_t2=UXSIM_CHUNK_S)
        if reached_tmax:
            break
    return time.perf_counter() - start


def run_uxsim(scen_dir: str | Path, cpp: bool = True, deltan: int = 1, horizon_s: int = HORIZON_S) -> dict:
    """Run one scenario in UXsim 1.15 (mesoscopic kinematic-wave model, default parameters).

    Every trip becomes one UXsim vehicle with its scheduled departure and its route
    enforced link by link (``Vehicle.enforce_route``), so no route choice happens.
    Signalized nodes run the scenario's plan as ``signal=[green, yellow, green, yellow]``;
    links entering them carry ``signal_group`` of their axis' green phase, so yellow
    acts as clearance (all red). Merges and turns are UXsim's (no conflict between
    turning and opposing flows). Vehicle trajectory logging is off
    (``vehicle_logging_timestep_interval=-1``), UXsim's fastest setting; it does not
    change the results (with logging on, grid10 ran ~2x slower here).

    With ``deltan > 1`` UXsim moves platoons of ``deltan`` vehicles: each platoon
    takes the departure and route of the first of ``deltan`` consecutive trips and
    stands for all of them in the metrics; UXsim also rounds the signal durations to
    multiples of ``deltan`` seconds. ``deltan=1`` reproduces the trips exactly.

    Args:
        scen_dir: Scenario directory (``network.json``, ``trips.csv``).
        cpp: Use UXsim's C++ engine (``World(cpp=True)``); else its Python engine.
        deltan: Platoon size (vehicles); the time step is ``deltan`` seconds.
        horizon_s: Last simulated second (s).

    Returns:
        ``sim``, ``scenario``, ``loop_wall_s`` (``exec_simulation`` wall time, s),
        ``completed``, ``trips``, ``mean_tt_s``, ``mean_delay_s``.

    Raises:
        ScenarioError: The scenario files are malformed.
        PeerRunError: UXsim is missing.
        ValueError: ``deltan`` is not a positive integer.
    """
    if isinstance(deltan, bool) or not isinstance(deltan, int) or deltan < 1:
        raise ValueError(f"deltan must be a positive integer, got {deltan!r}")
    scenario = load_scenario(scen_dir)
    world, leaders = _build_uxsim_world(scenario, cpp, deltan, horizon_s)
    loop_wall_s = _run_uxsim_loop(world)
    records = []
    for k, trip in enumerate(leaders):
        vehicle = world.VEHICLES[trip.trip_id]
        if vehicle.state == "end":
            members = len(scenario.trips[k * deltan : (k + 1) * deltan])
            arrival_s = vehicle.arrival_time * world.DELTAT
            records.extend([(arrival_s - trip.depart_s, trip.free_flow_s)] * members)
    engine = "C++" if cpp else "Python"
    return dict(
        sim=f"UXsim 1.15 {engine} deltan={deltan}",
        scenario=scenario.name,
        trips=len(scenario.trips),
        loop_wall_s=round(loop_wall_s, 3),
        **_summarize(records),
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: run one peer on one scenario and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scen", required=True, help="scenario directory (network.json, trips.csv)")
    parser.add_argument("--sim", required=True, choices=("sumo", "uxsim"))
    parser.add_argument("--horizon-s", type=int, default=HORIZON_S, help="last simulated second")
    parser.add_argument("--work-dir", default=None, help="SUMO: where the built net is cached")
    parser.add_argument("--python", action="store_true", help="UXsim: use the Python engine, not C++")
    parser.add_argument("--deltan", type=int, default=1, help="UXsim: platoon size (vehicles)")
    args = parser.parse_args(argv)
    try:
        if args.sim == "sumo":
            result = run_sumo(args.scen, args.work_dir, args.horizon_s)
        else:
            result = run_uxsim(args.scen, cpp=not args.python, deltan=args.deltan, horizon_s=args.horizon_s)
    except (PeerRunError, ValueError) as exc:
        parser.exit(2, f"peers.py: error: {exc}\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
