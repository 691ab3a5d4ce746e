"""The scenario key reference, generated from the schema: ``citysim keys``, its Markdown, its JSON Schema.

:func:`catalog` reads every table and key from the code that validates scenarios;
:mod:`sim.keys.render` writes them for a terminal and as ``docs/scenario-keys.md``;
:mod:`sim.keys.json_schema` writes ``docs/scenario.schema.json``, which editors (Taplo, Even
Better TOML) use to check and complete scenario files.
"""

from sim.keys.catalog import Key, Table, catalog, unit_of
from sim.keys.json_schema import scenario_json_schema
from sim.keys.render import KeysError, markdown, section_text, sections_text

__all__ = [
    "Key",
    "KeysError",
    "Table",
    "catalog",
    "markdown",
    "scenario_json_schema",
    "section_text",
    "sections_text",
    "unit_of",
]
