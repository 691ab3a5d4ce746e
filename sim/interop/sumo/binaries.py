"""Where the SUMO programs are: the ``bin`` folder of the ``eclipse-sumo`` wheel (extra ``sumo``)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from sim.interop.errors import InteropError, require_extra

__all__ = ["DEFAULT_TELEPORT_S", "run_tool", "sumo_binary"]

DEFAULT_TELEPORT_S = 300.0
"""SUMO's default ``--time-to-teleport`` (s): a vehicle stuck this long is moved on."""
_STDERR_TAIL = 2000


def sumo_binary(name: str) -> Path:
    """Path of a SUMO program (``"sumo"``, ``"netconvert"``, ...) shipped in the ``eclipse-sumo`` wheel.

    Raises:
        InteropError: If the wheel is not installed or lacks the program.
    """
    sumo = require_extra("sumo", "sumo", f"running SUMO's {name}")
    path = Path(sumo.SUMO_HOME) / "bin" / name
    if not path.is_file():
        raise InteropError(f"SUMO program {name!r} not found at {path}")
    return path


def run_tool(name: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a SUMO program with ``args`` and return the finished process.

    Raises:
        InteropError: If the program is missing or exits with a non-zero code; the message
            ends with the last lines it wrote to stderr.
    """
    command = [str(sumo_binary(name)), *args]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InteropError(f"exited with code {proc.returncode}:\n{proc.stderr[-_STDERR_TAIL:]}", name)
    return proc
