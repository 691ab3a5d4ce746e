"""What several subcommands share: exit codes and the scenario arguments."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "EXIT_OK",
    "EXIT_STALLED",
    "EXIT_UNFINISHED",
    "EXIT_USAGE",
    "RUN_EXIT_CODES",
    "MissingExtraError",
    "add_scenario_arguments",
    "default_results_folder",
    "output_folder",
    "integer_argument",
    "positive_number",
    "seed_argument",
]

EXIT_OK = 0
EXIT_USAGE = 2
"""Bad input: an unknown option, a scenario or file that breaks its schema."""
EXIT_UNFINISHED = 3
"""The run reached its time limit with trips unfinished (on the network or never entered)."""
EXIT_STALLED = 4
"""The run stopped early in gridlock: nothing entered or arrived for ``simulation.gridlock_s``."""
RUN_EXIT_CODES: dict[str, int] = {
    "completed": EXIT_OK,
    "time_limit": EXIT_UNFINISHED,
    "stalled": EXIT_STALLED,
}
"""Exit code of ``citysim run`` per run status (see :data:`sim.metrics.results.RUN_STATUSES`)."""
_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class MissingExtraError(ValueError):
    """A command needs packages of an optional extra that are not installed."""


def default_results_folder(scenario_name: str, pattern: str) -> Path:
    """``results/<pattern>`` with ``{name}`` the scenario name made safe for a folder name.

    Characters unsafe in a folder name become ``_``; an empty result becomes ``scenario``.
    """
    safe_name = _UNSAFE_PATH_CHARS.sub("_", scenario_name).strip("_.") or "scenario"
    return Path("results") / pattern.format(name=safe_name)


@contextmanager
def output_folder(folder: Path) -> Iterator[Path]:
    """Create ``folder`` and its parents now; if the command then fails, remove what it made while empty.

    Created before the work, so an unusable folder fails before a long run, not after it.
    """
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for made in created:
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
        raise


def integer_argument(low: int, high: int | None = None) -> Callable[[str], int]:
    """Argparse type: an integer >= ``low`` (and <= ``high`` if given)."""
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


def positive_number(text: str) -> float:
    """Argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


seed_argument = integer_argument(0)
"""Argparse type of ``--seed``: an integer >= 0."""


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
