"""What several subcommands share: exit codes and the scenario arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["EXIT_OK", "EXIT_USAGE", "add_scenario_arguments", "seed_argument"]

EXIT_OK = 0
EXIT_USAGE = 2


def seed_argument(text: str) -> int:
    """Argparse type of ``--seed``: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``SCENARIO``, ``--set KEY=VALUE`` (repeatable) and ``--seed N`` to a subcommand."""
    parser.add_argument("scenario", metavar="SCENARIO", type=Path, help="scenario TOML file")
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a scenario key, e.g. --set demand.rate_vph=3000 (value as TOML; repeatable)",
    )
    parser.add_argument(
        "--seed", type=seed_argument, default=None, help="random seed (integer >= 0); default: the scenario's"
    )
