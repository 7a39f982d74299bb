"""The outbox: what the company's CRM hears about, written in the transaction of the change.

Every change a CRM wants (a response recorded, a hand-off created or moved, an alert delivered,
answered, failed or expired, a preference or consent changed) adds one ``OutboxEvent`` in the
same session as the change, so the two commit together or not at all: a crash loses no event and
invents none. ``alerts.crm`` fans each event out to the subscriptions that want its kind and
delivers it, signed, in order per customer.

The kinds, ``<entity>.<what>``:

* ``response.recorded`` — a customer answered (key, channel, intent);
* ``handoff.created`` and ``handoff.<state>`` for each move of a hand-off (offered, claimed,
  connected, completed, abandoned, expired, failed; ``queued`` again when it is released);
* ``alert.delivered``, ``alert.answered``, ``alert.failed``, ``alert.expired``;
* ``preference.changed`` — channels, opt-outs, quiet hours, consent (who changed it and how).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import JsonValue
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import OutboxEvent

KINDS = (
    "response.recorded",
    "handoff.created",
    "handoff.queued",
    "handoff.offered",
    "handoff.claimed",
    "handoff.connected",
    "handoff.completed",
    "handoff.abandoned",
    "handoff.expired",
    "handoff.failed",
    "alert.delivered",
    "alert.answered",
    "alert.failed",
    "alert.expired",
    "preference.changed",
)
# An alert's moves a CRM hears about, by the state they lead to (the others are bookkeeping).
ALERT_KINDS = {
    "delivered": "alert.delivered",
    "closed": "alert.answered",
    "failed": "alert.failed",
    "expired": "alert.expired",
}


def emit(
    session: AsyncSession,
    *,
    kind: str,
    entity: str,
    entity_id: int | None,
    customer_id: int | None,
    data: dict[str, JsonValue],
    now: datetime,
) -> OutboxEvent:
    """Add one event to the outbox in ``session`` (committed with the change it reports)."""
    assert kind in KINDS, f"unknown outbox kind {kind!r}"
    event = OutboxEvent(
        kind=kind,
        entity=entity,
        entity_id=entity_id,
        customer_id=customer_id,
        data=dict(data),
        created_at=now,
    )
    session.add(event)
    return event
