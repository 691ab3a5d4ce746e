"""The ``[[incidents]]`` scenario entries: lane and road closures, and speed limits, for a time.

Traffic incidents (a crash, a work zone) on links; not the emergency calls of ``[emergency]``
(:mod:`sim.emergency`), which may name one as their location (``incident:<id>``). Example::

    [[incidents]]
    id = "crash"
    link = "n2_2->n3_2"       # the link, u->v
    lanes = 2                 # lanes closed, from the right (side = "left": from the left)
    start_s = 900.0
    end_s = 2700.0

    [[incidents]]
    link = "n1_1->n1_2"
    lanes = "all"             # the road is closed
    start_s = 600.0
    end_s = 1200.0

    [[incidents]]
    link = "n3_1->n3_2"
    lanes = 0                 # no lane closed: only a speed limit (rubbernecking, a work zone)
    speed_mps = 5.0
    start_s = 0.0
    end_s = 3600.0

The array of tables is read as ``[incidents] entries = [...]`` (overrides use that key).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from sim.schema import (
    MAX_TIME_S,
    SPEED,
    TIME,
    Context,
    choice,
    flag,
    integer,
    number,
    spec_field,
    tables,
    text,
)

__all__ = ["ALL_LANES", "ARRAY_KEY", "LINK_SEPARATOR", "Closure", "Spec"]

ALL_LANES = "all"
"""``lanes = "all"``: the road is closed."""
ARRAY_KEY = "entries"
"""The key that holds the ``[[incidents]]`` array of tables (see :mod:`sim.scenario`)."""
LINK_SEPARATOR = "->"
"""Between the two nodes of a link: ``"u->v"``."""
_MAX_LANES = 16


@dataclass(frozen=True)
class Closure:
    """One traffic incident on one link.

    Attributes:
        link: The link, ``"u->v"``.
        start_s: When it starts (s).
        end_s: When it ends (s), after ``start_s``.
        id: Its name (default ``incident<i>``, ``i`` its place in the list), for records and for
            emergency calls (``traffic:<id>``).
        lanes: Lanes closed (0: none, a speed limit only), or ``"all"``: the road is closed.
        side: ``"right"``: lanes close from lane 0 (the rightmost) on; ``"left"``: from the left.
        speed_mps: A speed limit on the link meanwhile (m/s), or none.
    """

    link: str
    start_s: float
    end_s: float
    id: str = ""
    lanes: int | str = ALL_LANES
    side: str = "right"
    speed_mps: float | None = None

    @property
    def nodes(self) -> tuple[str, str]:
        """``(u, v)`` of the link."""
        u, _, v = self.link.partition(LINK_SEPARATOR)
        return u, v

    @property
    def full(self) -> bool:
        """Whether the road is closed."""
        return self.lanes == ALL_LANES


def _lanes(ctx: Context, key: str, value: Any) -> int | str:
    if value == ALL_LANES:
        return ALL_LANES
    if isinstance(value, str):
        raise ctx.fail(key, f'a number of lanes (0-{_MAX_LANES}) or "{ALL_LANES}"', value)
    return integer(ctx, key, value, ge=0, le=_MAX_LANES)


def _link(ctx: Context, key: str, value: Any) -> str:
    """A link written ``"u->v"``."""
    written = text(ctx, key, value, nonempty=True)
    u, sep, v = written.partition(LINK_SEPARATOR)
    if not sep or not u.strip() or not v.strip():
        raise ctx.fail(key, f"a link written 'u{LINK_SEPARATOR}v'", value)
    return f"{u.strip()}{LINK_SEPARATOR}{v.strip()}"


def _entries(ctx: Context, key: str, value: Any) -> tuple[Closure, ...]:
    fields = {
        "id": (False, partial(text, nonempty=True)),
        "link": (True, _link),
        "lanes": (False, _lanes),
        "side": (False, partial(choice, choices=("right", "left"))),
        "speed_mps": (False, SPEED),
        "start_s": (True, TIME),
        "end_s": (True, partial(number, gt=0.0, le=MAX_TIME_S)),
    }
    items = tables(ctx, key, value, fields, what="incident tables ([[incidents]])")
    closures = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if item["end_s"] <= item["start_s"]:
            raise ctx.fail(f"{where}.end_s", f"a time after start_s ({item['start_s']:g})", item["end_s"])
        lanes = item["lanes"] if item["lanes"] is not None else ALL_LANES
        if lanes == 0 and item["speed_mps"] is None:
            raise ctx.fail(f"{where}.lanes", "lanes > 0 or a speed_mps (otherwise nothing changes)", 0)
        closures.append(
            Closure(
                link=item["link"],
                start_s=item["start_s"],
                end_s=item["end_s"],
                id=item["id"] or f"incident{i}",
                lanes=lanes,
                side=item["side"] or "right",
                speed_mps=item["speed_mps"],
            )
        )
    ids = [c.id for c in closures]
    for i, name in enumerate(ids):
        if name in ids[:i]:
            raise ctx.fail(f"{key}[{i}].id", "an id no other incident has", name)
    return tuple(closures)


@dataclass(frozen=True)
class Spec:
    """The validated ``[[incidents]]`` entries and how drivers learn of them.

    Attributes:
        entries: The incidents, in file order.
        inform: Equipped drivers (``[route_choice] equipped_share``) learn of an incident when it
            starts and ends, and re-plan then; the others find a closed road when they reach it.
        poll_s: While a road is closed, how often drivers about to enter it are re-routed (s).
    """

    entries: tuple[Closure, ...] = spec_field((), _entries)
    inform: bool = spec_field(True, flag)
    poll_s: float = spec_field(2.0, partial(number, ge=1.0, le=60.0))
