"""Ingestion: duplicates by file and by event, a broken file keeps what came before it."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from alerts.ingestion.files import ingest_file
from alerts.models import Event, IngestFile
from herald.runtime import Runtime
from tests.conftest import REPO

DEMO = REPO / "examples" / "feeds" / "camt054-demo.xml"


async def test_truncated_file_fails_clearly_and_fixed_file_adds_only_the_rest(
    runtime: Runtime, tmp_path: Path
) -> None:
    text = DEMO.read_text()
    cut = text.index("<Ntfctn>", text.index("DEMO-0003"))  # three whole notifications, a bit more
    broken = tmp_path / "broken.xml"
    broken.write_text(text[: cut + 40])
    async with runtime.deps.sessions() as session:
        first = await ingest_file(session=session, path=broken)
    assert first.status == "failed"
    assert first.error and "broken.xml, line" in first.error and "not well-formed" in first.error
    assert first.events_created == 3

    async with runtime.deps.sessions() as session:
        fixed = await ingest_file(session=session, path=DEMO)
        assert (fixed.status, fixed.events_created, fixed.duplicates) == ("done", 4, 3)
        events = (await session.exec(select(Event))).all()
        files = (await session.exec(select(IngestFile))).all()
    assert len(events) == 7
    assert sorted(f.status for f in files) == ["done", "failed"]


async def test_unknown_format_names_what_it_found(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "statement.xml"
    path.write_text('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>')
    async with runtime.deps.sessions() as session:
        report = await ingest_file(session=session, path=path)
    assert report.status == "failed"
    assert report.error and "pain.001.001.03" in report.error
    assert "Known formats: camt054" in report.error


async def test_bespoke_feed_finds_customers_by_reference(runtime: Runtime) -> None:
    from alerts.customers.records import CustomerIn, upsert_customer

    async with runtime.deps.sessions() as session:
        await upsert_customer(
            session=session,
            data=CustomerIn(external_ref="C-1001", name="Alice Martin", phones=["+15550000001"]),
        )
        await session.commit()
        report = await ingest_file(
            session=session, path=REPO / "examples" / "feeds" / "bespoke" / "shipment-status.xml"
        )
        events = (await session.exec(select(Event).where(Event.account_id == "C-1001"))).all()
    assert report.adapter == "shipment_status" and report.quarantined == 1
    assert events and all(e.customer_id is not None for e in events)


async def test_a_statement_with_neither_balances_nor_entries_is_reported_as_a_warning(
    runtime: Runtime, tmp_path: Path
) -> None:
    from tests.unit.xml_adapters.test_camt_entries import statement

    path = tmp_path / "empty-statement.xml"
    path.write_bytes(statement("", version="08"))
    async with runtime.deps.sessions() as session:
        report = await ingest_file(session=session, path=path)
        [row] = (await session.exec(select(IngestFile))).all()
    assert (report.status, report.records, report.quarantined) == ("done", 0, 0)
    [warning] = report.warnings
    assert warning.startswith("line 3: ") and "neither balances (Bal) nor entries" in warning
    assert row.problems == [f"warning: {warning}"]
    assert report.as_dict()["warnings"] == [warning]
