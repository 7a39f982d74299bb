"""A customer's single view: events, decisions (with their plan and notes), alerts, attempts,
responses, hand-offs, and every change to the customer's preferences and consent."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import (
    Account,
    Alert,
    AttemptEvent,
    ContactPoint,
    Customer,
    Decision,
    DeliveryAttempt,
    Event,
    HandOff,
    Preference,
    PreferenceChange,
    Response,
)
from channels.masking import mask


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# The fields of alerts.customers.preferences.PreferenceIn, in the order a summary lists them.
PREFERENCE_FIELDS = (
    "channels",
    "quiet_hours",
    "language",
    "opted_out",
    "opted_out_channels",
    "caps",
)


def _words(key: str, value: Any, contacts: dict[int, str]) -> str:
    """One preference or consent field as a person reads it."""
    if value is None:
        return "inherited" if key in PREFERENCE_FIELDS else "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "channels":
        return (
            " > ".join(
                f"{c.get('channel')} to {contacts.get(c.get('contact_point_id', 0), '?')}"
                for c in value
            )
            or "none"
        )
    if key == "quiet_hours":
        return (
            ", ".join(
                str(q.get("window"))
                + (f" ({', '.join(q['channels'])})" if len(q.get("channels", [])) < 3 else "")
                for q in value
            )
            or "none"
        )
    if key == "caps":
        return (
            ", ".join(
                f"{c.get('max_alerts')} per {c.get('period_seconds')} s"
                + (f" of {c['alert_type']}" if c.get("alert_type") else "")
                for c in value
            )
            or "none"
        )
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def summarize_change(
    before: dict[str, Any], after: dict[str, Any], contacts: dict[int, str] | None = None
) -> str:
    """``opted_out: inherited → yes; language: en → fr``: what changed, field by field."""
    contacts = contacts or {}
    keys = [k for k in PREFERENCE_FIELDS if k in before or k in after]
    keys += [k for k in {**before, **after} if k not in keys]
    parts = [
        f"{k}: {_words(k, before.get(k), contacts)} → {_words(k, after.get(k), contacts)}"
        for k in keys
        if before.get(k) != after.get(k)
    ]
    if not parts:
        return "no change" if before or after else "reset (nothing was stored)"
    return "; ".join(parts)


def describe_preference(data: dict[str, Any], contacts: dict[int, str] | None = None) -> str:
    """``quiet_hours: 22:00-07:00; opted_out: yes``: a stored preference, field by field."""
    keys = [k for k in PREFERENCE_FIELDS if k in data] + [
        k for k in data if k not in PREFERENCE_FIELDS
    ]
    return "; ".join(f"{k}: {_words(k, data[k], contacts or {})}" for k in keys) or (
        "everything inherited"
    )


def _subject(alert_type: str, contacts: dict[int, str]) -> str:
    """What a PreferenceChange is about, in words."""
    if alert_type == "*":
        return "default preference"
    if alert_type.startswith("contact:"):
        ref = alert_type.removeprefix("contact:")
        return f"consent for {contacts.get(int(ref), ref) if ref.isdigit() else ref}"
    return f"{alert_type} preference"


def decision_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """The plan steps (address always masked) and notes of ``rules.engine.decision_as_dict``."""
    steps = detail.get("steps") or []
    return {
        "steps": [
            {
                "channel": s.get("channel"),
                "to": mask(str(s.get("address", ""))),
                "not_before": s.get("not_before"),
                "deadline": s.get("deadline"),
                "reason": s.get("reason"),
            }
            for s in steps
            if isinstance(s, dict)
        ],
        "notes": [str(n) for n in detail.get("notes") or []],
    }


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
        await session.exec(
            select(ContactPoint)
            .where(ContactPoint.customer_id == cid)
            .order_by(col(ContactPoint.id))
        )
    ).all()
    preferences = (
        await session.exec(
            select(Preference)
            .where(Preference.customer_id == cid)
            .order_by(col(Preference.alert_type))
        )
    ).all()
    changes = (
        await session.exec(
            select(PreferenceChange)
            .where(PreferenceChange.customer_id == cid)
            .order_by(col(PreferenceChange.id).desc())
        )
    ).all()
    # Contact points named as they appear in channel choices and consent changes (masked).
    named = {c.id: f"{c.kind} {mask(c.address)}" for c in contacts if c.id is not None}
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
            "plan": [
                {**step.model_dump(mode="json", by_alias=True), "address": show(step.address)}
                for step in a.plan
            ],
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
            "contacts": [
                {
                    "kind": c.kind,
                    "address": show(c.address),
                    "id": c.id,
                    "label": c.label,
                    "consent_source": c.consent_source,
                    "consent_at": _iso(c.consent_at),
                    "consent_withdrawn_at": _iso(c.consent_withdrawn_at),
                    "sms_opted_out": c.sms_opted_out_at is not None,
                    "sms_capable": c.sms_capable,
                    "invalid": c.invalid_at is not None,
                }
                for c in contacts
            ],
        },
        "preferences": [
            {
                "alert_type": p.alert_type,
                "subject": _subject(p.alert_type, named),
                "data": p.data,
                "summary": describe_preference(p.data, named),
            }
            for p in sorted(preferences, key=lambda p: (p.alert_type != "*", p.alert_type))
        ],
        "preference_changes": [
            {
                "id": ch.id,
                "at": _iso(ch.created_at),
                "actor": ch.actor,
                "alert_type": ch.alert_type,
                "subject": _subject(ch.alert_type, named),
                "summary": summarize_change(ch.before, ch.after, named),
                "before": ch.before,
                "after": ch.after,
            }
            for ch in changes
        ],
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
                        **decision_detail(d.detail or {}),
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


async def find_alert(*, session: AsyncSession, alert_id: int) -> Alert | None:
    """One alert as stored (None if there is no such alert)."""
    return await session.get(Alert, alert_id)
