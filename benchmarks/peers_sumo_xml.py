"""SUMO input files for a gridN scenario: plain XML, the netconvert-built net, explicit routes.

``build_net`` writes plain node/edge XML, lets ``netconvert`` guess the connections
and a static two-phase program per signalized node, then rewrites each program to
exactly the scenario's plan (same phase order, durations and offset everywhere).
``write_routes`` writes one vehicle per trip with its explicit route.
"""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

if TYPE_CHECKING:
    from peers import Scenario

__all__ = ["SumoInputError", "build_net", "fix_signal_programs", "write_routes"]


class SumoInputError(RuntimeError):
    """netconvert failed or built a signal program that cannot be mapped to the plan."""


def _write_plain_xml(scenario: Scenario, nodes_path: Path, edges_path: Path) -> None:
    """Write SUMO plain node and edge files (signalized nodes as ``traffic_light``)."""
    with nodes_path.open("w") as f:
        f.write("<nodes>\n")
        for n in scenario.nodes:
            kind = "traffic_light" if n.signalized else "dead_end"
            f.write(f'  <node id={quoteattr(n.node_id)} x="{n.x_m:.2f}" y="{n.y_m:.2f}" type="{kind}"/>\n')
        f.write("</nodes>\n")
    with edges_path.open("w") as f:
        f.write("<edges>\n")
        for e in scenario.edges:
            f.write(
                f"  <edge id={quoteattr(e.edge_id)} from={quoteattr(e.from_node)} to={quoteattr(e.to_node)}"
                f' numLanes="{e.lanes}" speed="{e.speed_mps}" priority="1"/>\n'
            )
        f.write("</edges>\n")


def build_net(scenario: Scenario, net_path: Path, netconvert: Path) -> None:
    """Build ``net_path`` with ``netconvert`` and force the scenario's signal plan.

    The file appears atomically, so an interrupted build never leaves a cached net.

    Args:
        scenario: The validated scenario.
        net_path: Output ``.net.xml`` path.
        netconvert: The ``netconvert`` executable.

    Raises:
        SumoInputError: ``netconvert`` failed or produced an unexpected signal program.
    """
    cycle_s = sum(p.green_s + p.yellow_s for p in scenario.phases)
    with tempfile.TemporaryDirectory(dir=net_path.parent, prefix="netconvert-") as tmp:
        nodes_path, edges_path, tmp_net = (
            Path(tmp, "grid.nod.xml"),
            Path(tmp, "grid.edg.xml"),
            Path(tmp, "grid.net.xml"),
        )
        _write_plain_xml(scenario, nodes_path, edges_path)
        cmd = [
            str(netconvert),
            *(
                "--node-files",
                str(nodes_path),
                "--edge-files",
                str(edges_path),
                "--output-file",
                str(tmp_net),
            ),
            *("--no-turnarounds", "true", "--tls.default-type", "static", "--tls.layout", "opposites"),
            *("--tls.cycle.time", f"{cycle_s:g}", "--tls.yellow.time", f"{scenario.phases[0].yellow_s:g}"),
            *("--tls.left-green.time", "0", "--tls.allred.time", "0", "--no-warnings", "true"),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SumoInputError(f"netconvert exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
        fix_signal_programs(scenario, tmp_net)
        tmp_net.replace(net_path)


def _green_axes(state: str, incoming: dict[int, str], axis_of: dict[str, str]) -> frozenset[str]:
    """Axes of the incoming edges that have a green (``G`` or ``g``) link in ``state``."""
    return frozenset(axis_of[incoming[i]] for i, ch in enumerate(state) if ch in "Gg")


def fix_signal_programs(scenario: Scenario, net_path: Path) -> None:
    """Rewrite every ``tlLogic`` in ``net_path`` to the scenario's plan, in place.

    netconvert's ``opposites`` layout gives each 4-leg, 1-lane junction four phases
    (one axis green, its yellow, the other axis green, its yellow), starting with
    either axis. The phases are rotated to the scenario's order, given its
    durations, and the offset is set.

    Raises:
        SumoInputError: A program is not of that four-phase form.
    """
    tree = ET.parse(net_path)
    root = tree.getroot()
    axis_of = {e.edge_id: e.axis for e in scenario.edges}
    incoming: dict[str, dict[int, str]] = {}
    for conn in root.iter("connection"):
        if conn.get("tl") is not None:
            incoming.setdefault(conn.get("tl"), {})[int(conn.get("linkIndex"))] = conn.get("from")
    wanted = [frozenset({p.green_axis}) for p in scenario.phases]
    for logic in root.iter("tlLogic"):
        tl_id = logic.get("id")
        phases = logic.findall("phase")
        states = [p.get("state") for p in phases]
        greens = [_green_axes(s, incoming[tl_id], axis_of) for s in states]
        if len(states) != 4 or any("y" not in states[i] or greens[i] for i in (1, 3)):
            raise SumoInputError(f"{net_path}: traffic light '{tl_id}' has an unexpected program {states}")
        if [greens[0], greens[2]] == wanted:
            order = [0, 1, 2, 3]
        elif [greens[2], greens[0]] == wanted:
            order = [2, 3, 0, 1]
        else:
            raise SumoInputError(f"{net_path}: traffic light '{tl_id}' greens {greens} do not match the plan")
        durations = [d for p in scenario.phases for d in (p.green_s, p.yellow_s)]
        for phase, src, duration_s in zip(phases, order, durations, strict=True):
            phase.set("state", states[src])
            phase.set("duration", f"{duration_s:g}")
        logic.set("offset", f"{scenario.offset_s:g}")
    tree.write(net_path, encoding="UTF-8", xml_declaration=True)


def write_routes(scenario: Scenario, routes_path: Path) -> None:
    """Write one ``<vehicle>`` per trip, in departure order, with its explicit route.

    Vehicles use SUMO's default passenger type and ``departLane="best"
    departSpeed="max"``.
    """
    with routes_path.open("w") as f:
        f.write('<routes>\n  <vType id="car" vClass="passenger"/>\n')
        for t in scenario.trips:
            route = quoteattr(" ".join(t.edge_ids))
            f.write(
                f'  <vehicle id={quoteattr(t.trip_id)} type="car" depart="{t.depart_s:.2f}"'
                f' departLane="best" departSpeed="max"><route edges={route}/></vehicle>\n'
            )
        f.write("</routes>\n")
