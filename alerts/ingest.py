"""Ingest a back-office file: dedupe by content hash and by event id, store events in batches."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.models import Account, Event, IngestFile
from xml_adapters.base import AccountEvent, IngestError, RecordProblem
from xml_adapters.registry import detect_adapter, get_adapter

logger = logging.getLogger(__name__)
BATCH = 500


@dataclass
class IngestReport:
    filename: str
    sha256: str
    adapter: str | None = None
    status: str = "done"  # "done" | "failed" | "duplicate_file"
    records: int = 0
    events_created: int = 0
    duplicates: int = 0
    unknown_accounts: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    file_id: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def _store_batch(
    session: AsyncSession,
    batch: list[AccountEvent],
    file_id: int,
    owners: dict[str, int | None],
    report: IngestReport,
    now: datetime,
) -> None:
    keys = {(e.source, e.source_event_id) for e in batch}
    existing = set(
        (
            await session.exec(
                select(Event.source, Event.source_event_id).where(
                    col(Event.source_event_id).in_([k[1] for k in keys])
                )
            )
        ).all()
    )
    missing = {e.account_id for e in batch if e.account_id not in owners}
    if missing:
        for acc in (
            await session.exec(select(Account).where(col(Account.account_id).in_(missing)))
        ).all():
            owners[acc.account_id] = acc.customer_id
        for acc_id in missing:
            owners.setdefault(acc_id, None)
    seen: set[tuple[str, str]] = set()
    for item in batch:
        key = (item.source, item.source_event_id)
        if key in existing or key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        customer_id = owners.get(item.account_id)
        if customer_id is None:
            report.unknown_accounts += 1
        event = Event(
            source=item.source,
            source_event_id=item.source_event_id,
            file_id=file_id,
            event_type=item.event_type,
            account_id=item.account_id,
            customer_id=customer_id,
            amount=item.amount,
            currency=item.currency,
            credit_debit=item.credit_debit,
            status=item.status,
            booking_date=item.booking_date,
            description=(item.description or "")[:500] or None,
            line=item.line,
            data=dict(item.data),
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(event)
                await session.flush()
        except IntegrityError:  # another process stored it meanwhile
            report.duplicates += 1
            continue
        report.events_created += 1


async def ingest_file(
    *,
    session: AsyncSession,
    path: Path,
    adapter_key: str | None = None,
    display_name: str | None = None,
) -> IngestReport:
    """Store the events of one file; each batch is committed so a later error keeps the earlier."""
    started = time.perf_counter()
    now = utcnow()
    name = display_name or str(path)
    report = IngestReport(filename=name, sha256=sha256_of(path))
    row = (await session.exec(select(IngestFile).where(IngestFile.sha256 == report.sha256))).first()
    if row is not None and row.status == "done":
        report.status = "duplicate_file"
        report.file_id = row.id
        report.adapter = row.adapter
        report.seconds = time.perf_counter() - started
        return report
    owners: dict[str, int | None] = {}
    with path.open("rb") as stream:
        try:
            adapter = get_adapter(adapter_key) if adapter_key else detect_adapter(stream, name)
        except IngestError as exc:
            report.status, report.error = "failed", str(exc)
            report.seconds = time.perf_counter() - started
            return report
        report.adapter = adapter.key
        if row is None:
            row = IngestFile(
                sha256=report.sha256,
                filename=name[:500],
                adapter=adapter.key,
                status="ingesting",
                created_at=now,
            )
            session.add(row)
            await session.commit()
        assert row.id is not None
        report.file_id = row.id
        batch: list[AccountEvent] = []
        try:
            for item in adapter.iter_records(stream, name):
                report.records += 1
                if isinstance(item, RecordProblem):
                    report.problems.append(str(item))
                    continue
                batch.append(item)
                if len(batch) >= BATCH:
                    await _store_batch(session, batch, row.id, owners, report, now)
                    await session.commit()
                    batch = []
        except IngestError as exc:
            # Keep every complete record read before the error: a fixed file re-sent later
            # dedupes them by event id.
            report.status, report.error = "failed", str(exc)
        await _store_batch(session, batch, row.id, owners, report, now)
    row.status = "failed" if report.status == "failed" else "done"
    row.records = report.records
    row.events_created += report.events_created
    row.duplicates = report.duplicates
    row.problems = report.problems[:1000]
    row.error = report.error
    session.add(row)
    await session.commit()
    report.seconds = time.perf_counter() - started
    logger.info(
        "ingested file_sha256=%s adapter=%s status=%s records=%s created=%s dup=%s",
        report.sha256[:12],
        report.adapter,
        report.status,
        report.records,
        report.events_created,
        report.duplicates,
    )
    return report


def expand_paths(paths: Iterable[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(q for q in path.iterdir() if q.suffix.lower() == ".xml"))
        else:
            out.append(path)
    return out
