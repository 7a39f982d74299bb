"""Ingestion converges (issue 17.6): a record sent again after quarantine resolves its earlier open
row instead of adding another; a file a crash left half-read is shown as interrupted and read
again with one call, without a duplicate event. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from alerts.columns import utcnow
from alerts.ingestion import files as ingestion_files
from alerts.ingestion.files import ingest_file
from alerts.ingestion.quarantine import (
    INTERRUPTED_AFTER_S,
    ResumeError,
    file_state,
    list_quarantine,
    resume_file,
)
from alerts.models import Event, IngestFile, QuarantinedRecord
from benchmarks.ingest import generate
from herald.runtime import Runtime
from tests.service.test_quarantine import DEMO, broken_copy


def _variant(tmp_path: Path, name: str, text: str, note: str) -> Path:
    """The same records in a new file (another export run: another hash)."""
    path = tmp_path / name
    path.write_text(text.replace("</Document>", f"<!-- {note} --></Document>"))
    return path


async def _open_parse_rows(runtime: Runtime) -> list[tuple[str | None, str]]:
    async with runtime.deps.sessions() as session:
        rows = await list_quarantine(session=session, limit=1000)
    return [(r["record_id"], r["file"]) for r in rows if r["field"] != "account_id"]


async def test_a_record_sent_again_keeps_one_open_quarantine_row(
    runtime: Runtime, tmp_path: Path
) -> None:
    broken = broken_copy(tmp_path).read_text()
    async with runtime.deps.sessions() as session:
        await ingest_file(session=session, path=_variant(tmp_path, "a.xml", broken, "run 1"))
    [(record_id, first)] = await _open_parse_rows(runtime)
    assert record_id and first.endswith("a.xml")

    # The export is run again, still with the bad amount: one open row, the newer file's.
    async with runtime.deps.sessions() as session:
        report = await ingest_file(
            session=session, path=_variant(tmp_path, "b.xml", broken, "run 2")
        )
    assert report.quarantined == 1
    assert [(rid, name[-5:]) for rid, name in await _open_parse_rows(runtime)] == [
        (record_id, "b.xml")
    ]

    # Then corrected: the record becomes an event, and nothing is left open for it.
    async with runtime.deps.sessions() as session:
        fixed = await ingest_file(
            session=session, path=_variant(tmp_path, "c.xml", DEMO.read_text(), "fixed")
        )
        resolved = (
            await session.exec(
                select(func.count()).where(
                    col(QuarantinedRecord.status) == "resolved",
                    col(QuarantinedRecord.field).is_distinct_from("account_id"),
                )
            )
        ).one()
    assert fixed.quarantined == 0 and fixed.events_created >= 1
    assert await _open_parse_rows(runtime) == []
    assert resolved == 2


class ProcessKilled(BaseException):
    """As kill -9: nothing after this point runs, not even the file's final commit."""


async def test_a_file_left_half_read_by_a_crash_is_interrupted_and_resumes(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = tmp_path / "night.xml"
    entries = generate(feed, megabytes=3)
    assert entries > 2 * ingestion_files.BATCH
    real = ingestion_files._store_events
    calls = 0

    async def dies_on_the_second_batch(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ProcessKilled
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingestion_files, "_store_events", dies_on_the_second_batch)
    with pytest.raises(ProcessKilled):
        async with runtime.deps.sessions() as session:
            await ingest_file(session=session, path=feed, store_dir=tmp_path / "kept")
    monkeypatch.undo()

    async with runtime.deps.sessions() as session:
        [row] = (await session.exec(select(IngestFile))).all()
        stored = (await session.exec(select(func.count()).select_from(Event))).one()
    assert row.status == "ingesting" and 0 < stored < entries
    now = utcnow()
    assert file_state(row, now) == "ingesting"  # it could still be running
    later = now + timedelta(seconds=INTERRUPTED_AFTER_S + 1)
    assert file_state(row, later) == "interrupted"
    async with runtime.deps.sessions() as session:
        with pytest.raises(ResumeError, match="still being read"):
            await resume_file(session=session, file_id=row.id or 0, now=now)

    async with runtime.deps.sessions() as session:
        report = await resume_file(session=session, file_id=row.id or 0, now=later)
    assert report.status == "done"
    async with runtime.deps.sessions() as session:
        done = await session.get(IngestFile, row.id)
        events = (await session.exec(select(func.count()).select_from(Event))).one()
        distinct = (
            await session.exec(select(func.count(func.distinct(Event.source_event_id))))
        ).one()
    assert done is not None and file_state(done, later) == "done"
    assert events == distinct == done.events_created  # every entry once, none twice
    assert events >= entries
    async with runtime.deps.sessions() as session:
        with pytest.raises(ResumeError, match="is done, not interrupted"):
            await resume_file(session=session, file_id=row.id or 0, now=later)
        with pytest.raises(ResumeError, match="no received file #999"):
            await resume_file(session=session, file_id=999, now=later)
