"""The whole loop over real HTTP: XML in, voice/SMS/email out through the Twilio simulator and a
real SMTP server, answers back through signed webhooks, hand-offs to the call centre. The demo's
data (examples/) shows one customer for every kind of answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from sqlmodel import col, select

from alerts.customers.records import import_customers
from alerts.models import (
    Alert,
    AttemptEvent,
    ContactPoint,
    Decision,
    DeliveryAttempt,
    HandOff,
    Preference,
    PreferenceChange,
    Response,
)
from alerts.responses.values import context_of
from herald.demo import tune_for_demo
from herald.demo_bank import DemoBank, running_bank
from herald.worker import drain
from tests.conftest import REPO, Stack
from tests.factories import api_headers, callback_at_of, mail_text

pytestmark = pytest.mark.integration
# The simulated recipients of `herald demo`, so that this test and the demo cannot drift apart.
DEMO_SCENARIO: dict[str, Any] = yaml.safe_load(
    (REPO / "examples" / "scenario-demo.yaml").read_text()
)

FEEDS = REPO / "examples" / "feeds"
DEMO_FEEDS = ["camt054-demo.xml", "camt054-demo-responses.xml"]


@pytest.fixture
async def bank(stack: Stack) -> AsyncIterator[DemoBank]:
    """The demo bank on loopback, and large_debit with the demo's routing table pointing at it."""
    async with running_bank(stack.settings.transaction_signing_key) as (fake, url):
        async with stack.runtime.deps.sessions() as session:
            await tune_for_demo(session, fallback_wait_seconds=0, bank_url=url)
        yield fake


async def _load_demo(stack: Stack) -> list[dict[str, Any]]:
    """The demo customers, then each demo feed through the API: one report per feed."""
    async with stack.runtime.deps.sessions() as session:
        await import_customers(session=session, path=REPO / "examples" / "customers.csv")
    reports = []
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        for name in DEMO_FEEDS:
            resp = await client.post(
                "/api/v1/ingest/camt054",
                content=(FEEDS / name).read_bytes(),
                headers={**api_headers(stack.settings), "X-Filename": name},
            )
            assert resp.status_code == 200, resp.text
            reports.append(dict(resp.json()))
    return reports


def _total(reports: list[dict[str, Any]], key: str) -> int:
    return sum(int(r[key]) for r in reports)


def _calls_to(stack: Stack, phone: str, verb: str) -> list[dict[str, Any]]:
    calls = [c for c in stack.sim.state.calls.values() if c.to == phone]
    return [t for c in calls for t in c.transcript if t.get("verb") == verb]


async def _email_link(stack: Stack, to: str, label: str) -> str:
    mails = [m for m in stack.sink.messages if m["To"] == to]
    assert len(mails) == 1
    text = mail_text(mails[0])
    link = re.search(rf"{re.escape(label)}: (\S+)", text)
    assert link, f"no {label!r} link in the email to {to}"
    return link.group(1)


async def _by_customer(
    stack: Stack, ref: str
) -> tuple[Alert, list[DeliveryAttempt], list[Response], list[HandOff]]:
    from alerts.models import Customer

    async with stack.runtime.deps.sessions() as session:
        customer = (await session.exec(select(Customer).where(Customer.external_ref == ref))).one()
        # The customer's alert about the event (a forward or a call they asked for is its own).
        alert = (
            await session.exec(
                select(Alert).where(
                    Alert.customer_id == customer.id, col(Alert.event_id).is_not(None)
                )
            )
        ).one()
        attempts = list(
            (
                await session.exec(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.alert_id == alert.id)
                    .order_by(col(DeliveryAttempt.step_index))
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


async def test_whole_loop(stack: Stack, bank: DemoBank) -> None:
    stack.set_scenario(DEMO_SCENARIO)
    reports = await _load_demo(stack)
    assert _total(reports, "events_created") == 16
    # Thirteen large debits, and Eva's payment received; her small debit and a stranger's not.
    assert _total(reports, "alerts_created") == 14
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)

    # Alice pressed 1: live transfer; the simulator dialled the call centre.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1001")
    assert alert.status == "closed"
    assert [a.channel for a in attempts] == ["voice"]
    assert [(r.channel, r.key, r.intent) for r in responses] == [("voice", "1", "agent")]
    assert [h.kind for h in handoffs] == ["live_transfer"]
    assert (event := context_of(handoffs[0]).event) and event.amount == "1249.99"
    assert (customer := context_of(handoffs[0]).customer) and customer.name == "Alice Martin"
    dials = _calls_to(stack, "+15550000001", "Dial")
    assert dials and dials[0]["number"] == stack.settings.callcentre.phone_number
    says = " ".join(t.get("text", "") for t in _calls_to(stack, "+15550000001", "Say"))
    assert "1,249.99 euros" in says and "Electro World Online" in says and "press 1" in says
    assert "Block my card: press 3" in says  # the demo's routing table is read out
    [whisper] = _calls_to(stack, "+15550000001", "Whisper")
    assert "Alice Martin" in whisper["text"] and "pressed 1" in whisper["text"]

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
    assert "Répondez 1 (Parler à un conseiller)" in sms.body and "980,40 €" in sms.body

    # Farah asked to hear it again (9), heard the message twice, then confirmed (2).
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1006")
    assert [(r.key, r.intent) for r in responses] == [("9", "repeat"), ("2", "confirm")]
    heard = [t["text"] for t in _calls_to(stack, "+15550000006", "Say")]
    assert sum("780.00 euros" in text for text in heard) == 2
    assert alert.status == "closed" and handoffs == []

    # Gustavo pressed 3: a signed request to the bank, whose answer was spoken on the call.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1007")
    assert [(r.key, r.intent) for r in responses] == [("3", "transaction")]
    [request] = bank.done.values()
    assert request["customer_ref"] == "C-1007" and bank.refused == 0
    assert request["option"] == {"key": "3", "label": "Block my card"}
    said = [t["text"] for t in _calls_to(stack, "+15550000007", "Say")]
    assert said[-1] == request["reply"]["say"] and "ending 1332 is blocked" in said[-1]
    assert alert.status == "closed"
    assert [(h.kind, h.status) for h in handoffs] == [("task", "completed")]  # nothing left to do

    # Hana pressed 4: the alert followed as a text.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1008")
    assert [r.intent for r in responses] == ["sms_copy"]
    assert [(a.channel, a.status) for a in attempts] == [
        ("voice", "completed"),
        ("sms", "delivered"),
    ]
    assert alert.plan[-1].reason == "the customer asked for a copy by sms"
    [copy] = [m for m in stack.sim.state.messages.values() if m.to == "+15550000008"]
    assert "€560.00" in copy.body and "Dental Clinic Centrum" in copy.body

    # Ivan pressed 5 and keyed in 1430: an agent calls him back at 14:30 his time.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1009")
    assert [r.intent for r in responses] == ["callback"]
    [handoff] = handoffs
    assert handoff.kind == "callback" and context_of(handoff).callback_keyed == "1430"
    at = callback_at_of(handoff).astimezone(ZoneInfo("Europe/Berlin"))
    assert at.strftime("%H:%M") == "14:30"
    said = [t["text"] for t in _calls_to(stack, "+15550000009", "Say")]
    assert said[-1].startswith("Thank you. We will call you back at the time you chose")

    # Julia pressed 6: opted out of large debit alerts, recorded as her own change.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1010")
    assert [r.intent for r in responses] == ["opt_out"] and alert.status == "closed"
    async with stack.runtime.deps.sessions() as session:
        prefs = (await session.exec(select(Preference))).all()
        changes = (await session.exec(select(PreferenceChange))).all()
    assert [(p.alert_type, p.data) for p in prefs] == [("large_debit", {"opted_out": True})]
    assert [(c.actor, c.customer_id) for c in changes] == [
        ("customer (voice answer)", alert.customer_id)
    ]

    # Marco texted STOP: SMS off for his number, no work for an agent, the alert stays delivered.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1013")
    assert [(a.channel, a.status) for a in attempts] == [("sms", "delivered")]
    assert [(r.channel, r.key, r.intent) for r in responses] == [("sms", "STOP", "stop")]
    assert handoffs == [] and alert.status == "delivered"
    async with stack.runtime.deps.sessions() as session:
        phone = (
            await session.exec(select(ContactPoint).where(ContactPoint.address == "+15550000013"))
        ).one()
    assert phone.sms_opted_out_at is not None

    # Nora texted a question Herald cannot match: it becomes work for an agent.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1014")
    [response] = responses
    assert response.intent == "unknown" and response.text is not None
    assert "never ordered furniture" in response.text
    assert [(h.kind, h.response_id) for h in handoffs] == [("callback", response.id)]

    # Daniel prefers email: a real SMTP server received a multipart message with links.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1004")
    assert [(a.channel, a.status) for a in attempts] == [("email", "sent")]
    assert alert.status == "delivered"
    mails = [m for m in stack.sink.messages if m["To"] == "daniel@example.com"]
    assert len(mails) == 1
    assert mails[0].get_body(preferencelist=("html",)) is not None
    link = await _email_link(stack, "daniel@example.com", "Speak to an agent")
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(link)
        assert page.status_code == 200
        _, _, before, _ = await _by_customer(stack, "C-1004")
        assert before == []  # opening the link (or a mail scanner) does nothing
        done = await client.post(link, data={"confirm": "yes"})
        assert done.status_code == 200
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1004")
    assert [(r.channel, r.intent) for r in responses] == [("email", "agent")]
    assert [h.kind for h in handoffs] == ["callback"]
    assert alert.status == "closed"

    # Kenji forwards his alert to his partner with a note: a safe copy, the alert stays open.
    link = await _email_link(
        stack, "kenji@example.com", "Forward this alert to someone, with a note"
    )
    async with httpx.AsyncClient(timeout=10) as client:
        form = await client.get(link)
        assert form.status_code == 200 and "Their email address" in form.text
        sent = await client.post(
            link, data={"confirm": "yes", "to": "yui@example.com", "note": "Did you pay this?"}
        )
        assert sent.status_code == 200 and "yui@example.com" in sent.text
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [copy_mail] = [m for m in stack.sink.messages if m["To"] == "yui@example.com"]
    text = mail_text(copy_mail)
    assert "Did you pay this?" in text and "€1,350.00" in text and "/r/" not in text
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1011")
    assert [(r.channel, r.intent) for r in responses] == [("email", "forward")]
    assert alert.status == "delivered" and handoffs == []

    # Lena clicks "Call me now": Herald calls her and puts her through to the call centre.
    link = await _email_link(stack, "lena@example.com", "Call me now")
    async with httpx.AsyncClient(timeout=10) as client:
        done = await client.post(link, data={"confirm": "yes"})
    assert done.status_code == 200 and "calling you now" in done.text
    # The call is a voice step like any other: the voice worker places it.
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    await stack.sim.wait_idle(10)
    dials = _calls_to(stack, "+15550000012", "Dial")
    assert dials and dials[0]["number"] == stack.settings.callcentre.phone_number
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1012")
    assert [(r.channel, r.intent) for r in responses] == [("email", "call_me")]
    assert [h.kind for h in handoffs] == ["call_now"] and alert.status == "closed"

    # Eva's salary came in: payment_received, by SMS (her first channel), nothing to answer.
    alert, attempts, responses, handoffs = await _by_customer(stack, "C-1005")
    assert alert.alert_type == "payment_received" and alert.status == "delivered"
    assert [(a.channel, a.status) for a in attempts] == [("sms", "delivered")]

    # Every event has a decision with a reason; small debits and strangers are skipped.
    async with stack.runtime.deps.sessions() as session:
        decisions = (await session.exec(select(Decision))).all()
        statuses = (await session.exec(select(Alert.status))).all()
    reasons = [d.reason for d in decisions]
    assert len(reasons) == 17
    assert sorted(d.outcome for d in decisions).count("alert") == 14
    assert any("does not hold (event.amount = 42.10" in r for r in reasons)
    assert any("no customer owns account BE68539007547034" in r for r in reasons)
    assert all(d.detail.get("reason") == d.reason for d in decisions)
    assert sorted(statuses).count("closed") == 9  # the rest delivered: Eva, Hana, Kenji, ...


async def test_same_file_twice_creates_nothing_new(stack: Stack) -> None:
    first = await _load_demo(stack)
    again = await _load_demo(stack)
    assert [r["events_created"] for r in first] == [7, 9]
    assert [r["status"] for r in again] == ["duplicate_file"] * 2
    assert _total(again, "events_created") == 0 and _total(again, "alerts_created") == 0
    # The same entries in a different file (e.g. a re-export) dedupe by event id.
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        for name, entries in zip(DEMO_FEEDS, (7, 9), strict=True):
            body = (FEEDS / name).read_bytes().replace(b"<!-- Demo", b"<!-- Re-export of the demo")
            resp = await client.post(
                "/api/v1/ingest/auto", content=body, headers=api_headers(stack.settings)
            )
            data = resp.json()
            assert data["status"] == "done" and data["events_created"] == 0
            assert data["duplicates"] == entries


async def test_history_cli_data_matches_single_view(stack: Stack, bank: DemoBank) -> None:
    stack.set_scenario(DEMO_SCENARIO)
    await _load_demo(stack)
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        resp = await client.get(
            "/api/v1/customers/C-1003/history", headers=api_headers(stack.settings)
        )
        ivan = await client.get(
            "/api/v1/customers/C-1009/history", headers=api_headers(stack.settings)
        )
        julia = await client.get(
            "/api/v1/customers/C-1010/history", headers=api_headers(stack.settings)
        )
    data = resp.json()
    alert = data["events"][0]["alerts"][0]
    voice, sms = alert["attempts"]
    assert voice["status"] == "no_answer"
    assert "no_answer" in [h["status"] for h in voice["history"] if h["applied"]]
    assert "sending" in [h["status"] for h in sms["history"]]
    assert alert["responses"][0]["intent"] == "confirm"
    assert data["events"][0]["decisions"][0]["outcome"] == "alert"
    # The single view shows the callback time and the customer's own opt-out.
    [handoff] = ivan.json()["events"][0]["alerts"][0]["handoffs"]
    assert handoff["kind"] == "callback" and handoff["context"]["callback_at"]
    [change] = julia.json()["preference_changes"]
    assert change["actor"] == "customer (voice answer)" and "opted_out" in change["summary"]


async def test_api_needs_token(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as client:
        resp = await client.post("/api/v1/ingest/camt054", content=b"<x/>")
        assert resp.status_code == 401
        resp = await client.post(
            "/api/v1/ingest/camt054", content=b"<x/>", headers={"Authorization": "Bearer wrong"}
        )
        assert resp.status_code == 401
    _ = Path, AttemptEvent
