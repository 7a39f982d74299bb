"""Per-record XSD validation against the message schemas shipped with Herald."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from xml_adapters.validation import RecordValidator, SchemaSetupError, validator_for

REPO = Path(__file__).resolve().parents[3]
NS8 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def entries() -> list[etree._Element]:
    tree = etree.parse(str(REPO / "examples" / "feeds" / "camt054-demo.xml"))
    return tree.findall(f".//{{{NS8}}}Ntry")


def test_valid_records_pass() -> None:
    validator = validator_for("camt.054.001.08.xsd", "Ntry")
    assert all(validator.problem(e) is None for e in entries())


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("CdtDbtInd", "DEBIT", "not an element of the set"),
        ("Amt", "12,50", "Amt"),
    ],
)
def test_a_bad_record_says_what_and_where(field: str, value: str, expected: str) -> None:
    validator = validator_for("camt.054.001.08.xsd", "Ntry")
    entry = entries()[0]
    node = entry.find(f"{{{NS8}}}{field}")
    assert node is not None
    node.text = value
    problem = validator.problem(entry)
    assert problem is not None and expected in problem
    assert f"at line {node.sourceline}" in problem


def test_schema_setup_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SchemaSetupError, match="not found"):
        RecordValidator(tmp_path / "nope.xsd", "Ntry")
    with pytest.raises(SchemaSetupError, match="no typed element 'Nope'"):
        validator_for("camt.054.001.02.xsd", "Nope")
