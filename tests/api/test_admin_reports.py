"""The report pages over HTTP: what a viewer sees (the hand-counted November of
tests/service/alerts/reports/scenario.py), the CSV downloads, the call-count upload (CSRF,
admins only), bad dates explained, agents refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from admin_ui.users import create_user
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import seed_november

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOV = "since=2026-11-01&until=2026-11-30"
LogIn = Callable[[str], Awaitable[tuple[httpx.AsyncClient, str]]]


@pytest.fixture
async def log_in(settings: Settings, runtime: Runtime) -> AsyncIterator[LogIn]:
    app = create_app(settings, runtime)
    clients: list[httpx.AsyncClient] = []
    async with runtime.deps.sessions() as session:
        await seed_november(session)
        for role in ("admin", "viewer", "agent"):
            await create_user(session=session, username=role, password=PASSWORD, role=role)

    async def go(username: str) -> tuple[httpx.AsyncClient, str]:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url)
        clients.append(c)
        form = await c.get("/admin/login")
        token = _CSRF.search(form.text)
        assert token
        done = await c.post(
            "/admin/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert done.status_code == 303, done.text
        page = await c.get("/admin/reports")
        token = _CSRF.search(page.text)
        assert token, page.text[:300]
        return c, token.group(1)

    yield go
    for c in clients:
        await c.aclose()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_viewer_reads_every_report_and_an_agent_is_refused(log_in: LogIn) -> None:
    viewer, _ = await log_in("viewer")
    index = await viewer.get("/admin/reports")
    assert index.status_code == 200 and 'href="/admin/reports/funnel"' in index.text
    funnel = await viewer.get(f"/admin/reports/funnel?{NOV}&alert_type=large_debit")
    assert funnel.status_code == 200
    text = _text(funnel.text)
    assert "<svg" in funnel.text and 'data-chart="funnel"' in funnel.text
    assert "Events decided 10" in text and "Alerts raised 6 · 60%" in text
    assert "Resolved 2 · 100%" in text
    assert "Condition not met 2" in text
    # November is over: read from the daily summary (the rollup), which the page says.
    assert re.search(r"Figures as of \d{4}-\d\d-\d\d \d\d:\d\d UTC: past days from the daily", text)
    rates = _text((await viewer.get(f"/admin/reports/response-rates?{NOV}")).text)
    assert "fewer than 20 alerts" in rates and "5 min" in rates  # SMS answered after 300 s
    delivery = _text((await viewer.get(f"/admin/reports/delivery?{NOV}")).text)
    assert "Attempts 9" in delivery and "Fallbacks 2" in delivery and "21211" in delivery
    calls = (await viewer.get(f"/admin/reports/calls-avoided?{NOV}")).text
    assert "No call counts imported yet" in calls
    assert "Import call counts" not in calls  # importing needs the ingest permission
    assert (await viewer.get(f"/admin/reports/choices?{NOV}")).status_code == 200
    nav = (await viewer.get("/admin/customers")).text
    assert 'href="/admin/reports"' in nav

    agent, _ = await log_in("agent")
    refused = await agent.get("/admin/reports/funnel")
    assert refused.status_code == 403 and "Your role does not allow this" in refused.text
    assert 'href="/admin/reports"' not in (await agent.get("/admin/customers")).text


async def test_the_csv_download_has_the_pages_numbers(log_in: LogIn) -> None:
    viewer, _ = await log_in("viewer")
    got = await viewer.get(f"/admin/reports/funnel.csv?{NOV}&table=steps")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    lines = got.text.splitlines()
    header = lines[0].split(",")
    large = dict(zip(header, lines[1].split(","), strict=True))
    assert large["alert_type"] == "large_debit" and large["events"] == "10"
    assert large["resolved"] == "2" and large["expired"] == "1"
    bad = await viewer.get("/admin/reports/funnel.csv?table=nothing")
    assert bad.status_code == 400 and "steps, skip_reasons" in bad.text


async def test_an_admin_uploads_call_counts_and_sees_calls_avoided(log_in: LogIn) -> None:
    admin, csrf = await log_in("admin")
    csv_text = "date,reason,calls,alert_type\n2026-10-01,card query,30,large_debit\n"
    csv_text += "2026-11-10,card query,12,large_debit\n2026-11-11,card query,oops,large_debit\n"
    files = {"file": ("telephony.csv", csv_text.encode(), "text/csv")}
    refused = await admin.post("/admin/reports/calls-avoided/import", files=files)
    assert refused.status_code == 403  # no CSRF token
    done = await admin.post(
        "/admin/reports/calls-avoided/import", files=files, data={"csrf_token": csrf}
    )
    assert done.status_code == 200, done.text[:500]
    text = _text(done.text)
    assert (
        "Imported telephony.csv: 2 new day and reason count(s), 0 replaced, 1 line(s) rejected"
        in text
    )
    assert "line 4: calls “oops” is not a whole number" in text
    page = _text((await admin.get(f"/admin/reports/calls-avoided?{NOV}&cost_per_call=2.50")).text)
    # 30 calls on the one day before go-live, 12 on the one day after: 18 avoided at 2.50.
    assert "Calls avoided" in page and " 18 " in page and "45.00" in page
    empty = await admin.post("/admin/reports/calls-avoided/import", data={"csrf_token": csrf})
    assert empty.status_code == 400 and "Choose the CSV file" in empty.text


async def test_a_date_that_is_not_one_is_explained(log_in: LogIn) -> None:
    viewer, _ = await log_in("viewer")
    got = await viewer.get("/admin/reports/delivery?since=31/11/2026")
    assert got.status_code == 400
    assert "is not a date: use the form 2026-01-31" in got.text
