"""The ``citysim`` command line: ``citysim COMMAND [options]``.

Each subcommand is a module of :mod:`sim.commands` whose ``register`` adds its parser
with a handler that takes the parsed arguments and returns the exit code; ``COMMANDS``
lists them. Input problems (a bad scenario,
override, network, trip table or file) end the command with one line on stderr,
``citysim: error: <message>``, and exit code 2; a traceback means a bug in citysim.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from sim import __version__
from sim.commands.common import EXIT_USAGE

__all__ = ["main"]

PROG = "citysim"
EXIT_INTERRUPTED = 130

COMMANDS = (
    "run",
    "compare",
    "tune",
    "assign",
    "sweep",
    "plot",
    "validate",
    "importer",
    "train",
    "viz",
    "keys",
)
"""Modules of :mod:`sim.commands`, one per subcommand (``importer`` serves ``import``), in help order."""

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
    except BrokenPipeError:
        # the reader went away (``citysim keys | head``): not an error; keep the interpreter
        # from complaining about the closed pipe at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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
    for name in COMMANDS:
        importlib.import_module(f"sim.commands.{name}").register(commands)
    return parser


# ----- shared helpers ----------------------------------------------------------------
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
