"""Which alert types apply to a customer, so their preferences page offers only those.

An alert type applies when it could reach this customer: an event of one of its trigger's
event types was booked on one of their accounts, or they already got an alert of that type.
A marketing type applies as well when one of their contact points holds a marketing consent
that is not withdrawn (they subscribed). A type they stored a preference for is shown by the
page regardless, so nothing they set is hidden.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Account, Alert, ContactPoint, Event
from rules.alert_types import AlertTypeSpec


async def applicable(
    session: AsyncSession,
    *,
    customer_id: int,
    specs: list[AlertTypeSpec],
    contacts: list[ContactPoint],
) -> set[str]:
    """The keys of ``specs`` that apply to the customer (see the module's docstring)."""
    accounts = select(Account.account_id).where(Account.customer_id == customer_id)
    seen_events = set(
        (
            await session.exec(
                select(Event.event_type)
                .where(
                    (col(Event.customer_id) == customer_id) | col(Event.account_id).in_(accounts)
                )
                .distinct()
            )
        ).all()
    )
    received = set(
        (
            await session.exec(
                select(Alert.alert_type).where(Alert.customer_id == customer_id).distinct()
            )
        ).all()
    )
    subscribed = any(c.consent_marketing and c.consent_withdrawn_at is None for c in contacts)
    return {
        spec.key
        for spec in specs
        if spec.key in received
        or seen_events.intersection(spec.trigger.event_types)
        or (spec.category == "marketing" and subscribed)
    }
