"""The drop folder: only complete files are taken; each lands in processed/ or failed/ with its
report; the same content dropped again creates nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alerts.ingestion.files import IngestReport, ingest_file
from alerts.ingestion.watch import DropFolder
from herald.runtime import Runtime
from tests.conftest import REPO

DEMO = REPO / "examples" / "feeds" / "camt054-demo.xml"


async def test_drop_folder_ingests_complete_files_only(runtime: Runtime, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    folder = DropFolder(drop, settle_seconds=0.01)

    async def ingest(path: Path) -> IngestReport:
        async with runtime.deps.sessions() as session:
            return await ingest_file(session=session, path=path, source="watch")

    (drop / "good.xml").write_bytes(DEMO.read_bytes())
    (drop / "half.xml.part").write_text("<Document")  # still being written under a temp name
    (drop / "broken.xml").write_text(
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.054.001.08'><oops></Document>"
    )
    growing = drop / "growing.xml"
    growing.write_text("<Doc")
    assert await folder.poll(ingest) == []  # first look: nothing is known to be stable yet
    with growing.open("a") as fh:  # still growing between the two looks
        fh.write("ument")
    os.utime(growing, ns=(1, 1))
    reports = await folder.poll(ingest)
    assert sorted(r.filename.rsplit("/", 1)[-1] for r in reports) == ["broken.xml", "good.xml"]
    assert (drop / "processed" / "good.xml").exists()
    report = json.loads((drop / "processed" / "good.xml.report.json").read_text())
    assert report["events_created"] == 7 and report["status"] == "done"
    failed = json.loads((drop / "failed" / "broken.xml.report.json").read_text())
    assert "line 1" in failed["error"]
    assert (drop / "half.xml.part").exists() and growing.exists()

    growing.unlink()
    (drop / "again.xml").write_bytes(DEMO.read_bytes())  # the same export dropped twice
    folder.stable()
    [again] = await folder.poll(ingest)
    assert again.status == "duplicate_file" and again.events_created == 0
    assert (drop / "processed" / "again.xml").exists()


def test_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        DropFolder(tmp_path / "nope")
