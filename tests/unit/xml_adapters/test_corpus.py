"""The sample corpus (tests/data/corpus, see its README): every file gives the events its
expected-values file, written by reading the XML, says it holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.xml_adapters.support import TESTS
from xml_adapters.base import AccountEvent, RecordProblem
from xml_adapters.iso20022 import message_type
from xml_adapters.parse import detect_root
from xml_adapters.registry import read_file

CORPUS = TESTS / "data" / "corpus"
EXPECTED = sorted(CORPUS.glob("*/*.expected.json"))
TOP_LEVEL = ("source_event_id", "event_type", "amount", "currency", "booking_date")


def expectation(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def actual(event: AccountEvent) -> dict[str, Any]:
    return {
        "source_event_id": event.source_event_id,
        "event_type": event.event_type,
        "amount": None if event.amount is None else str(event.amount),
        "currency": event.currency,
        "booking_date": None if event.booking_date is None else event.booking_date.isoformat(),
    }


def compare(path: Path) -> int:
    """Assert the file matches its expectations; return the number of values compared."""
    expected = expectation(path)
    _adapter, records = read_file(path.parent / expected["file"])
    found = list(records)
    events = [r for r in found if isinstance(r, AccountEvent)]
    problems = [r for r in found if isinstance(r, RecordProblem)]
    assert len(problems) == expected["problems"], problems
    assert [e.source_event_id for e in events] == [e["source_event_id"] for e in expected["events"]]
    compared = 0
    for event, wanted in zip(events, expected["events"], strict=True):
        got = actual(event)
        for key in TOP_LEVEL:
            if key in wanted:
                assert got[key] == wanted[key], (event.source_event_id, key)
                compared += 1
        for key, value in wanted.get("data", {}).items():
            assert event.data.get(key) == value, (event.source_event_id, key)
            compared += 1
    return compared


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_corpus_file_gives_its_expected_events(path: Path) -> None:
    assert compare(path) > 0


def test_the_corpus_covers_every_version_and_says_what_it_covers() -> None:
    versions: dict[str, set[str]] = {}
    compared = 0
    for path in EXPECTED:
        xml = path.parent / expectation(path)["file"]
        with xml.open("rb") as stream:
            message = message_type(detect_root(stream, str(xml)))
        assert message is not None, xml
        versions.setdefault(message.family, set()).add(message.version)
        compared += compare(path)
    every = {f"001.{n:02d}" for n in range(1, 14)}
    assert versions == {"camt.052": every, "camt.053": every, "camt.054": every}
    listed = {line.split(",")[0] for line in (CORPUS / "corpus.csv").read_text().splitlines()[1:]}
    assert listed == {f"{p.parent.name}/{expectation(p)['file']}" for p in EXPECTED}
    sys.stdout.write(
        f"\ncorpus: {len(EXPECTED)} files, "
        f"{sum(len(v) for v in versions.values())} message versions "
        f"({', '.join(f'{k} x{len(v)}' for k, v in sorted(versions.items()))}), "
        f"{compared} values compared\n"
    )
