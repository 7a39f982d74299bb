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
from alerts.deps import AlertDeps
from alerts.links import address_tag
from alerts.models import ContactPoint, Customer
from channels.base import ChannelError, OutboundMessage

logger = logging.getLogger(__name__)


class ConfirmationError(ValueError):
    """The confirmation could not be sent; the message says why and what to do."""


async def request_confirmation(*, deps: AlertDeps, contact_id: int, now: datetime) -> str:
    """Send the confirmation link to the contact point; returns the channel it went by. The link
    itself goes only to the customer: whoever clicks it confirms in their name."""
    async with deps.sessions() as session:
        contact = await session.get(ContactPoint, contact_id)
        if contact is None:
            raise ConfirmationError(f"no contact point {contact_id}")
        customer = await session.get(Customer, contact.customer_id)
        name = customer.name.split()[0] if customer and customer.name else "there"
    if contact.invalid_at is not None:
        raise ConfirmationError(f"contact point {contact_id} was reported invalid; fix it first")
    link = f"{deps.public_url}/c/{deps.links.sign_consent(contact_id, contact.address)}"
    channel = "email" if contact.kind == "email" else "sms"
    if channel == "sms" and (contact.sms_opted_out_at or not contact.sms_capable):
        raise ConfirmationError(f"contact point {contact_id} cannot receive texts")
    text = (
        f"Hello {name}, please confirm that {deps.brand} may send you offers here: {link} "
        "(ignore this message if you did not ask for them)."
    )
    message = OutboundMessage(
        attempt_id=0,
        alert_id=0,
        to=contact.address,
        text=text,
        subject=f"{deps.brand}: please confirm you want our offers" if channel == "email" else None,
        message_id=f"<consent-{contact_id}-{int(now.timestamp())}@herald>",
    )
    try:
        await deps.channels[channel].send(message)
    except ChannelError as exc:
        raise ConfirmationError(f"the confirmation could not be sent: {exc}") from exc
    logger.info("consent confirmation sent contact_id=%s channel=%s", contact_id, channel)
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
