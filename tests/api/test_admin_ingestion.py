"""The ingestion page: files with their reports, quarantined records with reasons."""

from __future__ import annotations

from pathlib import Path

import httpx

from alerts.ingestion.files import ingest_file
from herald.runtime import Runtime
from tests.api.test_admin_ui import login, staff  # noqa: F401 (fixtures)
from tests.service.test_quarantine import broken_copy


async def test_ingestion_page_shows_reports_and_quarantine(
    client: httpx.AsyncClient,
    staff: None,  # noqa: F811
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    async with runtime.deps.sessions() as session:
        await ingest_file(session=session, path=broken_copy(tmp_path), display_name="feed.xml")
    logged_out = await client.get("/admin/ingestion")
    assert logged_out.status_code == 303
    await login(client)
    page = await client.get("/admin/ingestion")
    assert page.status_code == 200
    text = page.text
    assert "feed.xml" in text and "camt054" in text
    assert "65O.00" in text  # the bad amount, quarantined with its reason
    assert "no customer has account BE68539007547034" in text
    only = await client.get("/admin/ingestion", params={"file_id": 999})
    assert "Nothing in quarantine" in only.text


async def test_ingestion_page_shows_a_file_warning(
    client: httpx.AsyncClient,
    staff: None,  # noqa: F811
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    from tests.unit.xml_adapters.test_camt_entries import statement

    path = tmp_path / "empty.xml"
    path.write_bytes(statement("", version="08"))
    async with runtime.deps.sessions() as session:
        await ingest_file(session=session, path=path, display_name="empty.xml")
    await login(client)
    text = (await client.get("/admin/ingestion")).text
    assert "Warning: line 3:" in text and "neither balances (Bal) nor entries" in text


async def _interrupted_file(runtime: Runtime, tmp_path: Path) -> int:
    """A file a crash left half-read: 'ingesting', its last batch three minutes ago."""
    from datetime import timedelta

    from alerts.columns import utcnow
    from alerts.models import IngestFile

    async with runtime.deps.sessions() as session:
        report = await ingest_file(
            session=session, path=broken_copy(tmp_path), display_name="night.xml"
        )
        row = await session.get(IngestFile, report.file_id)
        assert row is not None
        row.status, row.finished_at = "ingesting", None
        row.progress_at = utcnow() - timedelta(minutes=3)
        session.add(row)
        await session.commit()
        return row.id or 0


async def test_a_file_left_half_read_is_shown_as_interrupted_with_the_command(
    client: httpx.AsyncClient,
    staff: None,  # noqa: F811
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    file_id = await _interrupted_file(runtime, tmp_path)
    await login(client)
    text = (await client.get("/admin/ingestion")).text
    assert "Interrupted" in text and f"herald ingest --resume {file_id}" in text
    from tests.factories import api_headers

    headers = api_headers(runtime.settings)
    reports = (await client.get("/api/v1/ingest/files", headers=headers)).json()
    [mine] = [r for r in reports if r["id"] == file_id]
    assert mine["status"] == "interrupted"
    assert mine["resume"] == f"herald ingest --resume {file_id}"
