"""Received files' reports and quarantined records: list them, re-process the records once
their cause is fixed, and tell (and resume) a file a crash left half-read."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NotRequired, TypedDict

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.ingestion.files import IngestReport, ingest_file
from alerts.models import Account, Decision, Event, IngestFile, QuarantinedRecord

logger = logging.getLogger(__name__)

# A file "ingesting" with no batch committed for this long was left by a crash: a batch of
# 1,000 records takes well under a second.
INTERRUPTED_AFTER_S = 120


class QuarantineRow(TypedDict):
    """A quarantined record as listed: where it was, which field, and why."""

    id: int | None
    file_id: int
    file: str
    line: int | None
    record_id: str | None
    field: str | None
    value: str | None
    reason: str
    status: str
    at: str


class RetriedFile(TypedDict):
    """What re-reading one kept file gave (or why it could not be re-read)."""

    file_id: int | None
    file: str
    error: NotRequired[str]
    events_created: NotRequired[int]
    still_quarantined: NotRequired[int]


class RetryReportDict(TypedDict):
    accounts_resolved: int
    files: list[RetriedFile]
    still_open: int


async def list_quarantine(
    *, session: AsyncSession, status: str = "open", file_id: int | None = None, limit: int = 500
) -> list[QuarantineRow]:
    query = (
        select(QuarantinedRecord, IngestFile.filename)
        .join(IngestFile, col(IngestFile.id) == QuarantinedRecord.file_id)
        .where(QuarantinedRecord.status == status)
        .order_by(col(QuarantinedRecord.id))
        .limit(limit)
    )
    if file_id is not None:
        query = query.where(QuarantinedRecord.file_id == file_id)
    return [
        {
            "id": q.id,
            "file_id": q.file_id,
            "file": name,
            "line": q.line,
            "record_id": q.record_id,
            "field": q.field,
            "value": q.value,
            "reason": q.reason,
            "status": q.status,
            "at": q.created_at.isoformat(),
        }
        for q, name in (await session.exec(query)).all()
    ]


@dataclass
class RetryReport:
    accounts_resolved: int = 0
    files: list[RetriedFile] = field(default_factory=list)
    still_open: int = 0

    def as_dict(self) -> RetryReportDict:
        return {
            "accounts_resolved": self.accounts_resolved,
            "files": self.files,
            "still_open": self.still_open,
        }


async def _resolve_accounts(session: AsyncSession, now: datetime) -> int:
    """Events whose account had no customer: attach the customer now known and decide again."""
    owned = col(Account.account_id) == Event.account_id
    pending = (
        await session.exec(
            select(Event, Account.customer_id)
            .join(Account, owned)
            .where(col(Event.customer_id).is_(None))
        )
    ).all()
    for event, customer_id in pending:
        event.customer_id = customer_id
        event.evaluated = False
        session.add(event)
        await session.exec(delete(Decision).where(col(Decision.event_id) == event.id))
        await session.exec(
            update(QuarantinedRecord)
            .where(
                col(QuarantinedRecord.file_id) == event.file_id,
                col(QuarantinedRecord.record_id) == event.source_event_id,
                col(QuarantinedRecord.field) == "account_id",
                col(QuarantinedRecord.status) == "open",
            )
            .values(status="resolved", resolved_at=now)
        )
    await session.commit()
    return len(pending)


async def retry_quarantine(
    *, session: AsyncSession, now: datetime, file_id: int | None = None
) -> RetryReport:
    """Re-decide events of accounts now known, and re-read kept files that had bad records
    (after a mapping or export fix); records that now parse become events (deduplicated)."""
    report = RetryReport(accounts_resolved=await _resolve_accounts(session, now))
    # Files with open bad records (by id: PostgreSQL cannot DISTINCT over JSON columns).
    ids = select(QuarantinedRecord.file_id).where(
        col(QuarantinedRecord.status) == "open",
        col(QuarantinedRecord.field).is_distinct_from("account_id"),
    )
    if file_id is not None:
        ids = ids.where(QuarantinedRecord.file_id == file_id)
    query = select(IngestFile).where(col(IngestFile.id).in_(ids)).order_by(col(IngestFile.id))
    files = (await session.exec(query)).all()
    for row in files:
        if not row.stored_path or not Path(row.stored_path).exists():
            report.files.append(
                {
                    "file_id": row.id,
                    "file": row.filename,
                    "error": "the original file was not kept; send it again",
                }
            )
            continue
        await session.exec(
            update(QuarantinedRecord)
            .where(
                col(QuarantinedRecord.file_id) == row.id,
                col(QuarantinedRecord.status) == "open",
                col(QuarantinedRecord.field).is_distinct_from("account_id"),
            )
            .values(status="resolved", resolved_at=now)
        )
        await session.commit()
        result: IngestReport = await ingest_file(
            session=session,
            path=Path(row.stored_path),
            display_name=row.filename,
            adapter_key=row.adapter,
            reprocess=True,
        )
        report.files.append(
            {
                "file_id": row.id,
                "file": row.filename,
                "events_created": result.events_created,
                "still_quarantined": result.quarantined,
            }
        )
    report.still_open = len(await list_quarantine(session=session, limit=100000))
    return report


async def list_files(*, session: AsyncSession, limit: int = 100) -> list[IngestFile]:
    """The received files' reports, newest first (at most 1000)."""
    query = select(IngestFile).order_by(col(IngestFile.id).desc()).limit(min(limit, 1000))
    return list((await session.exec(query)).all())


async def find_file(*, session: AsyncSession, sha256: str) -> IngestFile | None:
    """The report of the file with this SHA-256 (None while still receiving, or never sent)."""
    return (await session.exec(select(IngestFile).where(IngestFile.sha256 == sha256))).first()


def file_state(row: IngestFile, now: datetime) -> str:
    """A file's status as shown to people: ``interrupted`` for one a crash left ``ingesting``
    (no batch committed for INTERRUPTED_AFTER_S), else the stored status."""
    if row.status != "ingesting":
        return row.status
    last = row.progress_at or row.created_at
    return "interrupted" if last <= now - timedelta(seconds=INTERRUPTED_AFTER_S) else "ingesting"


def resume_command(row: IngestFile) -> str:
    return f"herald ingest --resume {row.id}"


class ResumeError(ValueError):
    """Why a file cannot be resumed, and what to do instead."""


async def resume_file(*, session: AsyncSession, file_id: int, now: datetime) -> IngestReport:
    """Read an interrupted file again from its kept copy: events stored before the crash are
    recognised (by event id) and not stored twice, bad records keep one quarantine row each."""
    row = await session.get(IngestFile, file_id)
    if row is None:
        raise ResumeError(f"no received file #{file_id} (see `herald ingest` reports or the API)")
    state = file_state(row, now)
    if state == "ingesting":
        seen = (now - (row.progress_at or row.created_at)).total_seconds()
        raise ResumeError(
            f"file #{file_id} ({row.filename}) is still being read (last progress {seen:.0f} s "
            f"ago); it counts as interrupted after {INTERRUPTED_AFTER_S} s without progress"
        )
    if state != "interrupted":
        raise ResumeError(
            f"file #{file_id} ({row.filename}) is {state}, not interrupted: nothing to resume "
            f"(`herald quarantine retry --file-id {file_id}` re-reads its quarantined records)"
        )
    if not row.stored_path or not Path(row.stored_path).exists():
        raise ResumeError(
            f"file #{file_id} ({row.filename}): the original was not kept; run "
            "`herald ingest PATH` with the same file, it carries on without duplicates"
        )
    logger.info("resuming interrupted file file_id=%s file_sha256=%s", row.id, row.sha256[:12])
    return await ingest_file(
        session=session,
        path=Path(row.stored_path),
        display_name=row.filename,
        adapter_key=row.adapter,
        source=row.source,
    )
