"""What several subcommands share: exit codes and the scenario arguments."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

__all__ = [
    "EXIT_OK",
    "EXIT_USAGE",
    "MissingExtraError",
    "add_scenario_arguments",
    "default_results_folder",
    "seed_argument",
]

EXIT_OK = 0
EXIT_USAGE = 2
_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class MissingExtraError(ValueError):
    """A command needs packages of an optional extra that are not installed."""


def default_results_folder(scenario_name: str, pattern: str) -> Path:
    """``results/<pattern>`` with ``{name}`` the scenario name made safe for a folder name.

    Characters unsafe in a folder name become ``_``; an empty result becomes ``scenario``.
    """
    safe_name = _UNSAFE_PATH_CHARS.sub("_", scenario_name).strip("_.") or "scenario"
    return Path("results") / pattern.format(name=safe_name)


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
