"""The call-centre hours page over HTTP: everyone sees the week and the next 14 days; a
supervisor changes them with a CSRF-protected form, mistakes come back beside their field with
what was typed kept, the change is audited and the rules read the new hours."""

from __future__ import annotations

import pytest
from sqlmodel import select

from admin_ui.users import create_user
from alerts.models import AuditEntry
from callcentre.state import load_hours
from herald.runtime import Runtime
from tests.api.test_agent_pages import PASSWORD, LogIn, _words, log_in

__all__ = ["log_in"]


@pytest.fixture
async def people(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="sam", password=PASSWORD, role="supervisor")
        await create_user(session=session, username="vera", password=PASSWORD, role="viewer")


def _week(**days: str) -> dict[str, str]:
    week = {f"day_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {**week, **{f"day_{k}": v for k, v in days.items()}}


async def test_a_supervisor_sets_the_hours_and_the_preview_follows(
    runtime: Runtime, log_in: LogIn, people: None
) -> None:
    sam, csrf, _ = await log_in("sam", "/admin/hours")
    page = await sam.get("/admin/hours")
    assert page.status_code == 200
    text = _words(page)
    assert "Call-centre hours" in text and "The next 14 days" in text
    async with runtime.deps.sessions() as session:
        before = await load_hours(session)
    monday = ", ".join(before.weekly.get("mon", []))
    assert f'name="day_mon" value="{monday}"' in page.text  # the stored hours, as text
    assert '<a href="/admin/hours">Hours</a>' in page.text

    forged = await sam.post("/admin/hours", data={"timezone": "UTC", **_week(mon="09:00-17:00")})
    assert forged.status_code == 403
    wrong = await sam.post(
        "/admin/hours",
        data={
            "csrf_token": csrf,
            "timezone": "Europe/Amsterdam",
            "holidays": "",
            "blackouts": "2026-12-31: no_such_type",
            **_week(mon="17:00-09:00", tue="09:00-17:00"),
        },
    )
    assert wrong.status_code == 422
    said = _words(wrong)
    assert "“17:00-09:00” closes before it opens" in said
    assert "no_such_type: no alert type has this key" in said
    assert 'value="17:00-09:00"' in wrong.text and 'value="09:00-17:00"' in wrong.text  # kept
    async with runtime.deps.sessions() as session:
        assert await load_hours(session) == before  # nothing saved

    saved = await sam.post(
        "/admin/hours",
        data={
            "csrf_token": csrf,
            "timezone": "Europe/Amsterdam",
            "holidays": "2026-12-25\n2026-12-26",
            "blackouts": "2026-12-31: large_debit",
            **_week(mon="08:00-12:00, 13:00-17:00", fri="08:00-16:00"),
        },
    )
    assert saved.status_code == 303
    after = await sam.get(saved.headers["location"])
    assert "Saved." in _words(after)
    assert 'value="08:00-12:00, 13:00-17:00"' in after.text
    assert "2026-12-25\n2026-12-26" in after.text
    async with runtime.deps.sessions() as session:
        hours = await load_hours(session)
        audit = (await session.exec(select(AuditEntry))).all()
    assert hours.timezone == "Europe/Amsterdam"
    assert hours.weekly == {"mon": ["08:00-12:00", "13:00-17:00"], "fri": ["08:00-16:00"]}
    rules = hours.to_hours()
    assert {d.isoformat() for d in rules.holidays} == {"2026-12-25", "2026-12-26"}
    assert {d.isoformat(): t for d, t in hours.blackouts.items()} == {"2026-12-31": ["large_debit"]}
    entries = [e for e in audit if e.kind in ("call_centre", "call_centre_hours")]
    assert entries and entries[-1].actor == "sam"


async def test_a_viewer_sees_the_hours_but_cannot_change_them(
    runtime: Runtime, log_in: LogIn, people: None
) -> None:
    vera, csrf, _ = await log_in("vera", "/admin/hours")
    page = await vera.get("/admin/hours")
    assert page.status_code == 200
    assert "Only supervisors and administrators can change the hours." in _words(page)
    assert "Save the hours" not in page.text and "<fieldset disabled>" in page.text
    refused = await vera.post(
        "/admin/hours", data={"csrf_token": csrf, "timezone": "UTC", **_week(mon="09:00-17:00")}
    )
    assert refused.status_code == 403
