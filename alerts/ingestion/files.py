"""Ingest a back-office file: dedupe by content hash and by event id, store events in batches,
quarantine bad records with their reasons, keep the file for re-processing.

Past 400 lines, and ``ingest_file`` past 60, because parsing runs one thread ahead of the
database writes (bounded to two batches) and the file's report, its row and the thread's
hand-over are one sequence here; splitting ``ingest_file`` into its claim / stream / finish
steps is the next change this module needs (left for the throughput issue, which reworks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import logging
import queue
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.ingestion.event_rows import LINE, Row, event_row, insert_events
from alerts.models import Account, Customer, IngestFile, QuarantinedRecord
from channels import metrics
from xml_adapters.base import AccountEvent, IngestError, Notice, Record, RecordProblem
from xml_adapters.registry import detect_adapter, get_adapter

logger = logging.getLogger(__name__)
BATCH = 1000
WARNING = "warning: "  # how a file-level warning is kept among an ingest file's problems
PROGRESS_EVERY = 5000
ProgressFn = Callable[[int, int], None]  # (bytes read, records read)


class IngestReportDict(TypedDict):
    """An `IngestReport` as JSON: its fields and the two rates."""

    filename: str
    sha256: str
    adapter: str | None
    status: str
    records: int
    events_created: int
    duplicates: int
    already_stored: int
    quarantined: int
    unknown_accounts: int
    problems: list[str]
    warnings: list[str]
    error: str | None
    file_id: int | None
    bytes: int
    seconds: float
    mb_per_s: float
    records_per_s: float


@dataclass
class IngestReport:
    filename: str
    sha256: str
    adapter: str | None = None
    status: str = "done"  # "done" | "failed" | "duplicate_file"
    records: int = 0
    events_created: int = 0
    duplicates: int = 0
    # Resuming an interrupted file: events its interrupted run had stored (read again, not
    # stored twice, and not duplicates of anything else).
    already_stored: int = 0
    quarantined: int = 0
    unknown_accounts: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the file, nothing quarantined
    error: str | None = None
    file_id: int | None = None
    bytes: int = 0
    seconds: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def as_dict(self) -> IngestReportDict:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "adapter": self.adapter,
            "status": self.status,
            "records": self.records,
            "events_created": self.events_created,
            "duplicates": self.duplicates,
            "already_stored": self.already_stored,
            "quarantined": self.quarantined,
            "unknown_accounts": self.unknown_accounts,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "error": self.error,
            "file_id": self.file_id,
            "bytes": self.bytes,
            "seconds": self.seconds,
            "mb_per_s": round(self.mb_per_s, 2),
            "records_per_s": round(self.records_per_s, 1),
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


async def _owners(session: AsyncSession, accounts: set[str], cache: dict[str, int | None]) -> None:
    missing = accounts - cache.keys()
    if not missing:
        return
    rows = await session.exec(select(Account).where(col(Account.account_id).in_(missing)))
    for acc in rows.all():
        cache[acc.account_id] = acc.customer_id
    # Non-bank feeds (invoices, parcels, trips) name the customer by reference instead.
    by_ref = missing - cache.keys()
    if by_ref:
        customers = await session.exec(
            select(Customer).where(col(Customer.external_ref).in_(by_ref))
        )
        for customer in customers.all():
            cache[customer.external_ref] = customer.id
    for acc_id in missing:
        cache.setdefault(acc_id, None)


async def _store_events(
    session: AsyncSession,
    batch: Sequence[AccountEvent],
    file_id: int,
    owners: dict[str, int | None],
    report: IngestReport,
    now: datetime,
) -> None:
    """Insert a batch; rows whose (source, event id) exist already are counted as duplicates."""
    if not batch:
        return
    await _owners(session, {e.account_id for e in batch}, owners)
    rows: dict[tuple[str, str], Row] = {}
    for e in batch:
        key = (e.source, e.source_event_id)
        if key in rows:
            report.duplicates += 1
            continue
        rows[key] = event_row(e, owners.get(e.account_id))
    conn = await session.connection()
    inserted = await insert_events(conn, list(rows.values()), file_id=file_id, now=now)
    report.events_created += len(inserted)
    report.duplicates += len(rows) - len(inserted)
    unknown = [r for r in inserted if r.customer_id is None]
    report.unknown_accounts += len(unknown)
    await _quarantine(
        session,
        file_id,
        [
            RecordProblem(
                line=rows[(batch[0].source, r.source_event_id)][LINE],
                record_id=r.source_event_id,
                field="account_id",
                value=r.account_id,
                reason=f"no customer has account {r.account_id}: import the customer, "
                "then run `herald quarantine retry`",
            )
            for r in unknown
        ],
        report,
        now,
        count=False,
    )


async def _quarantine(
    session: AsyncSession,
    file_id: int,
    problems: Sequence[RecordProblem],
    report: IngestReport,
    now: datetime,
    *,
    count: bool = True,
) -> None:
    if not problems:
        return
    if count:
        report.quarantined += len(problems)
        report.problems.extend(str(p) for p in problems[: max(0, 1000 - len(report.problems))])
    table = QuarantinedRecord.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "file_id": file_id,
            "line": p.line,
            "record_id": p.record_id,
            "field": p.field,
            "value": (p.value or "")[:500] or None,
            "reason": p.reason,
            "status": "open",
            "created_at": now,
        }
        for p in problems
    ]
    # Still bad on a re-run: the row is open again.
    stmt = _insert(session, table).on_conflict_do_update(
        index_elements=["file_id", "line", "record_id"],
        set_={
            "status": "open",
            "resolved_at": None,
            "reason": sa.literal_column("excluded.reason"),
        },
    )
    conn = await session.connection()
    await conn.execute(stmt, rows)


# The id a mapping gives a record it cannot name ("Ntry 12"): a position, not an identity.
_POSITIONAL = re.compile(r"^[A-Za-z_][\w.:-]* \d+$")


async def _supersede(
    session: AsyncSession,
    row: IngestFile,
    events: Sequence[AccountEvent],
    problems: Sequence[RecordProblem],
    now: datetime,
) -> None:
    """Records of this batch that an earlier file of the same format had quarantined (a bad
    record sent again, corrected or not): the earlier open rows are resolved, so a record has
    one open row at most, this file's if it is still bad. One indexed UPDATE per batch."""
    named = {e.record_id for e in events if e.record_id} | {
        p.record_id for p in problems if p.record_id
    }
    ids = [i for i in named if not _POSITIONAL.match(i)]
    if not ids:
        return
    same_format = sa.select(col(IngestFile.id)).where(
        col(IngestFile.adapter) == row.adapter, col(IngestFile.id) != row.id
    )
    open_rows = (
        col(QuarantinedRecord.status) == "open",
        col(QuarantinedRecord.field).is_distinct_from("account_id"),
        col(QuarantinedRecord.file_id).in_(same_format),
    )
    # Most batches find no open row of the format at all: one small query (on the status
    # index) instead of the UPDATE naming every record id of the batch.
    anything = sa.select(sa.literal(1)).select_from(QuarantinedRecord).where(*open_rows).limit(1)
    if (await (await session.connection()).execute(anything)).first() is None:
        return
    await session.exec(
        sa.update(QuarantinedRecord)
        .where(col(QuarantinedRecord.record_id).in_(ids), *open_rows)
        .values(status="resolved", resolved_at=now)
    )


def _keep_copy(path: Path, store_dir: Path | None, sha256: str) -> str | None:
    if store_dir is None:
        return None
    store_dir.mkdir(parents=True, exist_ok=True)
    target = store_dir / f"{sha256}.xml"
    if not target.exists():
        tmp = target.with_suffix(".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return str(target)


async def _claimed(session: AsyncSession, report: IngestReport) -> bool:
    """Commit the file's row; False (``report`` says duplicate_file) when the same file, sent at
    the same moment by another upload, was registered first: that ingest reads it."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        other = (
            await session.exec(select(IngestFile).where(IngestFile.sha256 == report.sha256))
        ).one()
        report.status, report.file_id = "duplicate_file", other.id
        return False
    return True


async def ingest_file(
    *,
    session: AsyncSession,
    path: Path,
    adapter_key: str | None = None,
    display_name: str | None = None,
    source: str = "cli",
    store_dir: Path | None = None,
    progress: ProgressFn | None = None,
    reprocess: bool = False,
) -> IngestReport:
    """Stream one file into events. Each batch is committed, so an error keeps what came before;
    the same file again is a no-op (unless `reprocess`), the same events in another file too."""
    started = time.perf_counter()
    now = utcnow()
    name = display_name or str(path)
    report = IngestReport(filename=name, sha256=sha256_of(path), bytes=path.stat().st_size)
    row = (await session.exec(select(IngestFile).where(IngestFile.sha256 == report.sha256))).first()
    if row is not None and row.status == "done" and not reprocess:
        report.status, report.file_id, report.adapter = "duplicate_file", row.id, row.adapter
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
                source=source,
                bytes=report.bytes,
                created_at=now,
            )
            session.add(row)
        row.stored_path = row.stored_path or _keep_copy(path, store_dir, report.sha256)
        row.status = "ingesting"
        row.progress_at = now
        session.add(row)
        if not await _claimed(session, report):
            report.seconds = time.perf_counter() - started
            return report
        assert row.id is not None
        report.file_id = row.id
        created_before = row.events_created  # by an earlier, interrupted run of this file
        events: list[AccountEvent] = []
        problems: list[RecordProblem] = []
        try:
            # Parsing runs one thread ahead of the database writes (at most two batches in
            # memory), so SQLite's work overlaps the parse of the next batch.
            async for batch in read_ahead(lambda: batches(adapter.iter_records(stream, name))):
                for item in batch:
                    if isinstance(item, RecordProblem):
                        problems.append(item)
                    elif isinstance(item, Notice):
                        report.warnings.append(str(item))
                    else:
                        events.append(item)
                report.records += len(events) + len(problems)
                await _supersede(session, row, events, problems, now)
                await _store_events(session, events, row.id, owners, report, now)
                await _quarantine(session, row.id, problems, report, now)
                # Alive (not an interrupted file), and its count kept should it be interrupted.
                row.progress_at = utcnow()
                row.events_created = created_before + report.events_created
                await session.commit()
                events, problems = [], []
                if progress is not None:
                    progress(stream.tell(), report.records)
        except IngestError as exc:
            # Keep every complete record read before the error: a fixed file re-sent later
            # dedupes them by event id.
            report.status, report.error = "failed", str(exc)
        await _supersede(session, row, events, problems, now)
        await _store_events(session, events, row.id, owners, report, now)
        await _quarantine(session, row.id, problems, report, now)
    report.seconds = time.perf_counter() - started
    if created_before:  # each event the interrupted run stored was read again: not a duplicate
        report.already_stored = min(created_before, report.duplicates)
        report.duplicates -= report.already_stored
    row.status = "failed" if report.status == "failed" else "done"
    row.adapter = adapter.key
    row.records = report.records
    row.events_created = created_before + report.events_created
    row.duplicates = report.duplicates
    row.quarantined = report.quarantined
    row.unknown_accounts = report.unknown_accounts
    row.problems = [f"{WARNING}{w}" for w in report.warnings[:100]] + report.problems[:1000]
    row.error = report.error
    row.seconds = round(report.seconds, 3)
    row.finished_at = utcnow()
    session.add(row)
    await session.commit()
    if progress is not None:
        progress(report.bytes, report.records)
    logger.info(
        "ingested file_sha256=%s adapter=%s status=%s records=%s created=%s dup=%s quarantined=%s",
        report.sha256[:12],
        report.adapter,
        report.status,
        report.records,
        report.events_created,
        report.duplicates,
        report.quarantined,
    )
    metrics.ingested(report)
    return report


Item = Record


def batches(items: Iterator[Item]) -> Iterator[list[Item]]:
    """Records in batches; on a file error, the records read before it come out first."""
    batch: list[Item] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= BATCH:
                yield batch
                batch = []
    except IngestError:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


async def read_ahead(make: Callable[[], Iterator[list[Item]]]) -> AsyncIterator[list[Item]]:
    """Run a blocking batch iterator in a thread, at most two batches ahead of the consumer."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for batch in make():
                while not stop.is_set():
                    try:
                        handoff.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            handoff.put(exc)

    thread = threading.Thread(target=produce, name="herald-parse", daemon=True)
    thread.start()
    loop = asyncio.get_running_loop()
    try:
        while True:
            item = await loop.run_in_executor(None, handoff.get)
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get_nowait()
            await asyncio.sleep(0.01)


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """Files, directories (the *.xml files directly in them) and glob patterns (`**` matches
    sub-directories), in a stable order.

    A directory's sub-directories are not read: name them too, or use `DIR/**/*.xml`. A
    directory without any *.xml file, or a pattern matching nothing, is FileNotFoundError.
    """
    out: list[Path] = []
    for p in paths:
        matches = sorted(glob.glob(p, recursive=True)) if any(c in p for c in "*?[") else [p]
        if not matches:
            raise FileNotFoundError(f"{p}: no file matches")
        for match in matches:
            path = Path(match)
            if not path.is_dir():
                out.append(path)
                continue
            found = sorted(q for q in path.iterdir() if q.suffix.lower() == ".xml" and q.is_file())
            if not found and len(matches) == 1:
                below = any(q.is_dir() for q in path.iterdir())
                hint = (
                    f" (sub-directories are not read: name them, or use '{path}/**/*.xml')"
                    if below
                    else ""
                )
                raise FileNotFoundError(f"{path}: no *.xml file in this directory{hint}")
            out.extend(found)
    if not out:
        raise FileNotFoundError(f"{' '.join(paths)}: no XML file to ingest")
    return out
