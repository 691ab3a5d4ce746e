"""``citysim plot RESULTS --kind KIND``: draw a figure of a sweep, a compare or one run's folder.

The figure goes to ``RESULTS/plot-KIND[-METRIC].png`` unless ``--out`` names a file: the ``plot-``
prefix keeps it apart from the figures that ``citysim run``, ``compare`` and ``sweep`` wrote into
the same folder, which are never overwritten unless ``--out`` names them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.commands.common import EXIT_OK

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.metrics.results import RunResults
    from sim.scenario import Scenario
    from sim.sweep.store import ResultStore

__all__ = ["COMPARE_KINDS", "DEFAULT_METRICS", "KINDS", "OUT_PREFIX", "register"]

KINDS = ("curves", "bars", "series", "map", "timespace", "mfd", "emissions", "flowdiff")
"""Figure kinds: curves and bars need a sweep folder; the others take a sweep or a run folder."""

COMPARE_KINDS = ("bars", "series")
"""The kinds a compare folder supports: the metrics per controller, and the delay over time."""

OUT_PREFIX = "plot-"
"""Prefix of the default figure name in RESULTS, apart from the figures the other commands write."""

DEFAULT_METRICS = {
    "curves": "mean_delay_all_s",
    "bars": "mean_delay_all_s",
    "series": "vehicles_on_network",
    "map": "delay",
    "emissions": "co2",
}
"""``--metric`` when none is given, per kind (timespace and mfd have no metric)."""

_CONTROLLER = "signals.controller"
_COMPARE_TABLE = "comparison.csv"
_COMPARE_DELAY = "delay_over_time.csv"


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``plot`` to the subcommands."""
    plot = commands.add_parser(
        "plot",
        help="draw a figure of a sweep folder, a compare folder or one run's results folder",
        description=(
            "Figures of a sweep (citysim sweep), of a controller comparison (citysim compare: bars and "
            "series only) or of one run (citysim run). curves: a metric against "
            "a parameter, one line per --hue value (or combination of values), 95% CI bands over seeds; "
            "runs that a parameter left unchanged (e.g. the signal controller at junctions without "
            "signals: identical metrics for the same seed and other parameters) are counted once, and "
            "lines that differ only in it become one, labelled without it; "
            "bars: the metric per combination with CIs (of a compare folder: every metric per "
            "controller, or --metric); "
            "series: a network series over time (mean over runs per combination; of a compare folder: "
            "the mean delay over time per controller); map: links coloured "
            "by delay, speed or vc (volume/capacity); timespace: vehicle trajectories along a corridor "
            "with signal states (re-simulates the run); mfd: network flow against density; emissions: "
            "links coloured by what they emitted per km (--metric co2, fuel, nox, pm10, co, hc or "
            "electricity; needs a run with [emissions] enabled = true); flowdiff: links coloured by "
            "the vehicles that drove them in RESULTS minus those in --against (a run of the same network), "
            "incidents marked. "
            f"The figure is written to RESULTS/{OUT_PREFIX}KIND[-METRIC].png unless --out names a file, "
            "so the figures citysim run and compare wrote stay as they are."
        ),
    )
    plot.add_argument(
        "results",
        metavar="RESULTS",
        type=Path,
        help="a sweep folder, a compare folder or a run's results folder",
    )
    plot.add_argument("--kind", required=True, choices=KINDS, help="the figure")
    plot.add_argument(
        "--metric",
        default=None,
        help="curves/bars: a runs-table metric (default mean_delay_all_s; of a compare folder: every "
        "metric); series: a series column (default vehicles_on_network); map: delay, speed or vc "
        "(default delay)",
    )
    plot.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"figure file, .png, .svg or .pdf (default: RESULTS/{OUT_PREFIX}KIND[-METRIC].png)",
    )
    plot.add_argument(
        "--x", default=None, metavar="PARAM", help="curves: the parameter across (default: a numeric one)"
    )
    plot.add_argument(
        "--hue",
        default=None,
        metavar="PARAM[,PARAM...]",
        help=f"curves: one line per combination of these parameters' values, e.g. "
        f"network.junction,{_CONTROLLER}; bars: the last one colours the bars, the others join the "
        f"groups (default {_CONTROLLER}, else another parameter than --x)",
    )
    plot.add_argument("--log-y", action="store_true", help="curves: the metric on a logarithmic axis")
    plot.add_argument(
        "--run",
        default=None,
        metavar="KEY",
        help="map/timespace of a sweep: the run (default: the first finished)",
    )
    plot.add_argument(
        "--corridor",
        default=None,
        metavar="N1,N2,...",
        help="timespace: node ids (default: the main straight)",
    )
    plot.add_argument(
        "--window-s",
        default=None,
        metavar="START,END",
        help="timespace: simulated time window (default: 0 to 900)",
    )
    plot.add_argument(
        "--against",
        default=None,
        metavar="RESULTS|KEY",
        help="flowdiff: the base run, a results folder or a run key of the sweep (the figure shows the "
        "drawn run minus it; default in a sweep: another combination's run with the same seed)",
    )
    plot.set_defaults(handler=_plot)


@dataclass(frozen=True)
class _Source:
    """The folder a figure is drawn from: a sweep (with its store) or one run."""

    folder: Path
    store: ResultStore | None

    def sweep(self) -> tuple[pd.DataFrame, ResultStore]:
        """The runs table and the store of a sweep folder."""
        from sim.plots import PlotError

        if self.store is None:
            raise PlotError(f"{self.folder}: this figure needs a sweep folder (made by citysim sweep)")
        return self.store.read_runs(), self.store


def _plot(args: argparse.Namespace) -> int:
    from sim.plots import PlotError, save_figure
    from sim.sweep.store import ResultStore

    folder: Path = args.results
    metric = args.metric if args.metric is not None else DEFAULT_METRICS.get(args.kind)
    if (folder / "sweep.json").is_file():
        figure = _FIGURES[args.kind](_Source(folder, ResultStore(folder)), args, metric)
    elif (folder / "summary.json").is_file():
        figure = _FIGURES[args.kind](_Source(folder, None), args, metric)
    elif (folder / _COMPARE_TABLE).is_file():
        figure = _compare_figure(folder, args)
    else:
        raise PlotError(
            f"{folder}: neither a sweep folder (sweep.json) nor a run's results folder (summary.json) "
            f"nor a compare folder ({_COMPARE_TABLE})"
        )
    suffix = f"-{args.metric}" if args.metric is not None else ""
    out = args.out if args.out is not None else folder / f"{OUT_PREFIX}{args.kind}{suffix}.png"
    replaced = out.exists()
    save_figure(figure, out)
    print(f"replaced {out} (a file of that name was there)" if replaced else f"wrote {out}")
    return EXIT_OK


# ----- compare figures -------------------------------------------------------------------
def _compare_figure(folder: Path, args: argparse.Namespace) -> Figure:
    """Bars of the metrics per controller, or the delay over time, from a compare folder."""
    from sim.plots import PlotError
    from sim.plots.compare_figures import plot_comparison_bars, plot_delay_over_time

    if args.kind not in COMPARE_KINDS:
        sources = "a sweep folder" if args.kind == "curves" else "a sweep folder or a run's results folder"
        raise PlotError(
            f"{folder}: --kind {args.kind} does not apply to a compare folder, which holds each "
            f"controller's means over seeds and the delay over time: draw {' or '.join(COMPARE_KINDS)} "
            f"from it, or --kind {args.kind} from {sources} (e.g. citysim sweep --grid {_CONTROLLER}=A,B)"
        )
    if args.kind == "bars":
        table = _compare_table(folder / _COMPARE_TABLE)
        metrics = list(dict.fromkeys(table["metric"]))
        if args.metric is not None and args.metric not in metrics:
            raise PlotError(
                f"--metric {args.metric!r} is not in {folder / _COMPARE_TABLE}; its metrics: "
                f"{', '.join(metrics)}"
            )
        return plot_comparison_bars(table, None if args.metric is None else [args.metric])
    if args.metric is not None:
        raise PlotError(
            f"--metric {args.metric!r}: a compare folder has one series, the mean delay over time "
            f"({_COMPARE_DELAY}); leave out --metric"
        )
    return plot_delay_over_time(_compare_table(folder / _COMPARE_DELAY))


def _compare_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    from sim.plots import PlotError

    if not path.is_file():
        raise PlotError(f"{path} is missing: run citysim compare into this folder again")
    return pd.read_csv(path)


# ----- sweep figures -------------------------------------------------------------------
def _check_parameter(name: str | None, parameters: list[str], option: str) -> None:
    from sim.plots import PlotError

    if name is not None and name not in parameters:
        raise PlotError(f"{option} {name!r} is not a parameter of the sweep; its parameters: {parameters}")


def _hue(parameters: list[str], hue: str | None, x: str | None = None) -> list[str]:
    """The ``--hue`` parameters (comma-separated), else the controller or another than ``x``."""
    from sim.plots import PlotError

    if hue is not None:
        names = [name.strip() for name in hue.split(",")]
        for name in names:
            _check_parameter(name, parameters, "--hue")
        if x in names or len(set(names)) < len(names):
            raise PlotError(f"--hue {hue!r}: name each parameter once, and not the --x one ({x!r})")
        return names
    if _CONTROLLER in parameters and x != _CONTROLLER:
        return [_CONTROLLER]
    others = [name for name in parameters if name != x]
    return others[:1] if x is not None else []


def _curves(source: _Source, args: argparse.Namespace, metric: str) -> Figure:
    from pandas.api.types import is_numeric_dtype

    from sim.plots import PlotError, plot_metric_curves

    runs, _ = source.sweep()
    parameters = list(runs.attrs["parameters"])
    if not parameters:
        raise PlotError(f"{source.folder}: the sweep has no grid parameter to plot against")
    _check_parameter(args.x, parameters, "--x")
    x = args.x
    if x is None:
        named = _hue(parameters, args.hue) if args.hue is not None else []
        preferred = [name for name in parameters if name not in (*named, _CONTROLLER)] or parameters
        numeric = [name for name in preferred if is_numeric_dtype(runs[name])]
        x = (numeric or preferred)[0]
    return plot_metric_curves(runs, metric, x, _hue(parameters, args.hue, x), log_y=args.log_y)


def _bars(source: _Source, args: argparse.Namespace, metric: str) -> Figure:
    from sim.plots import plot_comparison_bars

    runs, _ = source.sweep()
    parameters = list(runs.attrs["parameters"])
    hue = _hue(parameters, args.hue)
    return plot_comparison_bars(runs, metric, [name for name in parameters if name not in hue] + hue)


def _label(row: pd.Series, parameters: list[str]) -> str:
    return ", ".join(f"{name}={row[name]}" for name in parameters) or "all runs"


def _stacked(source: _Source, part: Callable[[RunResults], pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    """``part(results)`` of every finished run with records, with its parameter columns and label."""
    import pandas as pd

    from sim.plots import PlotError

    runs, store = source.sweep()
    parameters = list(runs.attrs["parameters"])
    frames = [
        part(results).assign(**{name: row[name] for name in parameters}, combination=_label(row, parameters))
        for row, results in store.iter_results(runs)
    ]
    if not frames:
        raise PlotError(
            f"{source.folder}: no finished run kept its records (was the sweep run with --no-records?)"
        )
    return pd.concat(frames, ignore_index=True), parameters


# ----- figures of one run or of every run ------------------------------------------------
def _series(source: _Source, args: argparse.Namespace, metric: str) -> Figure:
    from sim.metrics.results import load_results
    from sim.plots import plot_series, plot_series_over_runs

    if source.store is None:
        results = load_results(source.folder)
        return plot_series(results) if args.metric is None else plot_series_over_runs(results.series, metric)
    series, parameters = _stacked(source, lambda results: results.series)
    return plot_series_over_runs(series, metric, parameters)


def _mfd(source: _Source, args: argparse.Namespace, metric: str | None) -> Figure:
    from sim.metrics.results import load_results
    from sim.plots import mfd_points, plot_mfd

    if source.store is None:
        return plot_mfd(mfd_points(load_results(source.folder)))
    points, parameters = _stacked(source, mfd_points)
    return plot_mfd(points, hue="combination" if parameters else None)


def _run_folder(source: _Source, key: str | None) -> Path:
    """The results folder to draw: the run folder itself, or a sweep run (``key``, else the first)."""
    from sim.plots import PlotError

    if source.store is None:
        if key is not None:
            raise PlotError(
                f"{source.folder}: --run selects a run of a sweep folder; this is one run's folder"
            )
        return source.folder
    runs, store = source.sweep()
    if key is not None:
        if key not in set(runs["key"]):
            raise PlotError(f"{source.folder}: no run {key!r} in this sweep (see runs.csv)")
        return store.results_path(key)
    kept = _first_kept(runs, runs[runs["status"] == "ok"], store, "drawing")
    if kept is not None:
        return kept
    raise PlotError(
        f"{source.folder}: no finished run kept its records (was the sweep run with --no-records?)"
    )


def _first_kept(runs: pd.DataFrame, candidates: pd.DataFrame, store: ResultStore, verb: str) -> Path | None:
    """The results folder of the first of ``candidates`` that kept its records, or None.

    ``candidates`` are rows of the sweep's ``runs``; the one found is printed as
    ``"<verb> run KEY (parameters, seed N)"``.
    """
    for _, row in candidates.iterrows():
        if (store.results_path(row["key"]) / "summary.json").is_file():
            label = _label(row, list(runs.attrs["parameters"]))
            print(f"{verb} run {row['key']} ({label}, seed {row['seed']})")
            return store.results_path(row["key"])
    return None


def _map(source: _Source, args: argparse.Namespace, metric: str) -> Figure:
    from sim.metrics.results import load_results
    from sim.plots import CONGESTION_METRICS, PlotError, plot_congestion_map

    if metric not in CONGESTION_METRICS:
        choices = ", ".join(CONGESTION_METRICS)
        raise PlotError(f"--metric {metric!r} is not a map metric; choose one of {choices}")
    return plot_congestion_map(load_results(_run_folder(source, args.run)), metric)


def _emissions(source: _Source, args: argparse.Namespace, metric: str) -> Figure:
    from sim.metrics.results import load_results
    from sim.plots import plot_emissions_map

    return plot_emissions_map(load_results(_run_folder(source, args.run)), metric)


def _flowdiff(source: _Source, args: argparse.Namespace, metric: str | None) -> Figure:
    from sim.metrics.results import load_results
    from sim.plots import plot_flow_difference

    compared = _run_folder(source, args.run)
    return plot_flow_difference(
        load_results(_flowdiff_base(source, compared, args.against)), load_results(compared)
    )


def _flowdiff_base(source: _Source, compared: Path, against: str | None) -> Path:
    """The base run of a flow difference: ``--against``, else another combination's run, same seed."""
    from sim.plots import PlotError

    if source.store is None:
        if against is None:
            raise PlotError("--kind flowdiff needs --against RESULTS: the base run's results folder")
        return Path(against)
    runs, store = source.sweep()
    if against is not None:
        if against in set(runs["key"]):
            return store.results_path(against)
        return Path(against)
    row = runs[runs["key"] == compared.name].iloc[0]
    same_seed = runs[(runs["status"] == "ok") & (runs["seed"] == row["seed"]) & (runs["key"] != row["key"])]
    kept = _first_kept(runs, same_seed, store, "against")
    if kept is not None:
        return kept
    raise PlotError(
        f"{source.folder}: no other finished run with seed {row['seed']} to compare with; "
        "name one with --against"
    )


def _timespace(source: _Source, args: argparse.Namespace, metric: str | None) -> Figure:
    from sim.model import CityModel
    from sim.plots import plot_time_space
    from sim.probes.trajectories import sample_corridor

    scenario, seed = _run_scenario(source, args.run)
    start_s, end_s = _window(args.window_s, scenario.simulation.max_time_s)
    corridor = [node.strip() for node in args.corridor.split(",")] if args.corridor else None
    trajectories = sample_corridor(CityModel(scenario, seed=seed), corridor, start_s, end_s)
    return plot_time_space(trajectories)


_DEFAULT_WINDOW_S = 900.0


def _window(text: str | None, max_time_s: float) -> tuple[float, float]:
    from sim.plots import PlotError

    if text is None:
        return 0.0, min(_DEFAULT_WINDOW_S, max_time_s)
    try:
        start_s, end_s = (float(part) for part in text.split(","))
    except ValueError:
        raise PlotError(f"--window-s: expected START,END in seconds, got {text!r}") from None
    return start_s, end_s


def _run_scenario(source: _Source, key: str | None) -> tuple[Scenario, int]:
    """The validated scenario and seed of a run, to simulate it again."""
    from sim.metrics.results import load_summary
    from sim.plots import PlotError
    from sim.scenario import load_scenario, scenario_from_dict
    from sim.sweep.store import ResultStore

    folder = _run_folder(source, key)
    # A sweep run's folder runs/<key>/ has its record, with the full scenario, beside it.
    store = ResultStore(folder.parent.parent)
    record = store.read_record(folder.name) if folder.parent.name == "runs" else None
    if record is not None:
        scenario = scenario_from_dict(record["scenario"], source=str(store.record_path(folder.name)))
        return scenario, int(record["seed"])
    info = load_summary(folder)["info"]
    scenario = load_scenario(info["scenario_source"])
    if scenario.key() != info["scenario_key"]:
        raise PlotError(
            f"{folder}: cannot simulate this run again: {info['scenario_source']} now describes another "
            "scenario (changed since, or the run used --set overrides); run it again, or plot a sweep run"
        )
    return scenario, int(info["seed"])


_FIGURES: dict[str, Callable[[_Source, argparse.Namespace, Any], Figure]] = {
    "curves": _curves,
    "bars": _bars,
    "series": _series,
    "map": _map,
    "emissions": _emissions,
    "flowdiff": _flowdiff,
    "timespace": _timespace,
    "mfd": _mfd,
}
