"""A customer's single view: events, decisions, alerts, attempts, responses, hand-offs."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.masking import mask
from alerts.models import (
    Account,
    Alert,
    AttemptEvent,
    ContactPoint,
    Customer,
    Decision,
    DeliveryAttempt,
    Event,
    Response,
)
from callcentre.models import HandOff


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def customer_history(
    *, session: AsyncSession, external_ref: str, mask_contacts: bool = False
) -> dict[str, Any] | None:
    """Everything Herald knows and did for one customer, newest event first, as plain data."""
    customer = (
        await session.exec(select(Customer).where(Customer.external_ref == external_ref))
    ).first()
    if customer is None:
        return None
    cid = customer.id
    show = mask if mask_contacts else (lambda s: s)
    accounts = (await session.exec(select(Account).where(Account.customer_id == cid))).all()
    contacts = (
        await session.exec(select(ContactPoint).where(ContactPoint.customer_id == cid))
    ).all()
    events = (
        await session.exec(
            select(Event).where(Event.customer_id == cid).order_by(col(Event.id).desc())
        )
    ).all()
    event_ids = [e.id for e in events]
    decisions = (
        (await session.exec(select(Decision).where(col(Decision.event_id).in_(event_ids)))).all()
        if event_ids
        else []
    )
    alerts = (
        await session.exec(
            select(Alert).where(Alert.customer_id == cid).order_by(col(Alert.id).desc())
        )
    ).all()
    alert_ids = [a.id for a in alerts]
    attempts = (
        (
            await session.exec(
                select(DeliveryAttempt)
                .where(col(DeliveryAttempt.alert_id).in_(alert_ids))
                .order_by(col(DeliveryAttempt.step_index))
            )
        ).all()
        if alert_ids
        else []
    )
    attempt_ids = [a.id for a in attempts]
    statuses = (
        (
            await session.exec(
                select(AttemptEvent)
                .where(col(AttemptEvent.attempt_id).in_(attempt_ids))
                .order_by(col(AttemptEvent.id))
            )
        ).all()
        if attempt_ids
        else []
    )
    responses = (
        await session.exec(
            select(Response).where(Response.customer_id == cid).order_by(col(Response.id))
        )
    ).all()
    handoffs = (
        await session.exec(
            select(HandOff).where(HandOff.customer_id == cid).order_by(col(HandOff.id))
        )
    ).all()

    def attempt_view(a: DeliveryAttempt) -> dict[str, Any]:
        return {
            "id": a.id,
            "step": a.step_index,
            "channel": a.channel,
            "to": show(a.address),
            "status": a.status,
            "provider_sid": a.provider_sid,
            "error": a.error,
            "created_at": _iso(a.created_at),
            "history": [
                {
                    "status": s.status,
                    "provider_status": s.provider_status,
                    "detail": s.detail,
                    "applied": s.applied,
                    "at": _iso(s.created_at),
                }
                for s in statuses
                if s.attempt_id == a.id
            ],
        }

    def response_view(r: Response) -> dict[str, Any]:
        return {
            "id": r.id,
            "channel": r.channel,
            "key": r.key,
            "intent": r.intent,
            "text": r.text,
            "attempt_id": r.attempt_id,
            "at": _iso(r.created_at),
        }

    def handoff_view(h: HandOff) -> dict[str, Any]:
        return {
            "id": h.id,
            "kind": h.kind,
            "status": h.status,
            "response_id": h.response_id,
            "at": _iso(h.created_at),
            "context": h.context,
        }

    def alert_view(a: Alert) -> dict[str, Any]:
        return {
            "id": a.id,
            "type": a.alert_type,
            "status": a.status,
            "closed_reason": a.closed_reason,
            "created_at": _iso(a.created_at),
            "context": a.context,
            "plan": [{**step, "address": show(str(step.get("address", "")))} for step in a.plan],
            "current_step": a.current_step,
            "attempts": [attempt_view(t) for t in attempts if t.alert_id == a.id],
            "responses": [response_view(r) for r in responses if r.alert_id == a.id],
            "handoffs": [handoff_view(h) for h in handoffs if h.alert_id == a.id],
        }

    return {
        "customer": {
            "ref": customer.external_ref,
            "name": customer.name,
            "locale": customer.locale,
            "timezone": customer.timezone,
            "channel_order": customer.channel_order,
            "accounts": [a.account_id for a in accounts],
            "contacts": [{"kind": c.kind, "address": show(c.address)} for c in contacts],
        },
        "events": [
            {
                "id": e.id,
                "source": e.source,
                "source_event_id": e.source_event_id,
                "type": e.event_type,
                "account": e.account_id,
                "amount": str(e.amount) if e.amount is not None else None,
                "currency": e.currency,
                "status": e.status,
                "booking_date": _iso(e.booking_date),
                "description": e.description,
                "received_at": _iso(e.created_at),
                "decisions": [
                    {
                        "alert_type": d.alert_type,
                        "outcome": d.outcome,
                        "reason": d.reason,
                        "at": _iso(d.created_at),
                    }
                    for d in decisions
                    if d.event_id == e.id
                ],
                "alerts": [alert_view(a) for a in alerts if a.event_id == e.id],
            }
            for e in events
        ],
        "unmatched_responses": [response_view(r) for r in responses if r.alert_id is None],
        "handoffs_without_alert": [handoff_view(h) for h in handoffs if h.alert_id is None],
    }
