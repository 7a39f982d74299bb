"""Quarantine: bad records and unknown accounts are set aside with precise reasons, listed, and
re-processed after the fix without duplicates."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlmodel import select

from alerts.columns import utcnow
from alerts.customers.records import CustomerIn, upsert_customer
from alerts.decisions.evaluate import evaluate_pending
from alerts.ingestion.files import ingest_file
from alerts.ingestion.quarantine import list_quarantine, retry_quarantine
from alerts.models import Alert, Event, IngestFile
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.conftest import REPO
from tests.factories import api_headers

DEMO = REPO / "examples" / "feeds" / "camt054-demo.xml"


def broken_copy(tmp_path: Path) -> Path:
    """The demo feed with Bram's amount mistyped."""
    text = DEMO.read_text()
    bad = text.replace('<Amt Ccy="EUR">650.00</Amt>', '<Amt Ccy="EUR">65O.00</Amt>', 1)
    assert bad != text
    path = tmp_path / "feed.xml"
    path.write_text(bad)
    return path


async def test_bad_record_and_unknown_account_are_quarantined_with_reasons(
    runtime: Runtime, tmp_path: Path
) -> None:
    async with runtime.deps.sessions() as session:
        report = await ingest_file(
            session=session, path=broken_copy(tmp_path), store_dir=tmp_path / "kept"
        )
        rows = await list_quarantine(session=session)
    assert (report.records, report.events_created, report.quarantined) == (7, 6, 1)
    assert report.unknown_accounts == 6  # no customers imported yet
    bad = [r for r in rows if r["field"] != "account_id"]
    assert len(bad) == 1
    assert bad[0]["line"] and bad[0]["value"] == "65O.00" and "Amt" in (bad[0]["field"] or "")
    assert "feed.xml" in bad[0]["file"]
    unknown = [r for r in rows if r["field"] == "account_id"]
    assert {r["value"] for r in unknown} >= {"NL91ABNA0417164300", "BE68539007547034"}
    assert "herald quarantine retry" in unknown[0]["reason"]


async def test_retry_after_fixes_creates_only_what_was_missing(
    runtime: Runtime, tmp_path: Path
) -> None:
    deps = runtime.deps
    broken = broken_copy(tmp_path)
    async with deps.sessions() as session:
        await ingest_file(session=session, path=broken, store_dir=tmp_path / "kept")
    assert await evaluate_pending(deps=deps, now=utcnow()) == []  # nobody to alert yet

    # The fixes: the customers are imported and the export is corrected in place.
    async with deps.sessions() as session:
        await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref="C-1001",
                name="Alice Martin",
                accounts=["NL91ABNA0417164300"],
                phones=["+15550000001"],
            ),
        )
        await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref="C-1002",
                name="Bram de Vries",
                accounts=["NL20INGB0001234567"],
                phones=["+15550000002"],
            ),
        )
        await session.commit()
        kept = (await session.exec(select(IngestFile))).one().stored_path
    assert kept is not None
    Path(kept).write_text(DEMO.read_text())  # e.g. the mapping/export fixed, file re-read

    async with deps.sessions() as session:
        result = await retry_quarantine(session=session, now=utcnow())
    assert result.accounts_resolved == 1  # Alice's event (Bram's was the bad record)
    assert result.files[0]["events_created"] == 1  # Bram's entry now parses
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == 2
    async with deps.sessions() as session:
        assert len((await session.exec(select(Event))).all()) == 7  # no duplicates
        assert len((await session.exec(select(Alert))).all()) == 2
        open_rows = await list_quarantine(session=session)
    assert all(r["field"] == "account_id" for r in open_rows)  # only strangers remain
    assert all(r["value"] not in ("NL91ABNA0417164300", "NL20INGB0001234567") for r in open_rows)


async def test_api_ingest_report_and_quarantine(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as client:
        sent = await client.post(
            "/api/v1/ingest",
            content=broken_copy(tmp_path).read_bytes(),
            headers={**api_headers(settings), "X-Filename": "feed.xml"},
        )
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["adapter"] == "camt054" and body["quarantined"] == 1
        report = await client.get(body["report_url"], headers=api_headers(settings))
        assert report.json()["status"] == "done" and report.json()["quarantined"] == 1
        listed = await client.get("/api/v1/quarantine", headers=api_headers(settings))
        assert any(r["value"] == "65O.00" for r in listed.json())
        empty = await client.post("/api/v1/ingest", content=b"", headers=api_headers(settings))
        assert empty.status_code == 400
        junk = await client.post(
            "/api/v1/ingest", content=b"<nope/>", headers=api_headers(settings)
        )
        assert junk.status_code == 422 and "Known formats" in junk.json()["error"]
