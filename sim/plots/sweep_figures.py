"""Figures of a sweep: metrics against parameters with confidence intervals, and series over runs.

Every function takes a tidy table (the runs table of :func:`sim.sweep.store.load_runs`, or run
series stacked with their parameter columns), draws on ``matplotlib.figure.Figure`` objects (no
pyplot) and returns the figure. Means and Student-t intervals come from
:func:`sim.metrics.stats.group_summary`; only runs with ``status == "ok"`` are used when the
table has a ``status`` column.

When the runs table has an ``unfinished_share`` column, the curves and bars mark each plotted
combination whose mean unfinished share exceeds its baseline's by more than
:data:`~sim.metrics.catalog.UNFINISHED_MARGIN` (1 point): a red ring around the curve point, a
hatched bar with a red edge, and a legend entry. Such a combination left trips unfinished that the
baseline finished, so a metric over completed trips only would flatter it.

The curves count identical runs once: where a parameter other than the x axis made no
difference (a signal controller at junctions without signals gives the same run for every
controller), its runs are merged, so a curve's interval is not narrowed by copies of one run and
curves that differ only in that parameter become one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.metrics.catalog import CORE_METRICS, UNFINISHED_MARGIN, metric_for
from sim.metrics.stats import group_summary
from sim.plots.figures import PlotError
from sim.plots.palette import FLAG_COLOUR, category_colours

__all__ = ["plot_comparison_bars", "plot_metric_curves", "plot_series_over_runs"]

_BAND_ALPHA = 0.2
_SECONDS_PER_MINUTE = 60.0
_UNFINISHED = "unfinished_share"
_FLAG_HATCH = "//"
_RING = {"s": 160, "facecolors": "none", "edgecolors": FLAG_COLOUR, "linewidths": 2.0, "zorder": 3}
_CONTROLLER = "signals.controller"
_LINESTYLES = ("-", "--", ":", "-.")


def _axes(ax: Axes | None, size: tuple[float, float] = (10.5, 5)) -> tuple[Figure, Axes]:
    if ax is None:
        figure = Figure(figsize=size, layout="constrained")
        return figure, figure.add_subplot()
    return ax.get_figure(root=True), ax


def _ok_runs(table: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise PlotError(f"the {what} lacks column(s) {missing}; it has {list(table.columns)}")
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    if ok.empty:
        raise PlotError(f"the {what} has no finished (status 'ok') rows to plot")
    return ok


def _levels(summary: pd.DataFrame, hue: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """``(legend label, rows)`` per combination of the hue columns, in sorted order.

    A merged value (NaN, see :func:`_merge_identical_runs`) is left out of the label.
    """
    if not hue:
        return [("", summary)]
    levels = []
    for key, rows in summary.groupby(list(hue), sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        levels.append((", ".join(f"{value}" for value in values if not pd.isna(value)), rows))
    return levels


def _styles(levels: list[tuple[str, pd.DataFrame]], hue: Sequence[str]) -> list[dict[str, str]]:
    """Line colour (and style) per level: a controller alone keeps its colour of every figure.

    With the controller among several hue parameters, each combination gets a palette colour
    and the controller a line style.
    """
    if list(hue) == [_CONTROLLER]:
        colours = category_colours((str(rows[_CONTROLLER].iloc[0]) for _, rows in levels), controllers=True)
        return [{"color": colours[str(rows[_CONTROLLER].iloc[0])]} for _, rows in levels]
    colours = category_colours(label for label, _ in levels)
    styles = [{"color": colours[label]} for label, _ in levels]
    if _CONTROLLER in hue:
        names = sorted({str(value) for _, rows in levels for value in rows[_CONTROLLER].dropna()})
        for style, (_, rows) in zip(styles, levels, strict=True):
            value = rows[_CONTROLLER].iloc[0]
            if not pd.isna(value):
                style["linestyle"] = _LINESTYLES[names.index(str(value)) % len(_LINESTYLES)]
    return styles


def _band(ax: Axes, x: np.ndarray, rows: pd.DataFrame, metric: str, colour: str) -> None:
    """The shaded interval, cut off at the metric's physical bounds (no band below zero vehicles)."""
    bounds = metric_for(metric)
    low = bounds.clip(rows["ci_low"].to_numpy(dtype=float))
    high = bounds.clip(rows["ci_high"].to_numpy(dtype=float))
    ax.fill_between(x, low, high, color=colour, alpha=_BAND_ALPHA, linewidth=0)


def _merge_identical_runs(ok: pd.DataFrame, metric: str, x: str, hue: Sequence[str]) -> pd.DataFrame:
    """Count once the runs that a parameter other than ``x`` did not change.

    For each parameter ``P`` (``ok.attrs["parameters"]``, else ``hue``) other than ``x``, and
    within each combination of the other ``hue`` columns: when every run there has a twin for
    every value of ``P`` (same seed and values of the other parameters) with identical metrics
    (``metric`` and every :data:`~sim.metrics.catalog.CORE_METRICS` column the table has), ``P``
    made no difference there. Its value becomes NaN in those rows (left out of the legend label,
    matching any value when the baseline is looked up) and one run of each set of twins is kept.
    Without a ``seed`` column nothing is merged.
    """
    if "seed" not in ok.columns:
        return ok
    parameters = [name for name in ok.attrs.get("parameters", hue) if name != x and name in ok.columns]
    metrics = list(dict.fromkeys([metric, *(m.key for m in CORE_METRICS if m.key in ok.columns)]))
    for name in parameters:
        scope = [column for column in hue if column != name]
        twins = [x, "seed", *(other for other in parameters if other != name)]
        merged = []
        for _, rows in ok.groupby(scope, sort=False, dropna=False) if scope else [((), ok)]:
            values = rows[name].nunique(dropna=False)
            sets = rows.groupby(twins, sort=False, dropna=False)
            identical = (
                values > 1
                and bool((sets.size() == values).all())
                and len(rows.drop_duplicates([*twins, *metrics])) == sets.ngroups
            )
            merged.append(rows.assign(**{name: np.nan}).drop_duplicates(twins) if identical else rows)
        ok = pd.concat(merged).sort_index() if merged else ok
    return ok


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _baseline_share(base: pd.DataFrame, values: dict[str, object]) -> float:
    """Mean unfinished share of the ``base`` runs that match ``values`` (NaN, merged, matches any)."""
    match = np.ones(len(base), dtype=bool)
    for column, value in values.items():
        if not pd.isna(value):
            match &= ((base[column] == value) | base[column].isna()).to_numpy()
    return float(base[_UNFINISHED][match].mean()) if match.any() else np.nan


def _flag_unfinished(
    summary: pd.DataFrame, runs: pd.DataFrame, ok: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, str | None]:
    """Add a ``flagged`` column to a :func:`group_summary` frame over ``columns``.

    A combination is flagged when its mean unfinished share exceeds the baseline's by more than
    :data:`UNFINISHED_MARGIN`. The baseline is ``runs.attrs["baseline"]`` (``(column, value)``):
    each combination is compared with the baseline runs that share its values of the plotted
    columns other than the baseline's column (a merged value, NaN, matches any). Without a
    baseline (or when the table lacks its column) the margin is measured from zero: a combination
    is flagged when its mean unfinished share exceeds :data:`UNFINISHED_MARGIN` itself.

    Returns:
        ``(summary, note)``: the summary with ``flagged`` (all ``False`` when ``ok`` has no
        ``unfinished_share`` column), and the legend text for flagged marks (``None`` when
        nothing is flagged).
    """
    columns = list(columns)
    if _UNFINISHED not in ok.columns:
        return summary.assign(flagged=False), None
    shares = group_summary(ok, columns, [_UNFINISHED])[[*columns, "mean"]]
    baseline = runs.attrs.get("baseline")
    if baseline is not None and baseline[0] in ok.columns:
        column, value = baseline
        others = [name for name in columns if name != column]
        base = ok[(ok[column] == value) | ok[column].isna()]
        shares["base_mean"] = [_baseline_share(base, dict(zip(others, row, strict=True)))
                               for row in shares[others].itertuples(index=False)]  # fmt: skip
        note = f"unfinished share > {column}={value}'s + {UNFINISHED_MARGIN * 100:g} pt"
    else:
        shares = shares.assign(base_mean=0.0)
        note = f"unfinished share > {UNFINISHED_MARGIN:.0%} (no baseline)"
    # a missing baseline (NaN) compares False: nothing to measure against
    shares["flagged"] = (shares["mean"] - shares["base_mean"]) > UNFINISHED_MARGIN
    flags = shares[[*columns, "flagged"]]
    summary = (
        summary.merge(flags, on=columns, how="left")
        if columns
        else summary.assign(flagged=bool(flags["flagged"].iloc[0]))
    )
    summary["flagged"] = summary["flagged"].eq(True)  # a combination without runs is not flagged
    return summary, note if summary["flagged"].any() else None


def _legend(
    ax: Axes, title: str | None, note: str | None, mark: Artist, handles: Sequence[Artist] | None = None
) -> None:
    """The legend (when there is a ``title`` or a flag), with ``mark`` explaining the flags.

    ``handles`` replaces the axes' labelled artists (which a hatched first bar would misrepresent).
    """
    if title is None and note is None:
        return
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    else:
        handles, labels = list(handles), [str(handle.get_label()) for handle in handles]
    if note is not None:
        handles, labels = [*handles, mark], [*labels, note]
    # beside the axes, so that it never covers a curve or its band
    ax.legend(handles, labels, title=title, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")


def plot_metric_curves(
    runs: pd.DataFrame,
    metric: str,
    x: str,
    hue: str | Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    log_y: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Plot the mean of a metric against a parameter, one line per ``hue`` combination, with CI bands.

    Runs that a parameter other than ``x`` did not change are counted once (module docstring):
    with ``hue=["network.junction", "signals.controller"]`` on a sweep of both, the junction
    types without signals get one line each (``"priority"``), each from one run per seed and
    demand, and the signalized ones one line per controller (``"traffic_light, max_pressure"``).

    Args:
        runs: One row per run: the parameter columns, ``metric`` and optionally ``status`` and
            ``seed``; ``attrs["parameters"]`` (as :func:`sim.sweep.store.load_runs` sets it)
            names every parameter, so that runs identical across one not plotted are merged too.
        metric: The metric column, e.g. ``"mean_delay_all_s"``.
        x: The parameter on the x axis; numeric values are placed by value, others in order.
        hue: A parameter, or several, with one line per combination of their values (e.g.
            ``"signals.controller"``), or ``None``.
        confidence: Level of the shaded Student-t interval of the mean over seeds.
        log_y: Draw the metric on a logarithmic axis (interval bands below zero are cut off).
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure; each line is labelled with its ``hue`` values, comma-separated, a merged
        parameter left out. When ``runs`` has an ``unfinished_share`` column, each point whose
        combination's mean unfinished share exceeds its baseline's by more than 1 point gets a
        red ring and the legend says why. The baseline is ``runs.attrs["baseline"]``
        (``(column, value)``, as :func:`sim.sweep.store.load_runs` sets it), compared within the
        same values of the other plotted parameters; without one, a point is ringed when its mean
        unfinished share itself exceeds :data:`~sim.metrics.catalog.UNFINISHED_MARGIN` (1%).

    Raises:
        PlotError: If a column is missing or no run finished.
    """
    hue_columns = [hue] if isinstance(hue, str) else list(hue or [])
    ok = _ok_runs(runs, [x, *hue_columns, metric], "runs table")
    ok = _merge_identical_runs(ok, metric, x, hue_columns)
    summary = group_summary(ok, [x, *hue_columns], [metric], confidence)
    summary, note = _flag_unfinished(summary, runs, ok, [x, *hue_columns])
    figure, ax = _axes(ax)
    numeric = _is_numeric(ok[x])
    categories = sorted(ok[x].unique(), key=str) if not numeric else []
    levels = _levels(summary, hue_columns)
    for (label, rows), style in zip(levels, _styles(levels, hue_columns), strict=True):
        rows = (
            rows.sort_values(x)
            if numeric
            else rows.assign(_pos=rows[x].map(categories.index)).sort_values("_pos")
        )
        positions = rows[x].to_numpy(dtype=float) if numeric else rows["_pos"].to_numpy(dtype=float)
        (line,) = ax.plot(
            positions, rows["mean"], marker="o", label=label or metric_for(metric).label, **style
        )
        _band(ax, positions, rows, metric, line.get_color())
        flagged = rows["flagged"].to_numpy(dtype=bool)
        if flagged.any():
            ax.scatter(positions[flagged], rows["mean"].to_numpy(dtype=float)[flagged], **_RING)
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(value) for value in categories])
    label = metric_for(metric).label
    ax.set(
        xlabel=x,
        ylabel=label,
        title=f"{label[:1].upper()}{label[1:]}: mean and {confidence:.0%} CI over seeds",
    )
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both" if log_y else "major")
    ring = Line2D([], [], linestyle="none", marker="o", markersize=12, markerfacecolor="none",
                  markeredgecolor=FLAG_COLOUR, markeredgewidth=2.0)  # fmt: skip
    _legend(ax, ", ".join(hue_columns) or None, note, ring)
    return figure


def plot_comparison_bars(
    runs: pd.DataFrame,
    metric: str,
    by: Sequence[str],
    *,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot one bar per parameter combination with its confidence interval as an error bar.

    Bars are grouped by the values of ``by[:-1]`` and coloured by ``by[-1]`` (put the
    controller last to compare controllers side by side within each group). When ``runs`` has
    an ``unfinished_share`` column, a combination whose mean unfinished share exceeds its
    baseline's by more than 1 point is drawn hatched with a red edge, and the legend says why.
    The baseline is ``runs.attrs["baseline"]`` (``(column, value)``, as
    :func:`sim.sweep.store.load_runs` sets it), compared within the same values of the other
    ``by`` parameters; without one, a bar is flagged when its mean unfinished share itself
    exceeds :data:`~sim.metrics.catalog.UNFINISHED_MARGIN` (1%).

    Args:
        runs: One row per run: the ``by`` columns, ``metric`` and optionally ``status``.
        metric: The metric column, e.g. ``"mean_delay_all_s"``.
        by: The parameters that define a combination; empty draws one bar over all runs.
        confidence: Level of the Student-t interval of the mean over seeds.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure.

    Raises:
        PlotError: If a column is missing or no run finished.
    """
    by = list(by)
    ok = _ok_runs(runs, [*by, metric], "runs table")
    summary = group_summary(ok, by, [metric], confidence)
    summary, note = _flag_unfinished(summary, runs, ok, by)
    figure, ax = _axes(ax)
    groups = _levels(summary, by[:-1])
    colours = sorted(summary[by[-1]].unique(), key=str) if by else [None]
    fills = category_colours(colours, controllers=bool(by) and by[-1] == _CONTROLLER)
    bounds = metric_for(metric)
    width = 0.8 / len(colours)
    keys: list[Artist] = []
    for index, colour in enumerate(colours):
        heights, errors, flagged = [], [], []
        for _, rows in groups:
            match = rows if colour is None else rows[rows[by[-1]] == colour]
            heights.append(float(match["mean"].iloc[0]) if len(match) else np.nan)
            errors.append(float(match["half_width"].iloc[0]) if len(match) else np.nan)
            flagged.append(bool(match["flagged"].iloc[0]) if len(match) else False)
        positions = np.arange(len(groups)) + (index - (len(colours) - 1) / 2) * width
        label = None if colour is None else str(colour)
        mean, half = np.array(heights), np.nan_to_num(errors)
        # the interval's part past the metric's physical bounds is cut off
        yerr = np.nan_to_num(np.stack([mean - bounds.clip(mean - half), bounds.clip(mean + half) - mean]))
        bars = ax.bar(positions, heights, width, yerr=yerr, capsize=3, label=label, color=fills[colour])
        keys.append(Patch(facecolor=fills[colour], label=label))
        for bar, flag in zip(bars, flagged, strict=True):
            if flag:
                bar.set(hatch=_FLAG_HATCH, edgecolor=FLAG_COLOUR, linewidth=1.5)
    ax.set_xticks(range(len(groups)), [label or "all runs" for label, _ in groups])
    label = bounds.label
    ax.set(ylabel=label, title=f"{label[:1].upper()}{label[1:]}: mean and {confidence:.0%} CI over seeds")
    if by[:-1]:
        ax.set_xlabel(", ".join(by[:-1]))
    hatched = Patch(facecolor="none", edgecolor=FLAG_COLOUR, hatch=_FLAG_HATCH, linewidth=1.5)
    _legend(ax, by[-1] if by else None, note, hatched, keys if by else [])
    ax.grid(alpha=0.3, axis="y")
    return figure


def plot_series_over_runs(
    series: pd.DataFrame,
    metric: str,
    hue: Sequence[str] = (),
    *,
    confidence: float = 0.95,
    ax: Axes | None = None,
) -> Figure:
    """Plot a network series over time: the mean over runs per ``hue`` combination, with CI bands.

    Args:
        series: Reporting-interval rows of many runs stacked (as ``RunResults.series`` with the
            runs' parameter columns added): ``time_s``, ``metric`` and the ``hue`` columns.
        metric: A series column, e.g. ``"vehicles_on_network"`` or ``"mean_speed_mps"``.
        hue: Parameters with one line per combination; empty pools every run.
        confidence: Level of the shaded interval of the mean over runs at each time.
        ax: Axes to draw on; ``None`` makes a new figure.

    Returns:
        The figure, time in minutes.

    Raises:
        PlotError: If a column is missing or the table is empty.
    """
    hue = list(hue)
    rows = _ok_runs(series, ["time_s", metric, *hue], "series table")
    summary = group_summary(rows, [*hue, "time_s"], [metric], confidence)
    figure, ax = _axes(ax, (11, 5) if hue else (9, 5))
    levels = _levels(summary, hue)
    name = metric_for(metric).label
    for (label, level), style in zip(levels, _styles(levels, hue), strict=True):
        level = level.sort_values("time_s")
        minutes = level["time_s"].to_numpy(dtype=float) / _SECONDS_PER_MINUTE
        (line,) = ax.plot(minutes, level["mean"], label=label or name, **style)
        _band(ax, minutes, level, metric, line.get_color())
    title = f"{name[:1].upper()}{name[1:]}: mean and {confidence:.0%} CI over runs"
    ax.set(xlabel="time (min)", ylabel=name, title=title)
    if metric_for(metric).low is not None:
        ax.set_ylim(bottom=metric_for(metric).low)
    ax.grid(alpha=0.3)
    if hue:
        # beside the axes: the bands fill most of the plot
        ax.legend(title=", ".join(hue), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    return figure
