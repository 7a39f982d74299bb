"""The confirmation step before marketing: double opt-in per contact point.

A marketing alert needs consent that covers marketing *and* was confirmed by the customer
(``rules.preferences.Consent.problem``). ``request_confirmation`` sends the contact point a
message with a signed link (``/c/{token}``, 14 days); the customer's click on the page's button
(``confirm``) records the confirmation, with its source and time, in the change history.
"""

from __future__ import annotations

import logging
from datetime import datetime

from alerts.customers.preferences import ConsentIn, consent_view, set_consent
from alerts.delivery.direct import direct_alert, direct_step, enqueue_current
from alerts.deps import AlertDeps
from alerts.links import address_tag
from alerts.models import ContactPoint, Customer
from alerts.plans import StepContent
from rules.vocabulary import Channel

logger = logging.getLogger(__name__)


class ConfirmationError(ValueError):
    """The confirmation could not be sent; the message says why and what to do."""


async def request_confirmation(*, deps: AlertDeps, contact_id: int, now: datetime) -> str:
    """Send the confirmation link to the contact point (queued as an alert of its own: attempt,
    retries, statuses, history); returns the channel it goes by. The link itself goes only to
    the customer: whoever clicks it confirms in their name."""
    async with deps.sessions() as session:
        contact = await session.get(ContactPoint, contact_id)
        if contact is None:
            raise ConfirmationError(f"no contact point {contact_id}")
        customer = await session.get(Customer, contact.customer_id)
        name = customer.name.split()[0] if customer and customer.name else "there"
    if contact.invalid_at is not None:
        raise ConfirmationError(f"contact point {contact_id} was reported invalid; fix it first")
    link = f"{deps.public_url}/c/{deps.links.sign_consent(contact_id, contact.address)}"
    channel: Channel = "email" if contact.kind == "email" else "sms"
    if channel == "sms" and (contact.sms_opted_out_at or not contact.sms_capable):
        raise ConfirmationError(f"contact point {contact_id} cannot receive texts")
    text = (
        f"Hello {name}, please confirm that {deps.brand} may send you offers here: {link} "
        "(ignore this message if you did not ask for them)."
    )
    subject = f"{deps.brand}: please confirm you want our offers" if channel == "email" else None
    step = direct_step(
        kind="consent_confirmation",
        channel=channel,
        address=contact.address,
        contact_point_id=str(contact_id),
        now=now,
        locale=customer.locale if customer else "en",
        reason="the double opt-in confirmation for marketing",
        content=StepContent(text=text, subject=subject),
    )
    async with deps.sessions() as session:
        # One confirmation per contact point and minute: a double click sends once.
        alert = await direct_alert(
            session,
            customer_id=contact.customer_id,
            step=step,
            dedupe_key=f"consent_confirmation:{contact_id}:{now:%Y-%m-%dT%H:%M}",
            now=now,
            context={"contact_point_id": contact_id},
        )
        await session.commit()
    if alert is not None:
        await enqueue_current(deps, alert)
    logger.info("consent confirmation queued contact_id=%s channel=%s", contact_id, channel)
    return channel


async def confirm(*, deps: AlertDeps, contact_id: int, tag: str, now: datetime) -> bool:
    """The customer confirmed: marketing consent, confirmed, from the confirmation link. Only
    for the address the link was sent to (a changed address needs a new confirmation)."""
    async with deps.sessions() as session:
        contact = await session.get(ContactPoint, contact_id)
        if contact is None or address_tag(contact.address) != tag:
            return False
        before = consent_view(contact)
        if before["confirmed"] and before["marketing"] and not before["withdrawn_at"]:
            return True  # a second click changes nothing
        consent = ConsentIn(source="confirmation_link", confirmed=True, marketing=True)
        await set_consent(
            session, contact=contact, consent=consent, actor="customer (confirmation link)", now=now
        )
        await session.commit()
    return True
