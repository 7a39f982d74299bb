"""Golden-output tests: every camt.054 sample's events and problems as stable JSON.

Regenerate with `HERALD_UPDATE_GOLDEN=1 pytest tests/unit/xml_adapters`, then review the diff
against the XML by eye before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.unit.xml_adapters.support import CAMT054_DATA, CAMT054_GOLDEN
from xml_adapters.base import record_as_dict
from xml_adapters.registry import read_file

SAMPLES = sorted(CAMT054_DATA.glob("*.xml"))
UPDATE = os.environ.get("HERALD_UPDATE_GOLDEN") == "1"


def render(sample: Path) -> str:
    adapter, records = read_file(sample)
    document = {
        "file": sample.name,
        "adapter": adapter.key,
        "records": [record_as_dict(r) for r in records],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_every_reference_sample_is_covered() -> None:
    names = {p.name for p in SAMPLES}
    assert {
        "camt054.v2.xml",
        "camt054.v4.xml",
        "camt054.v8.xml",
        "camt054.v8-with-financial-institution.xml",
    } <= names
    assert (CAMT054_DATA / "LICENSE.genkgo-camt").is_file()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_output_matches_golden(sample: Path) -> None:
    golden = CAMT054_GOLDEN / f"{sample.stem}.json"
    actual = render(sample)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden}; run with HERALD_UPDATE_GOLDEN=1"
    assert actual == golden.read_text(encoding="utf-8")


def test_no_orphan_golden_files() -> None:
    expected = {f"{p.stem}.json" for p in SAMPLES}
    assert {p.name for p in CAMT054_GOLDEN.glob("*.json")} == expected
