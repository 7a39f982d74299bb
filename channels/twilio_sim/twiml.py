"""Twilio simulator TwiML parsing: a small expat-based parser that refuses DTDs and entities."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, NoReturn
from xml.parsers import expat


class TwimlError(ValueError):
    """Herald returned something that is not a usable TwiML document."""


def _refuse_dtd(*_args: Any) -> NoReturn:
    raise TwimlError("DTDs and entity declarations are not allowed in TwiML")


def parse_twiml(content: bytes | str) -> ET.Element:
    """Parse a TwiML document and return its <Response> element."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(content, True)
        root = builder.close()
    except expat.ExpatError as error:
        raise TwimlError(f"not well-formed XML: {error}") from None
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, TwiML needs <Response>")
    return root


def text_of(element: ET.Element) -> str:
    """All text inside `element` (SSML children included), whitespace-trimmed."""
    return "".join(element.itertext()).strip()
