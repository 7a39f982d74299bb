"""Turn stored events into decisions and alerts (rows committed before any job is enqueued).

For each unevaluated event, every alert type triggered by its event type is decided by the pure
``rules.engine.decide`` with the customer, their preferences and consent, the alert type's
current specification, the call centre's state and the customer's recent alerts. Each decision
(skip or plan, with every reason) is stored; a plan becomes an alert whose first step is queued
for its not-before time. Unique constraints on (event, alert type) and on the dedupe key make
concurrent or repeated evaluation harmless.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types import load_specs
from alerts.deps import AlertDeps
from alerts.models import Account, Alert, Customer, Decision, Event
from alerts.preferences import load_preferences
from callcentre.state import centre_view
from rules.alert_types import AlertTypeSpec
from rules.centre import CentreView
from rules.engine import Plan, RecentAlert, decide, decision_as_dict
from rules.facts import CustomerView, EventView

logger = logging.getLogger(__name__)

NO_TYPE = "*"  # the alert_type of a decision that no alert type applies
RECENT = timedelta(days=32)  # how far back dedupe windows and frequency caps look
_RENAMED = " @ "  # a dedupe key reused after its window: "key @ 2026-11-23T10:00:00Z"


def event_view(event: Event) -> EventView:
    return EventView(
        event_type=event.event_type,
        account=event.account_id,
        source=event.source,
        source_event_id=event.source_event_id,
        amount=event.amount,
        currency=event.currency,
        credit_debit=event.credit_debit,
        status=event.status,
        booking_date=event.booking_date,
        description=event.description,
        data=dict(event.data or {}),
        event_id=event.id,
    )


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView(
        ref=customer.external_ref,
        name=customer.name,
        segment=customer.segment,
        locale=customer.locale,
        tz=customer.timezone,
        attributes=dict(customer.attributes or {}),
        customer_id=customer.id,
    )


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def alert_context(event: Event, customer: Customer) -> dict[str, Any]:
    """The values an alert's templates may use (see rules/default_alert_types.toml)."""
    return {
        "customer_name": customer.name,
        "amount": _amount(event.amount),
        "currency": event.currency or "",
        "description": event.description or "",
        "merchant": event.description or "",
        "account_ending": event.account_id[-4:],
        "booking_date": event.booking_date.isoformat() if event.booking_date else "",
        "data": dict(event.data or {}),
    }


def base_key(stored: str) -> str:
    head, sep, tail = stored.rpartition(_RENAMED)
    return head if sep and tail.endswith("Z") else stored


async def recent_alerts(
    session: AsyncSession, customer_id: int, now: datetime
) -> list[RecentAlert]:
    rows = (
        await session.exec(
            select(Alert.dedupe_key, Alert.alert_type, Alert.created_at).where(
                Alert.customer_id == customer_id, col(Alert.created_at) > now - RECENT
            )
        )
    ).all()
    return [RecentAlert(base_key(k), t, c) for k, t, c in rows]


async def evaluate_pending(*, deps: AlertDeps, now: datetime, batch: int = 200) -> list[int]:
    """Decide every unevaluated event; returns the ids of the alerts created (already enqueued)."""
    created: list[int] = []
    async with deps.sessions() as session:
        by_event_type: dict[str, list[AlertTypeSpec]] = defaultdict(list)
        for spec in await load_specs(session):
            for event_type in spec.trigger.event_types:
                by_event_type[event_type].append(spec)
        centre = await centre_view(session, now)
        while True:
            events = (
                await session.exec(
                    select(Event)
                    .where(col(Event.evaluated).is_(False))
                    .order_by(col(Event.id))
                    .limit(batch)
                )
            ).all()
            if not events:
                break
            new_alerts: list[Alert] = []
            for event in events:
                specs = by_event_type.get(event.event_type, [])
                new_alerts.extend(
                    await _decide_event(
                        session=session, event=event, specs=specs, centre=centre, now=now
                    )
                )
            await session.commit()
            for alert in new_alerts:
                assert alert.id is not None
                created.append(alert.id)
                delay = max(0.0, ((alert.next_step_at or now) - now).total_seconds())
                logger.info(
                    "alert created alert_id=%s type=%s first step in %.0f s",
                    alert.id,
                    alert.alert_type,
                    delay,
                )
                await deps.queue.enqueue_step(
                    alert_id=alert.id,
                    step_index=0,
                    channel=alert.plan[0]["channel"],
                    defer_seconds=delay,
                )
    return created


async def _store_decision(
    session: AsyncSession,
    *,
    event: Event,
    alert_type: str,
    outcome: str,
    reason: str,
    detail: dict[str, Any],
    now: datetime,
) -> Decision | None:
    assert event.id is not None
    decision = Decision(
        event_id=event.id,
        alert_type=alert_type,
        customer_id=event.customer_id,
        outcome=outcome,
        reason=reason,
        detail=detail,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(decision)
            await session.flush()
    except IntegrityError:
        logger.info("event already decided event_id=%s alert_type=%s", event.id, alert_type)
        return None
    return decision


async def _decide_event(
    *,
    session: AsyncSession,
    event: Event,
    specs: list[AlertTypeSpec],
    centre: CentreView,
    now: datetime,
) -> list[Alert]:
    event.evaluated = True
    session.add(event)
    if event.customer_id is None:
        owner = (
            await session.exec(select(Account).where(Account.account_id == event.account_id))
        ).first()
        event.customer_id = owner.customer_id if owner else None
    customer = await session.get(Customer, event.customer_id) if event.customer_id else None
    if customer is None or not specs:
        reason = (
            f"no alert type is triggered by {event.event_type}"
            if not specs
            else f"no customer owns account {event.account_id}"
        )
        await _store_decision(
            session,
            event=event,
            alert_type=NO_TYPE,
            outcome="skip",
            reason=reason,
            detail={"kind": "skip", "reason": reason},
            now=now,
        )
        return []
    assert customer.id is not None
    preferences = await load_preferences(session, customer)
    view, facts = customer_view(customer), event_view(event)
    alerts: list[Alert] = []
    for spec in specs:
        recent = await recent_alerts(session, customer.id, now)
        decision = decide(
            event=facts,
            customer=view,
            preferences=preferences,
            alert_type=spec,
            centre=centre,
            recent_alerts=recent,
            now=now,
        )
        detail = decision_as_dict(decision)
        stored = await _store_decision(
            session,
            event=event,
            alert_type=spec.key,
            outcome="alert" if isinstance(decision, Plan) else "skip",
            reason=decision.reason,
            detail=detail,
            now=now,
        )
        if stored is None or not isinstance(decision, Plan):
            continue
        alert = await _create_alert(
            session,
            decision=decision,
            detail=detail,
            event=event,
            customer=customer,
            decision_id=stored.id,
            now=now,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


async def _create_alert(
    session: AsyncSession,
    *,
    decision: Plan,
    detail: dict[str, Any],
    event: Event,
    customer: Customer,
    decision_id: int | None,
    now: datetime,
) -> Alert | None:
    assert customer.id is not None
    key = decision.dedupe_key
    taken = (await session.exec(select(Alert.id).where(Alert.dedupe_key == key))).first()
    if taken is not None:  # an alert with this key exists but is older than the window
        key = f"{key}{_RENAMED}{now:%Y-%m-%dT%H:%M:%S}Z"
    steps = detail["steps"]
    assert isinstance(steps, list)
    alert = Alert(
        dedupe_key=key,
        alert_type=decision.alert_type,
        alert_type_version=decision.alert_type_version,
        customer_id=customer.id,
        event_id=event.id,
        decision_id=decision_id,
        status="pending",
        plan=steps,
        options=[o.model_dump(mode="json") for o in decision.options],
        windows=decision.windows.as_dict(),
        locale=decision.content_locale,
        priority=decision.priority,
        category=decision.category,
        expires_at=decision.expires_at,
        current_step=0,
        step_token=secrets.token_hex(8),
        next_step_at=decision.steps[0].not_before,
        context=alert_context(event, customer),
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        logger.info("alert already exists dedupe_key=%s", key)
        return None
    return alert
