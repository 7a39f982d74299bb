"""The call-centre hours page: the form, its inline errors, saving, the 14-day preview."""

from __future__ import annotations

from datetime import date

import httpx

from admin_ui.hours import parse_form, preview
from herald.runtime import Runtime
from tests.api.test_admin_ui import csrf_of
from tests.api.test_studio_pages import _login


def test_parse_form_reports_each_bad_field() -> None:
    hours, errors = parse_form(
        {"timezone": "Mars/Olympus", "day_mon": "17:00-09:00", "holidays": "25-12-2026"}
    )
    assert hours is None
    assert "Mars/Olympus" in errors["timezone"]
    assert "17:00-09:00" in errors["day_mon"]
    assert "YYYY-MM-DD" in errors["holidays"]
    _, errors = parse_form({"timezone": "UTC", "blackouts": "2026-12-31"})
    assert "is not a blackout we understand" in errors["blackouts"]


def test_preview_marks_weekends_and_holidays() -> None:
    hours, errors = parse_form(
        {
            "timezone": "Europe/Amsterdam",
            "day_mon": "08:00-12:00, 13:00-17:00",
            "day_tue": "09:00-17:00",
            "holidays": "2026-12-08",
        }
    )
    assert hours is not None and not errors
    days = preview(hours, date(2026, 12, 7))  # a Monday
    assert len(days) == 14
    assert days[0].open and days[0].hours == "08:00-12:00, 13:00-17:00"
    assert not days[1].open and days[1].why == "Holiday"
    assert not days[2].open and days[2].hours == "Closed"
    hours, _ = parse_form({"timezone": "UTC", "blackouts": "2026-12-09: large_debit, low_balance"})
    assert hours is not None
    assert preview(hours, date(2026, 12, 7))[2].blackout == ("large_debit", "low_balance")


async def test_hours_page_saves_and_shows_errors(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "sue", "supervisor")
    page = await client.get("/admin/hours")
    assert page.status_code == 200 and "The next 14 days" in page.text
    assert 'href="/admin/hours"' in page.text
    csrf = csrf_of(page.text)
    bad = await client.post(
        "/admin/hours", data={"csrf_token": csrf, "timezone": "UTC", "day_mon": "17:00-09:00"}
    )
    assert bad.status_code == 422 and "is not a time range we understand" in bad.text
    assert 'value="17:00-09:00"' in bad.text
    unknown = await client.post(
        "/admin/hours",
        data={"csrf_token": csrf, "timezone": "UTC", "blackouts": "2030-01-02: larg_debit"},
    )
    assert unknown.status_code == 422 and "There is no alert type larg_debit" in unknown.text
    ok = await client.post(
        "/admin/hours",
        data={
            "csrf_token": csrf,
            "timezone": "Europe/Amsterdam",
            "day_mon": "07:00-19:00",
            "blackouts": "2030-01-02: large_debit",
        },
    )
    assert ok.status_code == 303
    page = await client.get("/admin/hours?saved=1")
    assert "Saved." in page.text and "07:00-19:00" in page.text
    assert 'value="Europe/Amsterdam"' in page.text
    assert "2030-01-02: large_debit</textarea>" in page.text


async def test_hours_page_needs_call_centre(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await _login(client, runtime, "ed", "editor")
    assert (await client.get("/admin/hours")).status_code == 403
    assert 'href="/admin/hours"' not in (await client.get("/admin/alert-types")).text
