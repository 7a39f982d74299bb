"""Turn stored events into decisions and alerts (rows committed before any job is enqueued)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types import ensure_builtin_types, get_type
from alerts.deps import AlertDeps
from alerts.models import Account, Alert, ContactPoint, Customer, Decision, Event
from rules import account_activity
from rules.base import ContactFacts, CustomerFacts, EventFacts, Verdict

logger = logging.getLogger(__name__)


def event_facts(event: Event) -> EventFacts:
    assert event.id is not None
    return EventFacts(
        event_id=event.id,
        source=event.source,
        source_event_id=event.source_event_id,
        event_type=event.event_type,
        account_id=event.account_id,
        amount=event.amount,
        currency=event.currency,
        status=event.status,
        booking_date=event.booking_date,
        description=event.description,
    )


async def customer_facts(*, session: AsyncSession, customer_id: int) -> CustomerFacts | None:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    contacts = (
        await session.exec(
            select(ContactPoint)
            .where(ContactPoint.customer_id == customer_id)
            .order_by(col(ContactPoint.id))
        )
    ).all()
    return CustomerFacts(
        customer_id=customer_id,
        external_ref=customer.external_ref,
        name=customer.name,
        locale=customer.locale,
        timezone=customer.timezone,
        channel_order=tuple(customer.channel_order),
        contacts=tuple(
            ContactFacts(
                kind=c.kind, address=c.address, sms_opted_out=c.sms_opted_out_at is not None
            )
            for c in contacts
        ),
    )


async def evaluate_pending(*, deps: AlertDeps, now: datetime, batch: int = 200) -> list[int]:
    """Decide every unevaluated event; returns the ids of the alerts created (already enqueued)."""
    created: list[int] = []
    async with deps.sessions() as session:
        await ensure_builtin_types(
            session=session,
            threshold=deps.default_threshold,
            wait_seconds=deps.default_wait_seconds,
        )
        alert_type = await get_type(session=session, key=account_activity.KEY)
        assert alert_type is not None
        params = account_activity.AccountActivityParams.from_mapping(
            alert_type.params,
            default_threshold=deps.default_threshold,
            default_wait=deps.default_wait_seconds,
        )
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
                alert = await _decide_one(
                    session=session, event=event, params=params, now=now, enabled=alert_type.enabled
                )
                if alert is not None:
                    new_alerts.append(alert)
            await session.commit()
            for alert in new_alerts:
                assert alert.id is not None
                created.append(alert.id)
                logger.info("alert created alert_id=%s type=%s", alert.id, alert.alert_type)
                await deps.queue.enqueue_step(
                    alert_id=alert.id, step_index=0, channel=alert.plan[0]["channel"]
                )
    return created


async def _decide_one(
    *,
    session: AsyncSession,
    event: Event,
    params: account_activity.AccountActivityParams,
    now: datetime,
    enabled: bool,
) -> Alert | None:
    assert event.id is not None
    event.evaluated = True
    session.add(event)
    if event.customer_id is None:
        owner = (
            await session.exec(select(Account).where(Account.account_id == event.account_id))
        ).first()
        event.customer_id = owner.customer_id if owner else None
    customer = (
        await customer_facts(session=session, customer_id=event.customer_id)
        if event.customer_id
        else None
    )
    verdict = account_activity.decide(
        event=event_facts(event), customer=customer, params=params, now=now
    )
    if verdict.raise_alert and not enabled:
        verdict = Verdict(
            alert_type=verdict.alert_type,
            raise_alert=False,
            reason="the alert type is disabled",
            decided_at=now,
        )
    try:
        async with session.begin_nested():
            decision = Decision(
                event_id=event.id,
                alert_type=verdict.alert_type,
                customer_id=event.customer_id,
                outcome="alert" if verdict.raise_alert else "skip",
                reason=verdict.reason,
                created_at=now,
            )
            session.add(decision)
            await session.flush()
    except IntegrityError:
        logger.info("event already decided event_id=%s", event.id)
        return None
    if not verdict.raise_alert or customer is None or verdict.dedupe_key is None:
        return None
    try:
        async with session.begin_nested():
            alert = Alert(
                dedupe_key=verdict.dedupe_key,
                alert_type=verdict.alert_type,
                customer_id=customer.customer_id,
                event_id=event.id,
                decision_id=decision.id,
                status="pending",
                plan=[asdict(step) for step in verdict.plan],
                current_step=0,
                step_token=secrets.token_hex(8),
                next_step_at=now,
                context=dict(verdict.context),
                created_at=now,
                updated_at=now,
            )
            session.add(alert)
            await session.flush()
    except IntegrityError:
        logger.info("alert already exists dedupe_key=%s", verdict.dedupe_key)
        return None
    return alert
