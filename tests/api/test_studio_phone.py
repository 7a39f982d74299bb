"""The studio's "Try it as the customer" phone over HTTP: a trial call driven through Herald's
real voice webhooks (signed like Twilio's), pressing 1 reaching the agent transfer."""

from __future__ import annotations

import re

import httpx
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.models import Alert, AuditEntry, DeliveryAttempt, HandOff
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.test_admin_ui import csrf_of
from tests.api.test_studio_audio import engine  # noqa: F401  (espeak-ng, or fail under CI)
from tests.api.test_studio_pages import _login
from tests.conftest import Stack
from tests.factories import api_headers

PHONE = "/admin/alert-types/large_debit/phone"


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} in the page"
    return found.group(1).replace("&amp;", "&")


async def test_pressing_1_reaches_the_agent_transfer_through_the_real_webhooks(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "ann", "admin")
    page = await client.get(PHONE)
    assert page.status_code == 200 and "Start the call" in page.text
    csrf = csrf_of(page.text)

    refused = await client.post(PHONE, data={})
    assert refused.status_code == 403  # no CSRF token

    rang = await client.post(PHONE, data={"csrf_token": csrf})
    assert rang.status_code == 200, rang.text
    assert "The customer hears" in rang.text and "Press 1" in rang.text
    assert "Speak to an agent" in rang.text  # the real call script's menu, from the draft
    action = _hidden(rang.text, "action")
    assert "/webhooks/twilio/voice/" in action and "/gather" in action

    pressed = await client.post(
        PHONE,
        data={
            "csrf_token": csrf,
            "attempt": _hidden(rang.text, "attempt"),
            "action": action,
            "digits": "1",
        },
    )
    assert pressed.status_code == 200, pressed.text
    assert "You pressed <strong>1</strong>" in pressed.text
    assert "Transferred to an agent" in pressed.text
    assert "The agent hears first" in pressed.text  # the whisper route's own words
    assert "no agent sees it" in pressed.text

    async with runtime.deps.sessions() as session:
        alert = (await session.exec(select(Alert).where(col(Alert.trial)))).one()
        handoff = (
            await session.exec(select(HandOff).where(col(HandOff.alert_id) == alert.id))
        ).one()
        attempt = (
            await session.exec(
                select(DeliveryAttempt).where(col(DeliveryAttempt.alert_id) == alert.id)
            )
        ).one()
    # The real keypress handler recorded the answer and made the live transfer; the trial
    # closed it at once so no agent is offered a pretend customer.
    assert handoff.kind == "live_transfer" and handoff.closed_at is not None
    assert attempt.provider_sid and attempt.provider_sid.startswith("CAtrial")


async def test_a_forged_action_is_refused_with_a_message(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "ann", "admin")
    csrf = csrf_of((await client.get(PHONE)).text)
    bad = await client.post(
        PHONE,
        data={
            "csrf_token": csrf,
            "attempt": "999",
            "action": "http://elsewhere/x",
            "digits": "1",
        },
    )
    assert bad.status_code == 422
    assert "Start a new call" in bad.text and "Traceback" not in bad.text


async def test_a_test_send_goes_to_the_simulated_recipient_and_is_audited(
    client: httpx.AsyncClient,
    runtime: Runtime,
    stack: Stack,  # the Twilio simulator and the SMTP sink, as in the embedded default
) -> None:
    await _login(client, runtime, "ann", "admin")
    csrf = csrf_of((await client.get(PHONE)).text)
    send = "/admin/alert-types/large_debit/test-send"
    bad = await client.post(send, data={"csrf_token": csrf, "channel": "sms", "to": "call me"})
    assert bad.status_code == 422 and "international form" in bad.text
    sent = await client.post(
        send, data={"csrf_token": csrf, "channel": "sms", "to": "+15555550100"}
    )
    assert sent.status_code == 200, sent.text
    notice = sent.text[sent.text.find("Send a test") :]
    assert "Sent</span>" in sent.text and "a pretend recipient" in sent.text, notice
    async with runtime.deps.sessions() as session:
        alert = (await session.exec(select(Alert).where(col(Alert.trial)))).one()
        attempt = (
            await session.exec(
                select(DeliveryAttempt).where(col(DeliveryAttempt.alert_id) == alert.id)
            )
        ).one()
        entries = (
            await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "test_send"))
        ).all()
    assert attempt.channel == "sms" and attempt.status == "sent" and attempt.provider_sid
    assert attempt.provider_sid in sent.text
    assert [e.actor for e in entries] == ["ann"]


async def test_each_sentence_of_the_trial_call_can_be_heard(
    client: httpx.AsyncClient,
    runtime: Runtime,
    engine: None,  # noqa: F811  (espeak-ng, or fail under CI)
) -> None:
    await _login(client, runtime, "ann", "admin")
    rang = await client.post(PHONE, data={"csrf_token": csrf_of((await client.get(PHONE)).text)})
    sources = re.findall(
        r'<audio controls preload="none" aria-label="[^"]*" src="([^"]+)"', rang.text
    )
    assert sources, "no Listen control beside the sentences"
    heard = await client.get(sources[0].replace("&amp;", "&"))
    assert heard.status_code == 200 and heard.headers["content-type"] == "audio/wav"
    assert heard.content[:4] == b"RIFF" and len(heard.content) > 8000
    empty = await client.get(f"{PHONE}/say.wav?text=")
    assert empty.status_code == 422 and "Nothing to say" in empty.text


async def test_replying_1_to_the_test_sms_gets_the_real_sms_handlers_answer(
    client: httpx.AsyncClient,
    runtime: Runtime,
    stack: Stack,
) -> None:
    await _login(client, runtime, "ann", "admin")
    csrf = csrf_of((await client.get(PHONE)).text)
    sent = await client.post(
        "/admin/alert-types/large_debit/test-send",
        data={"csrf_token": csrf, "channel": "sms", "to": "+15555550100"},
    )
    assert "Reply as the customer" in sent.text
    reply = "/admin/alert-types/large_debit/sms-reply"
    empty = await client.post(reply, data={"csrf_token": csrf, "body": ""})
    assert empty.status_code == 422 and "Type the reply" in empty.text
    answered = await client.post(reply, data={"csrf_token": csrf, "body": "1"})
    assert answered.status_code == 200, answered.text
    assert "Herald answered</span>" in answered.text, answered.text[-3000:]
    async with runtime.deps.sessions() as session:
        handoffs = (await session.exec(select(HandOff))).all()
    # The real inbound handler took "1" as "speak to an agent" for the trial alert; the trial
    # closed the hand-off so no agent is offered it.
    assert len(handoffs) == 1 and handoffs[0].closed_at is not None
    assert "no agent sees it" in answered.text


async def test_a_trial_call_is_left_out_of_the_reports(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    await _login(client, runtime, "ann", "admin")
    csrf = csrf_of((await client.get(PHONE)).text)
    rang = await client.post(PHONE, data={"csrf_token": csrf})
    data = {
        "csrf_token": csrf,
        "attempt": _hidden(rang.text, "attempt"),
        "action": _hidden(rang.text, "action"),
        "digits": "1",
    }
    assert "Transferred to an agent" in (await client.post(PHONE, data=data)).text
    today = utcnow().date().isoformat()
    funnel = await client.get(
        "/api/v1/reports/funnel",
        params={"since": today, "until": today},
        headers=api_headers(settings),
    )
    assert funnel.status_code == 200, funnel.text
    assert all(row["alerts"] == 0 for row in funnel.json()["rows"]), funnel.json()["rows"]


async def test_a_viewer_can_try_the_call_but_is_not_offered_the_test_send(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "vic", "viewer")
    page = await client.get(PHONE)
    assert page.status_code == 200
    assert "Start the call" in page.text
    assert "/test-send" not in page.text and "Sending a test is for editors" in page.text
    refused = await client.post(
        "/admin/alert-types/large_debit/test-send",
        data={"csrf_token": csrf_of(page.text), "channel": "sms", "to": "+15555550100"},
    )
    assert refused.status_code == 403
