"""The whole loop over real HTTP: XML in, voice/SMS/email out through the Twilio simulator and a
real SMTP server, answers back through signed webhooks, hand-offs to the call centre."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from alerts.customers import import_customers
from alerts.models import Alert, AttemptEvent, Decision, DeliveryAttempt, Response
from callcentre.models import HandOff
from herald.worker import drain
from tests.conftest import REPO, Stack
from tests.factories import api_headers

pytestmark = pytest.mark.integration
DEMO_SCENARIO: dict[str, Any] = {
    "default": {"voice": {"answer": "human", "presses": []}, "sms": {"delivery": "delivered"}},
    "recipients": {
        "+15550000001": {"voice": {"answer": "human", "presses": ["1"]}},
        "+15550000002": {"voice": {"answer": "human", "presses": ["2"]}},
        "+15550000003": {
            "voice": {"answer": "no-answer"},
            "sms": {"delivery": "delivered", "reply": "2"},
        },
    },
}


async def _load_demo(stack: Stack) -> dict[str, Any]:
    async with stack.runtime.deps.sessions() as session:
        await import_customers(session=session, path=REPO / "examples" / "customers.csv")
    body = (REPO / "examples" / "feeds" / "camt054-demo.xml").read_bytes()
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        resp = await client.post(
            "/api/v1/ingest/camt054",
            content=body,
            headers={**api_headers(stack.settings), "X-Filename": "camt054-demo.xml"},
        )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def _by_customer(
    stack: Stack, ref: str
) -> tuple[Alert, list[DeliveryAttempt], list[Response], list[HandOff]]:
    from alerts.models import Customer

    async with stack.runtime.deps.sessions() as session:
        customer = (await session.exec(select(Customer).where(Customer.external_ref == ref))).one()
        alert = (await session.exec(select(Alert).where(Alert.customer_id == customer.id))).one()
        attempts = list(
            (
                await session.exec(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.alert_id == alert.id)
                    .order_by(DeliveryAttempt.step_index)
                )
            ).all()
        )
        responses = list(
            (await session.exec(select(Response).where(Response.alert_id == alert.id))).all()
        )
        handoffs = list(
            (await session.exec(select(HandOff).where(HandOff.alert_id == alert.id))).all()
        )
    return alert, attempts, responses, handoffs


async def test_whole_loop(stack: Stack) -> None:
    stack.set_scenario(DEMO_SCENARIO)
    report = await _load_demo(stack)
    assert report["events_created"] == 7
    assert report["alerts_created"] == 5  # four large debits, and Eva's payment received
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)

    # Alice pressed 1: live transfer; the simulator dialled the call centre.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1001")
    assert alert.status == "closed"
    assert [a.channel for a in attempts] == ["voice"]
    assert [(r.channel, r.key, r.intent) for r in responses] == [("voice", "1", "agent")]
    assert [h.kind for h in handoffs] == ["live_transfer"]
    assert handoffs[0].context["event"]["amount"] == "1249.99"
    assert handoffs[0].context["customer"]["name"] == "Alice Martin"
    call = next(c for c in stack.sim.state.calls.values() if c.to == "+15550000001")
    dials = [t for t in call.transcript if t.get("verb") == "Dial"]
    assert dials and dials[0]["number"] == stack.settings.callcentre.phone_number
    says = " ".join(t.get("text", "") for t in call.transcript if t.get("verb") == "Say")
    assert "1249.99 EUR" in says and "Electro World Online" in says and "press 1" in says

    # Bram pressed 2: confirmed, closed, nobody needs to call him.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1002")
    assert alert.status == "closed" and "confirmed" in (alert.closed_reason or "")
    assert [r.intent for r in responses] == ["confirm"] and handoffs == []

    # Chloe did not answer: the SMS followed, she replied 2.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1003")
    assert [(a.channel, a.status) for a in attempts] == [
        ("voice", "no_answer"),
        ("sms", "delivered"),
    ]
    assert [(r.channel, r.intent) for r in responses] == [("sms", "confirm")]
    assert alert.status == "closed"
    sms = next(m for m in stack.sim.state.messages.values() if m.to == "+15550000003")
    assert "Reply 1" in sms.body and "980.40 EUR" in sms.body

    # Daniel prefers email: a real SMTP server received a multipart message with links.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1004")
    assert [(a.channel, a.status) for a in attempts] == [("email", "sent")]
    assert alert.status == "delivered"
    mails = [m for m in stack.sink.messages if m["To"] == "daniel@example.com"]
    assert len(mails) == 1
    assert mails[0].get_body(preferencelist=("html",)) is not None
    text = mails[0].get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"Speak to an agent: (\S+)", text)
    assert link
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(link.group(1))
        assert page.status_code == 200
        _, _, before, _ = await _by_customer(stack, "C-1004")
        assert before == []  # opening the link (or a mail scanner) does nothing
        done = await client.post(link.group(1), data={"confirm": "yes"})
        assert done.status_code == 200
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1004")
    assert [(r.channel, r.intent) for r in responses] == [("email", "agent")]
    assert [h.kind for h in handoffs] == ["callback"]
    assert alert.status == "closed"

    # Eva's salary came in: payment_received, by SMS (her first channel), nothing to answer.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1005")
    assert alert.alert_type == "payment_received" and alert.status == "delivered"
    assert [(a.channel, a.status) for a in attempts] == [("sms", "delivered")]

    # Every event has a decision with a reason; small debits and strangers are skipped.
    async with stack.runtime.deps.sessions() as session:
        decisions = (await session.exec(select(Decision))).all()
    reasons = [d.reason for d in decisions]
    assert len(reasons) == 8
    assert any("does not hold (event.amount = 42.10" in r for r in reasons)
    assert any("no customer owns account BE68539007547034" in r for r in reasons)
    assert all(d.detail.get("reason") == d.reason for d in decisions)


async def test_same_file_twice_creates_nothing_new(stack: Stack) -> None:
    first = await _load_demo(stack)
    again = await _load_demo(stack)
    assert first["events_created"] == 7
    assert again["status"] == "duplicate_file" and again["events_created"] == 0
    assert again["alerts_created"] == 0
    # The same entries in a different file (e.g. a re-export) dedupe by event id.
    path = REPO / "examples" / "feeds" / "camt054-demo.xml"
    body = path.read_bytes().replace(b"<!-- Demo", b"<!-- Re-export of the demo")
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        resp = await client.post(
            "/api/v1/ingest/auto", content=body, headers=api_headers(stack.settings)
        )
    data = resp.json()
    assert data["status"] == "done" and data["events_created"] == 0 and data["duplicates"] == 7


async def test_history_cli_data_matches_single_view(stack: Stack) -> None:
    stack.set_scenario(DEMO_SCENARIO)
    await _load_demo(stack)
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        resp = await client.get(
            "/api/v1/customers/C-1003/history", headers=api_headers(stack.settings)
        )
    data = resp.json()
    alert = data["events"][0]["alerts"][0]
    voice, sms = alert["attempts"]
    assert voice["status"] == "no_answer"
    assert "no_answer" in [h["status"] for h in voice["history"] if h["applied"]]
    assert "sending" in [h["status"] for h in sms["history"]]
    assert alert["responses"][0]["intent"] == "confirm"
    assert data["events"][0]["decisions"][0]["outcome"] == "alert"


async def test_api_needs_token(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as client:
        resp = await client.post("/api/v1/ingest/camt054", content=b"<x/>")
        assert resp.status_code == 401
        resp = await client.post(
            "/api/v1/ingest/camt054", content=b"<x/>", headers={"Authorization": "Bearer wrong"}
        )
        assert resp.status_code == 401
    _ = Path, AttemptEvent
