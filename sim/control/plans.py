"""Signal plan files: per signalized node its cycle, greens and offset, replacing the scenario's timing there.

A scenario names one with ``[signals] plan_file = "plans.toml"``; ``citysim tune`` writes them.
The file is TOML::

    # comments are free
    [tuning]                # optional, not read: what wrote the file (citysim tune's record)
    scenario = "grid5"

    [plans."n1_1"]          # one table per signalized node id (quoted: ids may hold dots)
    cycle_s = 80.0          # the cycle: greens_s plus the node's intergreens (checked)
    greens_s = [36.0, 36.0] # green of each phase, in the node's phase order (s, > 0)
    offset_s = 12.0         # start of the first phase's green in the common cycle (s)
    min_greens_s = [5.0, 5.0]   # optional, each <= its green: the kernel's minimum greens
    max_greens_s = [54.0, 54.0] # optional, each >= its minimum: actuated's maximum greens

A node in the file runs its plan with the phases, yellows and all-reds it has anyway (the
scenario's, or its own ``signal_plan``'s); ``cycle_s`` must equal its greens plus those
intergreens (within :data:`CYCLE_TOLERANCE_S`), so a file made for other yellows is refused
rather than silently run on another cycle. Without ``min_greens_s`` each minimum green is the
one the node has anyway, capped at the file's green; without ``max_greens_s`` the maximum
greens stay the node's (or the controller's setting). Nodes absent from the file keep the
scenario's timing. The file is checked when the scenario loads (its shape: errors name the
file and the dotted key, e.g. ``plans."n1_1".greens_s[1]``) and when the model builds (against
the network: signalized node, one green per phase, the cycle).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.control.base import SignalPlan
from sim.schema import MAX_GREEN_S, MAX_TIME_S, Context, ScenarioError, number, read_toml, suggestion

if TYPE_CHECKING:
    from sim.network.compile import CompiledNetwork

__all__ = [
    "CYCLE_TOLERANCE_S",
    "PLAN_DECIMALS",
    "NodePlan",
    "PlanFile",
    "apply_plan_file",
    "check_plan_file",
    "load_plan_file",
    "node_key",
    "write_plan_file",
]

CYCLE_TOLERANCE_S = 0.01
"""Largest difference between a node's ``cycle_s`` and its greens plus intergreens (s)."""
PLAN_DECIMALS = 2
"""Decimals of the times :meth:`NodePlan.of` keeps (0.01 s)."""
_KEYS = ("cycle_s", "greens_s", "offset_s", "min_greens_s", "max_greens_s")
_TABLES = ("plans", "tuning")


@dataclass(frozen=True)
class NodePlan:
    """The plan of one signalized node in a plan file (times in s).

    Attributes:
        cycle_s: Its cycle: every green and intergreen.
        greens_s: Green of each phase, in the node's phase order.
        offset_s: Start of the first phase's green in the common cycle.
        min_greens_s: Minimum green of each phase, or None for the node's own.
        max_greens_s: Maximum green of each phase (actuated control), or None for the node's own.
    """

    cycle_s: float
    greens_s: tuple[float, ...]
    offset_s: float
    min_greens_s: tuple[float, ...] | None = None
    max_greens_s: tuple[float, ...] | None = None

    @classmethod
    def of(
        cls,
        greens_s: Sequence[float],
        intergreens_s: Sequence[float],
        offset_s: float,
        min_greens_s: Sequence[float] | None = None,
        max_greens_s: Sequence[float] | None = None,
    ) -> NodePlan:
        """The plan of a node with these greens and intergreens, times rounded to :data:`PLAN_DECIMALS`.

        The cycle is the rounded greens plus the intergreens, and the offset is taken modulo it.
        """
        greens = _rounded(greens_s)
        cycle_s = round(float(sum(greens) + sum(intergreens_s)), 6)
        offset = round(float(offset_s) % cycle_s, PLAN_DECIMALS)
        return cls(cycle_s, greens, offset, _rounded(min_greens_s), _rounded(max_greens_s))

    def tables(self) -> dict[str, Any]:
        """The node's table as the file holds it (keys left out where None)."""
        return {key: getattr(self, key) for key in _KEYS if getattr(self, key) is not None}


def _rounded(values: Sequence[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(round(float(v), PLAN_DECIMALS) for v in values)


@dataclass(frozen=True)
class PlanFile:
    """A plan file read and checked by :func:`load_plan_file`.

    Attributes:
        path: The file (absolute).
        plans: ``(node id, plan)`` of every node in the file, in file order.
    """

    path: Path
    plans: tuple[tuple[str, NodePlan], ...]


def node_key(node: str) -> str:
    """The dotted key of a node's table in a plan file, as errors name it: ``plans."n1_1"``."""
    return f"plans.{json.dumps(node)}"


def load_plan_file(file: str | Path) -> PlanFile:
    """Read a plan file and check its shape (not yet against a network: see :func:`apply_plan_file`).

    Raises:
        ScenarioError: Naming the file and the dotted key of the first problem.
    """
    file = Path(file).resolve()
    source = str(file)
    data = read_toml(file, "plan", ScenarioError)
    ctx = Context(source, file.parent, frozenset())
    for key in data:
        if key not in _TABLES:
            raise ctx.unknown(key, f"allowed at top level: {', '.join(_TABLES)}", _TABLES)
    if "plans" not in data:
        raise ctx.missing("plans", " at top level: a table [plans.<node id>] per signalized node")
    plans = data["plans"]
    if not isinstance(plans, Mapping):
        raise ctx.fail("plans", "a table of node tables [plans.<node id>]", plans)
    return PlanFile(
        file, tuple((node, _node_plan(ctx, node_key(node), table)) for node, table in plans.items())
    )


def _node_plan(ctx: Context, key: str, table: Any) -> NodePlan:
    """Check one node's table of a plan file."""
    if not isinstance(table, Mapping):
        raise ctx.fail(key, "a table with cycle_s, greens_s, offset_s", table)
    for name in table:
        if name not in _KEYS:
            raise ctx.unknown(f"{key}.{name}", f"allowed keys: {', '.join(_KEYS)}", _KEYS)
    for name in _KEYS[:3]:
        if name not in table:
            raise ctx.missing(f"{key}.{name}", f" in [{key}]")
    raw = table["greens_s"]
    count = len(raw) if isinstance(raw, list) else 0
    greens = _times(ctx, f"{key}.greens_s", raw, [(0.0, MAX_GREEN_S)] * count, gt=True)
    cycle_s = number(ctx, f"{key}.cycle_s", table["cycle_s"], gt=0.0, le=MAX_TIME_S)
    if cycle_s < sum(greens) - CYCLE_TOLERANCE_S:
        raise ctx.fail(f"{key}.cycle_s", f"at least the sum of greens_s ({sum(greens):g})", cycle_s)
    offset_s = number(ctx, f"{key}.offset_s", table["offset_s"], ge=-MAX_TIME_S, le=MAX_TIME_S)
    min_greens = max_greens = None
    if "min_greens_s" in table:
        min_greens = _times(ctx, f"{key}.min_greens_s", table["min_greens_s"], [(0.0, g) for g in greens])
    if "max_greens_s" in table:
        floors = min_greens or (0.0,) * len(greens)
        max_greens = _times(
            ctx, f"{key}.max_greens_s", table["max_greens_s"], [(f, MAX_GREEN_S) for f in floors], gt=True
        )
    return NodePlan(cycle_s, greens, offset_s, min_greens, max_greens)


def _times(
    ctx: Context, key: str, value: Any, bounds: Sequence[tuple[float, float]], gt: bool = False
) -> tuple[float, ...]:
    """A list of times, one per bound ``(low, high)``: each > low (``gt``) or >= low, and <= high."""
    if not isinstance(value, list) or not value or len(value) != len(bounds):
        what = f"a list of {len(bounds)} times, one per phase" if bounds else "a non-empty list of times (s)"
        raise ctx.fail(key, what, value)
    return tuple(
        number(ctx, f"{key}[{i}]", item, **({"gt": low} if gt else {"ge": low}), le=high)
        for i, (item, (low, high)) in enumerate(zip(value, bounds, strict=True))
    )


def check_plan_file(source: str, key: str, file: Path) -> None:
    """Read and check the plan file a scenario names, when the scenario loads.

    Args:
        source: The scenario file, named in the error.
        key: The scenario key that names the plan file (``signals.plan_file``).
        file: The plan file.

    Raises:
        ScenarioError: Naming the scenario file and key, then the plan file and its key.
    """
    try:
        load_plan_file(file)
    except ScenarioError as error:
        raise ScenarioError(source, key, str(error)) from None


def apply_plan_file(
    plans_file: PlanFile, net: CompiledNetwork, plans: Sequence[SignalPlan]
) -> list[SignalPlan]:
    """The signals' plans with those of the file's nodes replaced by the file's.

    Each node keeps its phases, yellows and all-reds; see the module docstring for the minimum
    and maximum greens.

    Args:
        plans_file: The plan file.
        net: The compiled network.
        plans: Every signal's plan without the file, in signal order.

    Raises:
        ScenarioError: Naming the plan file and the node's key, if a node is not a signalized node
            of the network, its greens are not one per phase, or its cycle is not its greens plus
            its intergreens.
    """
    signal_of = {net.node_ids[node]: s for s, node in enumerate(net.signal_nodes.tolist())}
    source = str(plans_file.path)
    out = list(plans)
    for node, planned in plans_file.plans:
        key = node_key(node)
        if node not in signal_of:
            hint = suggestion(node, signal_of)
            raise ScenarioError(
                source,
                key,
                f"not a signalized node of the network ({len(signal_of)} signalized nodes);{hint}",
            )
        s = signal_of[node]
        base = plans[s]
        phases = net.phase_axis[net.signal_phase_ptr[s] : net.signal_phase_ptr[s + 1]]
        if len(planned.greens_s) != len(phases):
            raise ScenarioError(
                source,
                f"{key}.greens_s",
                f"expected {len(phases)} greens, one per phase of the node ({', '.join(phases)}), "
                f"got {list(planned.greens_s)}",
            )
        cycle_s = sum(planned.greens_s) + sum(base.intergreens_s)
        if not math.isclose(cycle_s, planned.cycle_s, abs_tol=CYCLE_TOLERANCE_S):
            intergreens = ", ".join(f"{i:g}" for i in base.intergreens_s)
            raise ScenarioError(
                source,
                f"{key}.cycle_s",
                f"expected greens_s plus the node's intergreens ({intergreens} s) = {cycle_s:g} s, "
                f"got {planned.cycle_s:g}",
            )
        min_greens = planned.min_greens_s or tuple(
            min(g_min, g) for g_min, g in zip(base.min_green_s, planned.greens_s, strict=True)
        )
        max_greens = planned.max_greens_s or base.max_green_s
        out[s] = SignalPlan(
            planned.greens_s, base.yellow_s, base.all_red_s, planned.offset_s, min_greens, max_greens
        )
    return out


def write_plan_file(
    file: str | Path,
    plans: Sequence[tuple[str, NodePlan]],
    tuning: Mapping[str, Any] | None = None,
    header: str = "",
) -> Path:
    """Write a plan file (see the module docstring) and return its path.

    Args:
        file: The ``.toml`` file to write.
        plans: ``(node id, plan)`` per node, in the order to write.
        tuning: The optional ``[tuning]`` record: strings, numbers, booleans and lists of them.
        header: Comment lines at the top (without ``#``).
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    if tuning:
        lines += ["", "[tuning]", *(f"{key} = {_toml(value)}" for key, value in tuning.items())]
    for node, planned in plans:
        lines += [
            "",
            f"[{node_key(node)}]",
            *(f"{key} = {_toml(value)}" for key, value in planned.tables().items()),
        ]
    file = Path(file)
    file.write_text("\n".join(lines).lstrip("\n") + "\n", encoding="utf-8")
    return file


def _toml(value: Any) -> str:
    """A value as TOML writes it (a JSON string is a TOML basic string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return f"[{', '.join(_toml(item) for item in value)}]"
    if isinstance(value, float):
        return repr(value)
    return str(value) if isinstance(value, int) else json.dumps(str(value))
