"""Per-record XSD validation: each record element is checked against its type in the message
schema, so one bad record is quarantined with the schema's reason and the file continues."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
SCHEMAS = Path(__file__).parent / "schemas"


class SchemaSetupError(ValueError):
    """The schema cannot validate this record element (missing file, unknown element)."""


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class RecordValidator:
    """Validates elements named `record` (local name) against the XSD's declared type of it.

    The schema is the message's own XSD with one more global declaration, `<xs:element
    name="{record}" type="{its type}"/>`, so a lone record is a valid document of the schema.
    """

    def __init__(self, xsd: Path, record: str) -> None:
        if not xsd.exists():
            raise SchemaSetupError(f"schema {xsd} not found")
        doc = etree.parse(str(xsd), _hardened_parser())
        root = doc.getroot()
        decl = root.find(f".//{{{XS}}}element[@name='{record}']")
        if decl is None or not decl.get("type"):
            raise SchemaSetupError(f"schema {xsd.name} declares no typed element {record!r}")
        root.append(etree.Element(f"{{{XS}}}element", name=record, type=decl.get("type", "")))
        self.schema = etree.XMLSchema(doc)
        self.namespace = root.get("targetNamespace")
        self.record = record
        self.xsd_name = xsd.name

    def problem(self, element: etree._Element) -> str | None:
        """None when valid, else the first schema error, saying where inside the record."""
        lone = copy.deepcopy(element)  # keeps each node's source line
        if self.schema.validate(lone):
            return None
        first = self.schema.error_log[0]  # type: ignore[index]
        return f"does not match {self.xsd_name} at line {first.line}: {first.message}"


@lru_cache(maxsize=32)
def validator_for(xsd_name: str, record: str) -> RecordValidator:
    """A cached validator for a schema shipped in xml_adapters/schemas/."""
    return RecordValidator(SCHEMAS / xsd_name, record)
