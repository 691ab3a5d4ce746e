"""``citysim keys [SECTION]``: the scenario keys, their defaults, ranges and units; the reference files."""

from __future__ import annotations

import argparse
import json

from sim.commands.common import EXIT_OK

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``keys`` to the subcommands."""
    keys = commands.add_parser(
        "keys",
        help="list the scenario keys: type, unit, default, allowed values",
        description=(
            "Without SECTION, list the tables of a scenario file with a one-line summary each; with "
            "SECTION (e.g. demand, network, signals.max_pressure, shuttles), list its keys: type, "
            "unit, default, allowed values, an example when the default is none, and what each "
            "sets. --markdown prints the whole reference (docs/scenario-keys.md), --json-schema the "
            "JSON Schema of scenario files that editors use to check and complete them "
            "(docs/scenario.schema.json)."
        ),
    )
    keys.add_argument("section", nargs="?", metavar="SECTION", help="a table, e.g. demand")
    formats = keys.add_mutually_exclusive_group()
    formats.add_argument("--markdown", action="store_true", help="print the reference as Markdown")
    formats.add_argument("--json-schema", action="store_true", help="print the JSON Schema of scenarios")
    keys.set_defaults(handler=_keys)


def _keys(args: argparse.Namespace) -> int:
    from sim.keys import KeysError, markdown, scenario_json_schema, section_text, sections_text

    if args.markdown or args.json_schema:
        if args.section is not None:
            raise KeysError("--markdown and --json-schema print every section: leave out SECTION")
        text = (
            markdown() if args.markdown else json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False)
        )
        print(text, end="" if args.markdown else "\n")
    else:
        print(section_text(args.section) if args.section is not None else sections_text())
    return EXIT_OK
