"""Double opt-in before marketing: no offer without confirmed consent; the customer confirms
through the link Herald sends; the next offer goes out, and the history says who confirmed."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select

from alerts.alert_types.store import get_spec, save_spec
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import ContactPoint, Customer, Decision, PreferenceChange
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import api_headers, make_customer, make_event

pytestmark = pytest.mark.integration
EMAIL = "saver@example.com"


async def test_marketing_waits_for_the_customers_confirmation(stack: Stack) -> None:
    deps = stack.runtime.deps
    async with deps.sessions() as session:
        spec = await get_spec(session, "savings_offer")
        assert spec is not None
        await save_spec(session, {**spec.as_json(), "enabled": True}, actor="test")
    customer = await make_customer(deps, ref="C-77", email=EMAIL, phone=None, order=("email",))
    async with deps.sessions() as session:
        row = await session.get(Customer, customer.id)
        assert row is not None
        row.segment = "retail"
        session.add(row)
        await session.commit()
        contact = (
            await session.exec(select(ContactPoint).where(ContactPoint.address == EMAIL))
        ).one()
    await make_event(deps, event_type="credit_posted", amount="2500.00", event_id="E-1")
    await evaluate_pending(deps=deps, now=utcnow())
    async with deps.sessions() as session:
        offer = (
            await session.exec(select(Decision).where(Decision.alert_type == "savings_offer"))
        ).one()
    assert offer.outcome == "skip" and "no confirmed marketing consent" in offer.reason

    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as client:
        sent = await client.post(
            f"/api/v1/customers/C-77/contact-points/{contact.id}/consent/confirmation",
            headers=api_headers(stack.settings),
        )
        assert sent.status_code == 202, sent.text
        assert "/c/" not in sent.text  # only the customer gets the link
        # The confirmation is delivered like an alert: the email worker sends it.
        await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
        [mail] = [
            m
            for m in stack.sink.messages
            if m["To"] == EMAIL and "please confirm" in str(m["Subject"])
        ]
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        link = re.search(r"(https?://\S+/c/\S+)", body.get_content())
        assert link
        url = link.group(1)
        shown = await client.get(url)  # a mail scanner opening it confirms nothing
        assert shown.status_code == 200 and "Yes, send me offers" in shown.text
        async with deps.sessions() as session:
            assert (await session.get(ContactPoint, contact.id)).consent_confirmed is False  # type: ignore[union-attr]
        done = await client.post(url)
        assert done.status_code == 200 and "You have confirmed" in done.text
        forged = await client.post(url[:-4] + "abcd")
        assert forged.status_code == 400

    async with deps.sessions() as session:
        confirmed = await session.get(ContactPoint, contact.id)
        changes = (await session.exec(select(PreferenceChange))).all()
    assert confirmed is not None and confirmed.consent_confirmed and confirmed.consent_marketing
    assert confirmed.consent_source == "confirmation_link"
    assert [c.actor for c in changes] == ["customer (confirmation link)"]
    # A link sent to an address the customer has since changed confirms nothing.
    async with deps.sessions() as session:
        stale = deps.links.sign_consent(contact.id or 0, "old@example.com")
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as client:
        assert (await client.post(f"/c/{stale}")).status_code == 410
    await make_event(deps, event_type="credit_posted", amount="2600.00", event_id="E-2")
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == 2  # payment received and, now, the offer
