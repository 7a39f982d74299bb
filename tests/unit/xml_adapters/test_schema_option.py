"""`schema = "camt.054.{version}.xsd"` in a mapping checks each record against the message XSD:
a record that breaks it is set aside with the schema's reason, the others still become events."""

from __future__ import annotations

from pathlib import Path

import pytest

from xml_adapters.base import AccountEvent, MappingError, RecordProblem
from xml_adapters.mapping import MappingAdapter

PKG = Path(__file__).resolve().parents[3] / "xml_adapters" / "mappings"
DEMO = Path(__file__).resolve().parents[3] / "examples" / "feeds" / "camt054-demo.xml"


def validating_copy(tmp_path: Path, schema: str) -> MappingAdapter:
    text = (PKG / "camt054.toml").read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("title"))
    lines.insert(at + 1, f'schema = "{schema}"')
    path = tmp_path / "camt054-validated.toml"
    path.write_text("\n".join(lines) + "\n")
    return MappingAdapter.from_file(path)


def test_records_breaking_the_schema_are_set_aside(tmp_path: Path) -> None:
    adapter = validating_copy(tmp_path, "camt.054.{version}.xsd")
    broken = tmp_path / "feed.xml"
    broken.write_text(DEMO.read_text().replace("<Cd>BOOK</Cd>", "<Cd>BOOKED</Cd>", 1))
    with broken.open("rb") as fh:
        items = list(adapter.iter_records(fh, str(broken)))
    problems = [i for i in items if isinstance(i, RecordProblem)]
    assert len([i for i in items if isinstance(i, AccountEvent)]) == 6
    assert len(problems) == 1
    assert "camt.054.001.08.xsd at line 21" in problems[0].reason
    assert "maxLength" in problems[0].reason
    with DEMO.open("rb") as fh:  # the valid file passes untouched
        assert all(isinstance(i, AccountEvent) for i in adapter.iter_records(fh, str(DEMO)))


def test_a_schema_that_cannot_check_the_record_is_a_mapping_error(tmp_path: Path) -> None:
    adapter = validating_copy(tmp_path, "nope.{version}.xsd")
    with DEMO.open("rb") as fh, pytest.raises(MappingError, match="not found"):
        list(adapter.iter_records(fh, str(DEMO)))
