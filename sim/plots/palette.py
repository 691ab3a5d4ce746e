"""The colours of every citysim figure: colour-blind-safe, one colour per controller everywhere.

Categories use the Okabe-Ito palette (Okabe and Ito 2008), distinguishable under the common
colour-vision deficiencies; continuous scales use a perceptually uniform map (viridis) cut
short of its palest yellow, so that every link stays visible on white. A controller keeps its
colour in compare, sweep and live figures alike: :func:`controller_colour` is the only mapping.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import matplotlib as mpl
from matplotlib.colors import Colormap, ListedColormap

__all__ = [
    "CATEGORY_COLOURS",
    "CONGESTION_CMAP",
    "FLAG_COLOUR",
    "NO_DATA_COLOUR",
    "category_colours",
    "controller_colour",
]

CATEGORY_COLOURS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#D55E00",  # vermillion
    "#F0E442",  # yellow (last: faint on white)
)
"""Okabe-Ito colours in the order categories take them."""

_CONTROLLERS = ("fixed_time", "actuated", "max_pressure", "sotl", "learned")
"""The registered controllers, each with its fixed colour (the palette's first five)."""

FLAG_COLOUR = "#C00000"
"""Marks of a flagged run (more trips unfinished than the baseline); always drawn with a hatch or ring."""

NO_DATA_COLOUR = "0.8"
"""Links without a value."""

# viridis up to 0.9: dark purple (congested) to green-yellow (free), no pale end
CONGESTION_CMAP: Colormap = ListedColormap(mpl.colormaps["viridis"](range(0, 231)), name="citysim_viridis")
"""Dark is congested (slow, delayed, near capacity), light is free-flowing; reverse it for "more is worse"."""


def controller_colour(name: str) -> str:
    """The colour of a signal controller in every figure.

    The registered controllers have the first five palette colours; any other name (a
    ``module:Class`` controller) gets one of the rest, fixed by the name itself.
    """
    if name in _CONTROLLERS:
        return CATEGORY_COLOURS[_CONTROLLERS.index(name)]
    others = CATEGORY_COLOURS[len(_CONTROLLERS) :]
    return others[zlib.crc32(name.encode()) % len(others)]


def category_colours(levels: Iterable[object], controllers: bool = False) -> dict[object, str]:
    """A colour per level, in order; with ``controllers``, each level is a controller name.

    Args:
        levels: The category values (e.g. legend labels), in drawing order.
        controllers: Whether the levels are controller names (:func:`controller_colour`).

    Returns:
        Level -> colour; past eight levels the palette repeats.
    """
    levels = list(dict.fromkeys(levels))
    if controllers:
        return {level: controller_colour(str(level)) for level in levels}
    return {level: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, level in enumerate(levels)}
