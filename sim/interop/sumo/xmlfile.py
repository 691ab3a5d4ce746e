"""A SUMO XML file as a small element tree that keeps each element's line, for errors that name it.

Read with expat (the standard library's C parser), so a route file of a few MB reads in a
fraction of a second; a gzipped file is recognised by its first bytes.
"""

from __future__ import annotations

import gzip
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

from sim.interop.errors import InteropError

__all__ = ["Element", "element_error", "open_bytes", "parse_tree", "read_xml"]


@dataclass(eq=False)
class Element:
    """One XML element.

    Attributes:
        tag: Its name.
        attrs: Its attributes.
        line: The line it starts on (1-based).
        children: Its child elements, in file order.
    """

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)

    def label(self) -> str:
        """``<tag id='x'>`` (or ``<tag>``), for messages."""
        name = self.attrs.get("id")
        return f"<{self.tag} id={name!r}>" if name is not None else f"<{self.tag}>"


def open_bytes(path: str | os.PathLike[str]) -> BinaryIO:
    """The file opened for reading bytes, through gzip when its first two bytes are gzip's magic."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def parse_tree(path: str | os.PathLike[str]) -> ET.Element:
    """The root of a plain or gzipped XML file as an ``xml.etree`` element.

    Raises:
        InteropError: If the file is missing or unreadable, or not well-formed XML (with its
            line and column).
    """
    if not Path(path).is_file():
        raise InteropError("file not found", path)
    try:
        with open_bytes(path) as f:
            return ET.parse(f).getroot()
    except ET.ParseError as error:
        line, column = error.position
        raise InteropError(f"invalid XML at line {line}, column {column}", path) from None
    except (OSError, EOFError) as error:
        raise InteropError(f"cannot read file: {error}", path) from None


def element_error(path: Path, element: Element, problem: str) -> InteropError:
    """An error naming the file, the element's line and the element."""
    return InteropError(f"line {element.line}: {element.label()}: {problem}", path)


def read_xml(path: Path, refused: Mapping[str, str]) -> Element:
    """The root element of an XML file (plain or gzipped).

    Args:
        path: The file.
        refused: Root element names the file must not have, each with what such a file is,
            e.g. ``{"net": "a SUMO network"}``.

    Raises:
        InteropError: If the file is missing or unreadable, not well-formed XML (with its line
            and column), or its root is one of ``refused``.
    """
    if not path.is_file():
        raise InteropError("file not found", path)
    top = Element("", {}, 0)
    stack = [top]
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = Element(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with open_bytes(path) as f:
            parser.ParseFile(f)
    except expat.ExpatError as error:
        raise InteropError(f"invalid XML at line {error.lineno}, column {error.offset}", path) from None
    except (OSError, EOFError) as error:
        raise InteropError(f"cannot read file: {error}", path) from None
    root = top.children[0]
    if root.tag in refused:
        raise InteropError(
            f"this is {refused[root.tag]} (root element <{root.tag}>), not the file expected", path
        )
    return root
