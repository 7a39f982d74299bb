"""Marketing email: RFC 8058 List-Unsubscribe headers and the one-click POST; every email,
marketing or not, carries the manage-preferences link."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest
from sqlmodel import select

from alerts.alert_types.store import get_spec, save_spec
from alerts.columns import utcnow
from alerts.customers.preferences import ConsentIn, set_consent
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import ContactPoint, Customer, Preference, PreferenceChange
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import make_customer, make_event

pytestmark = pytest.mark.integration
EMAIL = "retail@example.com"


async def _offer(stack: Stack) -> tuple[EmailMessage, EmailMessage]:
    deps = stack.runtime.deps
    async with deps.sessions() as session:
        spec = await get_spec(session, "savings_offer")
        assert spec is not None
        await save_spec(session, {**spec.as_json(), "enabled": True}, actor="test")
    customer = await make_customer(deps, email=EMAIL, phone=None, order=("email",))
    async with deps.sessions() as session:
        row = await session.get(Customer, customer.id)
        assert row is not None
        row.segment = "retail"
        session.add(row)
        contact = (
            await session.exec(select(ContactPoint).where(ContactPoint.address == EMAIL))
        ).one()
        confirmed = ConsentIn(source="web_form", confirmed=True, marketing=True)
        await set_consent(session, contact=contact, consent=confirmed, actor="test", now=utcnow())
        await session.commit()
    await make_event(deps, event_type="credit_posted", amount="2500.00")
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert len(created) == 2  # payment received (service) and the savings offer (marketing)
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    mails = [m for m in stack.sink.messages if m["To"] == EMAIL]
    offer = next(m for m in mails if "make your money work harder" in str(m["Subject"]))
    service = next(m for m in mails if m is not offer)
    return offer, service


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_one_click_unsubscribe_from_a_marketing_email(stack: Stack) -> None:
    offer, service = await _offer(stack)
    assert offer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(r"<(https?://\S+/u/\S+)>", str(offer["List-Unsubscribe"]).strip())
    assert match
    url = match.group(1)
    assert f"Unsubscribe from these offers: {url}" in _text(offer)
    assert service["List-Unsubscribe"] is None  # service alerts are not a mailing list
    for mail in (offer, service):
        assert re.search(r"Manage your alerts: \S+/p/\S+", _text(mail))
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(url)  # a mail scanner, or the customer looking first
        assert page.status_code == 200 and "Unsubscribe" in page.text
        async with stack.runtime.deps.sessions() as session:
            assert (await session.exec(select(Preference))).all() == []
        done = await client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and done.text == "unsubscribed"
        again = await client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert again.status_code == 200
        forged = await client.post(url[:-3] + "xyz", data={"List-Unsubscribe": "One-Click"})
        assert forged.status_code == 400
    async with stack.runtime.deps.sessions() as session:
        [pref] = (await session.exec(select(Preference))).all()
        changes = (await session.exec(select(PreferenceChange))).all()
    assert pref.alert_type == "savings_offer" and pref.data == {"opted_out": True}
    assert [c.actor for c in changes if c.alert_type == "savings_offer"] == [
        "customer (one-click unsubscribe)"
    ]
