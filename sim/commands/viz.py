"""``citysim viz SCENARIO``: serve the interactive explorer (a Solara app) in the browser."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

from sim.commands.common import MissingExtraError, integer_argument, positive_number, seed_argument

__all__ = ["register"]

DEFAULT_PORT = 8765


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``viz`` to the subcommands."""
    parser = commands.add_parser(
        "viz",
        help="explore a scenario live in the browser",
        description=(
            "Serve the explorer: the city map filling the window, with moving vehicles coloured by "
            "their speed as a share of the limit, stopped vehicles, shuttles, emergency vehicles, open "
            "emergency calls, signal lights and parking occupancy; the simulated clock; play, pause, step "
            "and reset; knobs for the demand level, the signal controller and the seed (applied on "
            "reset); live charts of delay and queues. Each browser tab runs its own model. Needs the "
            "'viz' extra: pip install 'citysim[viz]'. In Jupyter, display sim.viz.explorer(SCENARIO) "
            "instead."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO", type=Path, help="scenario TOML file")
    parser.add_argument(
        "--demand-scale",
        type=positive_number,
        default=None,
        help="starting demand level (× the scenario's rates)",
    )
    parser.add_argument("--controller", default=None, help="starting signal controller")
    parser.add_argument("--seed", type=seed_argument, default=None, help="starting seed")
    parser.add_argument(
        "--step-s", type=positive_number, default=10.0, help="simulated seconds per step (default: 10)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=integer_argument(1, 65535),
        default=DEFAULT_PORT,
        help=f"port to listen on (default: {DEFAULT_PORT})",
    )
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="do not open a browser")
    parser.set_defaults(handler=_viz)


def _viz(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("solara") is None:
        raise MissingExtraError("citysim viz needs Solara; install it with: pip install 'citysim[viz]'")
    from sim.viz import SETTINGS_ENV
    from sim.viz.model import explorer_scenario

    scenario = explorer_scenario(args.scenario, args.demand_scale, args.controller)
    settings = {
        "scenario": scenario.source,
        "demand_scale": args.demand_scale,
        "controller": args.controller,
        "seed": args.seed,
        "step_s": args.step_s,
    }
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.viz.app",
        "--production",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--open" if args.browser else "--no-open",
    ]
    url = f"http://{args.host}:{args.port}"
    print(f"citysim explorer for {scenario.name}: {url}  (Ctrl-C stops it)", flush=True)
    env = {**os.environ, SETTINGS_ENV: json.dumps(settings)}
    # Become the Solara server (no child process), so Ctrl-C or a terminate signal stops it.
    os.execve(sys.executable, command, env)
