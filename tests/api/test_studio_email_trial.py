"""The studio's trial email over HTTP: opened from the draft (never sent), framed with its real
signed /r/ buttons opening in a new tab; its answers go through the real /r/ code but reach no
agent, place no call and forward to nobody."""

from __future__ import annotations

import re

import httpx
from sqlmodel import col, select

from alerts.lifecycle import HANDOFF_OPEN
from alerts.models import Alert, AuditEntry, DeliveryAttempt, HandOff, Response
from herald.runtime import Runtime
from tests.api.test_admin_ui import csrf_of
from tests.api.test_studio_pages import _login

BASE = "/admin/alert-types/large_debit"


async def _open(client: httpx.AsyncClient, runtime: Runtime) -> tuple[str, dict[str, str]]:
    """Open the trial email as an admin: its page, and its buttons' /r/ paths by label."""
    await _login(client, runtime, "ann", "admin")
    csrf = csrf_of((await client.get(f"{BASE}/phone")).text)
    assert (await client.post(f"{BASE}/email-trial", data={})).status_code == 403  # no CSRF
    # In English: the seeded type has five languages, and the labels below are English.
    opened = await client.post(f"{BASE}/email-trial", data={"csrf_token": csrf, "locale": "en"})
    assert opened.status_code == 303, opened.text
    page = opened.headers["location"]
    assert re.search(r"/email-trial/\d+#trial-email$", page)
    frame = await client.get(page.split("#")[0] + "/email.html")
    assert frame.status_code == 200 and '<base target="_blank">' in frame.text
    assert "frame-ancestors 'self'" in frame.headers["content-security-policy"]
    links = {
        label.strip(): href.split("/r/", 1)[1]
        for href, label in re.findall(r'<a href="([^"]*/r/[^"]+)"[^>]*>([^<]+)</a>', frame.text)
    }
    return page, links


async def test_the_trial_email_is_built_by_the_sending_code_and_sent_to_nobody(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page, links = await _open(client, runtime)
    assert {"Speak to an agent", "Call me now"} <= set(links)
    shown = await client.get(page.split("#")[0])
    assert "sam.jansen@example.com" in shown.text and "No answer yet" in shown.text
    async with runtime.deps.sessions() as session:
        [attempt] = (await session.exec(select(DeliveryAttempt))).all()
        alert = await session.get(Alert, attempt.alert_id)
        audited = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "trial_email"))
        ).all()
    assert alert is not None and alert.trial and attempt.channel == "email"
    assert attempt.provider_sid is None  # never handed to a provider
    assert len(audited) == 1


async def test_a_trial_emails_answers_reach_no_agent_call_or_forward(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page, links = await _open(client, runtime)
    agent = await client.post(f"/r/{links['Speak to an agent']}", data={"confirm": "yes"})
    assert agent.status_code == 200 and "Thank you" in agent.text
    again = await client.post(f"/r/{links['Call me now']}", data={"confirm": "yes"})
    assert again.status_code == 200  # one answer per email: "already answered"
    [forward] = [v for v in links.values() if v.startswith("f/")]
    sent = await client.post(
        f"/r/{forward}", data={"confirm": "yes", "to": "someone@example.org", "note": ""}
    )
    assert "Not forwarded: this is a studio trial" in sent.text
    shown = await client.get(page.split("#")[0])
    assert "closed as it was created: no agent sees it" in shown.text
    async with runtime.deps.sessions() as session:
        responses = (await session.exec(select(Response))).all()
        open_ones = (
            await session.exec(select(HandOff).where(col(HandOff.status).in_(HANDOFF_OPEN)))
        ).all()
        alerts = (await session.exec(select(Alert))).all()
    assert [(r.channel, r.intent) for r in responses] == [("email", "agent")]
    assert open_ones == []
    assert all(a.trial for a in alerts)  # no call-now or forward alert was made


async def test_a_trial_call_me_now_places_no_call(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, links = await _open(client, runtime)
    answered = await client.post(f"/r/{links['Call me now']}", data={"confirm": "yes"})
    assert answered.status_code == 200
    assert "nobody needs to call you now" in answered.text
    async with runtime.deps.sessions() as session:
        alerts = (await session.exec(select(Alert))).all()
        handoffs = (await session.exec(select(HandOff))).all()
    assert all(a.trial for a in alerts) and len(alerts) == 1
    assert [h.closed_at is not None for h in handoffs] == [True]
