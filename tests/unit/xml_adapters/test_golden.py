"""Golden-output tests: every sample each built-in adapter reads, as stable JSON.

Each sample is detected (no adapter is named), read to its end and rendered with
`record_as_dict`; a file-level error (e.g. a statement without any `Stmt`) is part of the golden.
Regenerate with `HERALD_UPDATE_GOLDEN=1 pytest tests/unit/xml_adapters`, then review the diff
against the XML by eye before committing it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.unit.xml_adapters.support import (
    BESPOKE_FEEDS,
    CAMT052_DATA,
    CAMT053_DATA,
    CAMT054_DATA,
    GOLDEN,
    REPO,
    UBL_DATA,
)
from xml_adapters.base import IngestError, record_as_dict
from xml_adapters.registry import read_file

UPDATE = os.environ.get("HERALD_UPDATE_GOLDEN") == "1"
# adapter key -> the samples it must read (its golden folder is tests/golden/<key>/)
SAMPLES: dict[str, list[Path]] = {
    "camt052": sorted(CAMT052_DATA.glob("*.xml")),
    "camt053": sorted(CAMT053_DATA.glob("*.xml")),
    "camt054": sorted(CAMT054_DATA.glob("*.xml")),
    "ubl_invoice": sorted(UBL_DATA.glob("*.xml")),
    "shipment_status": [BESPOKE_FEEDS / "shipment-status.xml"],
    "itinerary_change": [BESPOKE_FEEDS / "itinerary-changes.xml"],
}
REFERENCE_SAMPLES = REPO / "tests" / "data" / "reference" / "samples.sha256"
CASES = [(key, sample) for key, samples in SAMPLES.items() for sample in samples]


def render(sample: Path) -> tuple[str, str]:
    """(adapter key, golden JSON text) of a sample read end to end."""
    adapter, records = read_file(sample, path=sample.name)
    rendered: list[dict[str, object]] = []
    document: dict[str, object] = {"file": sample.name, "adapter": adapter.key}
    try:
        for record in records:
            rendered.append(record_as_dict(record))
    except IngestError as exc:
        document["error"] = str(exc)
    document["records"] = rendered
    return adapter.key, json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_every_reference_sample_is_covered() -> None:
    """Each sample of the reference set (tests/data/reference/samples.sha256) has a golden file
    and is still byte-for-byte the published file."""
    covered = {p.name: p for samples in SAMPLES.values() for p in samples}
    lines = REFERENCE_SAMPLES.read_text(encoding="utf-8").splitlines()
    reference = [line.split(maxsplit=1) for line in lines if line.strip()]
    assert len(reference) == 15, "the reference set has 10 camt and 5 UBL samples"
    for digest, origin in reference:
        name = Path(origin).name
        assert name in covered, f"{origin} from the reference set has no golden test"
        actual = hashlib.sha256(covered[name].read_bytes()).hexdigest()
        assert actual == digest, f"{covered[name]} differs from the reference {origin}"
    for folder in (CAMT052_DATA, CAMT053_DATA, CAMT054_DATA):
        assert (folder / "LICENSE.genkgo-camt").is_file()
    assert "OpenPEPPOL/peppol-bis-invoice-3" in (UBL_DATA / "README.md").read_text()


@pytest.mark.parametrize(("key", "sample"), CASES, ids=[f"{k}/{s.name}" for k, s in CASES])
def test_output_matches_golden(key: str, sample: Path) -> None:
    detected, actual = render(sample)
    assert detected == key
    golden = GOLDEN / key / f"{sample.stem}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden}; run with HERALD_UPDATE_GOLDEN=1"
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_no_orphan_golden_files(key: str) -> None:
    expected = {f"{p.stem}.json" for p in SAMPLES[key]}
    assert {p.name for p in (GOLDEN / key).glob("*.json")} == expected
