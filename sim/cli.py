"""The ``citysim`` command line: ``citysim run SCENARIO [options]``.

Each subcommand is a function that registers its arguments on the subparser and a handler
that takes the parsed arguments and returns the exit code. Input problems (a bad scenario,
override, network, trip table or file) end the command with one line on stderr,
``citysim: error: <message>``, and exit code 2; a traceback means a bug in citysim.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import __version__

if TYPE_CHECKING:
    from sim.metrics.results import RunResults

__all__ = ["main"]

PROG = "citysim"
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

SERIES_FIGURE = "series.png"
MAP_FIGURE = "map_speed.png"
_MAP_METRIC = "mean_speed_mps"
_MAX_GRIDLOCK_LINES = 10
_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``citysim`` command line.

    Args:
        argv: The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit code: 0 on success, 2 for a usage or input error (reported on stderr as
        one line ``citysim: error: <message>``), 130 when interrupted.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits after --help, --version and usage errors; report its code instead.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(levelname)s: %(message)s")
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:
        return _fail(_os_message(error))
    except ValueError as error:
        if not _is_citysim_error(error):
            raise
        return _fail(str(error))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="citysim: a fast multi-agent smart-city traffic simulator."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    return parser


# ----- citysim run -------------------------------------------------------------------
def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run one scenario and write its results folder",
        description=(
            "Run one scenario, print its summary and write trips.csv, series.csv, links.csv, "
            f"network.json, summary.json, {SERIES_FIGURE} and {MAP_FIGURE} to the results folder."
        ),
    )
    run.add_argument("scenario", metavar="SCENARIO", type=Path, help="scenario TOML file")
    run.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a scenario key, e.g. --set demand.rate_vph=3000 (value as TOML; repeatable)",
    )
    run.add_argument(
        "--seed", type=_seed, default=None, help="random seed (integer >= 0); default: the scenario's seed"
    )
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="results folder; default: results/<scenario name>-seed<seed> in the current directory",
    )
    run.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw the figures")
    run.add_argument("--quiet", action="store_true", help="hide the progress bar")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that --help and --version need not load mesa and numba.
    from sim.metrics.results import write_results
    from sim.metrics.summary import format_summary, summarize
    from sim.model import CityModel
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    seed = scenario.seed if args.seed is None else args.seed
    folder = args.out if args.out is not None else _default_folder(scenario.name, seed)
    # Created before the run, so an unusable folder fails now and not after a long simulation.
    folder.mkdir(parents=True, exist_ok=True)

    model = CityModel(scenario, seed=seed)
    model.run(progress=not args.quiet)
    results = model.results()

    print(f"{scenario.name}, seed {seed}: simulated {model.time_s:,.0f} s")
    print(format_summary(summarize(results) | _performance(results.info)))
    gridlock = _gridlock_report(results.info)
    if gridlock:
        print(gridlock)

    for name in (SERIES_FIGURE, MAP_FIGURE):
        # A stale figure from an earlier run in the same folder would contradict these results.
        (folder / name).unlink(missing_ok=True)
    write_results(results, folder)
    if args.plots:
        _write_figures(results, folder)
    print(f"results written to {folder}")
    return EXIT_OK


def _write_figures(results: RunResults, folder: Path) -> None:
    from sim.plots import plot_network_map, plot_series, save_figure

    save_figure(plot_series(results), folder / SERIES_FIGURE)
    save_figure(plot_network_map(results, metric=_MAP_METRIC), folder / MAP_FIGURE)


def _default_folder(scenario_name: str, seed: int) -> Path:
    """``results/<name>-seed<seed>``, with characters unsafe in a folder name replaced by ``_``."""
    safe_name = _UNSAFE_PATH_CHARS.sub("_", scenario_name).strip("_.") or "scenario"
    return Path("results") / f"{safe_name}-seed{seed}"


def _performance(info: Mapping[str, Any]) -> dict[str, str]:
    """Wall-clock rows for the summary table, already formatted."""
    sim_wall_s = float(info["sim_wall_s"])
    steps = int(info["vehicle_steps"])
    rate = f"{steps / sim_wall_s:,.0f}" if sim_wall_s > 0 else "n/a"
    return {
        "set-up wall time (s)": f"{float(info['setup_wall_s']):.2f}",
        "simulation wall time (s)": f"{sim_wall_s:.2f}",
        "vehicle-steps per second": rate,
    }


def _gridlock_report(info: Mapping[str, Any]) -> str:
    """Lines naming each circular spillback (gridlock) and whether the run stalled; empty if none."""
    cycles = info.get("gridlock") or []
    stalled_at_s = info.get("stalled_at_s")
    if not cycles and stalled_at_s is None:
        return ""
    lines = [f"gridlock: {len(cycles)} circular spillback(s)"]
    for report in cycles[:_MAX_GRIDLOCK_LINES]:
        lines.append(
            f"  since t = {report['since_s']:,.0f} s (reported at t = {report['detected_s']:,.0f} s): "
            + " | ".join(report["edges"])
        )
    if len(cycles) > _MAX_GRIDLOCK_LINES:
        lines.append(f"  ... and {len(cycles) - _MAX_GRIDLOCK_LINES} more")
    if stalled_at_s is not None:
        lines.append(f"network stalled: the run stopped at t = {stalled_at_s:,.0f} s")
    return "\n".join(lines)


# ----- shared helpers ----------------------------------------------------------------
def _seed(text: str) -> int:
    """Argparse type of ``--seed``: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _is_citysim_error(error: ValueError) -> bool:
    """Whether the error is one of citysim's named input errors (ScenarioError, NetworkError, ...)."""
    return type(error).__module__.partition(".")[0] == "sim"


def _os_message(error: OSError) -> str:
    """``<file>: <reason>`` for a file error, without the ``[Errno n]`` prefix."""
    reason = error.strerror or str(error)
    files = [str(name) for name in (error.filename, error.filename2) if name is not None]
    return ": ".join([" -> ".join(files), reason]) if files else reason


def _fail(message: str) -> int:
    """Print ``citysim: error: <message>`` on one line to stderr and return the usage exit code."""
    one_line = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_USAGE
