"""Hand-off: a customer's answer becomes work for the call centre, with everything on screen."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.lifecycle import HANDOFF_OPEN
from alerts.models import Alert, Customer, Event, HandOff, Response
from alerts.outbox import emit
from alerts.responses.values import (
    AlertView,
    AnswerView,
    CustomerView,
    EventView,
    HandOffContext,
    HandOffKind,
    option_for,
    options_of,
)

logger = logging.getLogger(__name__)


async def build_context(*, session: AsyncSession, response: Response) -> HandOffContext:
    """The agent's screen: who, which alert about what, how they answered, and when."""
    answer = AnswerView.model_validate(
        {
            "channel": response.channel,
            "key": response.key,
            "intent": response.intent,
            "text": response.text,
            "at": response.created_at,
        }
    )
    customer = await session.get(Customer, response.customer_id) if response.customer_id else None
    alert = await session.get(Alert, response.alert_id) if response.alert_id else None
    event = await session.get(Event, alert.event_id) if alert and alert.event_id else None
    fields: dict[str, object] = {"answer": answer}
    if customer:
        fields["customer"] = CustomerView(
            ref=customer.external_ref,
            name=customer.name,
            locale=customer.locale,
            timezone=customer.timezone,
        )
    if alert:
        fields["alert"] = AlertView.model_validate(
            {
                "id": alert.id,
                "type": alert.alert_type,
                "status": alert.status,
                "raised_at": alert.created_at,
                **alert.context,
            }
        )
    if event:
        fields["event"] = EventView(
            type=event.event_type,
            account=event.account_id,
            amount=str(event.amount) if event.amount is not None else None,
            currency=event.currency,
            description=event.description,
            booking_date=event.booking_date.isoformat() if event.booking_date else None,
        )
    return HandOffContext.model_validate(fields)


TRIAL_CLOSED = "studio trial: closed when it was created, never shown to agents"


def _queue_of(alert: Alert | None, response: Response) -> str | None:
    """The queue the answered option routes to (None: the centre's default queue)."""
    option = option_for(options_of(alert), response.intent)
    return option.queue if option else None


async def hand_off(
    *, session: AsyncSession, response: Response, kind: HandOffKind, now: datetime
) -> HandOff:
    """Create (once per response) the hand-off record the agent console shows. A studio
    trial's hand-off is closed as it is created (``completed``, with the reason): no agent's
    list, no routing, no board and no CRM event ever sees it."""
    assert response.id is not None
    existing = (
        await session.exec(select(HandOff).where(HandOff.response_id == response.id))
    ).first()
    if existing:
        return existing
    context = await build_context(session=session, response=response)
    alert = await session.get(Alert, response.alert_id) if response.alert_id else None
    trial = bool(alert and alert.trial)
    if trial:
        context = context.model_copy(update={"why": TRIAL_CLOSED})
    handoff = HandOff(
        queue=_queue_of(alert, response),
        response_id=response.id,
        alert_id=response.alert_id,
        customer_id=response.customer_id,
        kind=kind,
        status="completed" if trial else "queued",
        context=context.dump(),
        created_at=now,
        closed_at=now if trial else None,
    )
    try:
        async with session.begin_nested():
            session.add(handoff)
            await session.flush()
    except IntegrityError:
        found = (
            await session.exec(select(HandOff).where(HandOff.response_id == response.id))
        ).one()
        return found
    if trial:
        logger.info("trial hand-off closed at creation handoff_id=%s", handoff.id)
        return handoff
    emit(
        session,
        kind="handoff.created",
        entity="handoff",
        entity_id=handoff.id,
        customer_id=handoff.customer_id,
        data={
            "handoff_id": handoff.id,
            "kind": kind,
            "alert_id": handoff.alert_id,
            "response_id": response.id,
            "status": handoff.status,
            "queue": handoff.queue,
        },
        now=now,
    )
    logger.info(
        "hand-off created handoff_id=%s kind=%s alert_id=%s", handoff.id, kind, response.alert_id
    )
    return handoff


async def list_handoffs(
    *, session: AsyncSession, status: str | None, limit: int = 100, offset: int = 0
) -> list[HandOff]:
    """Hand-offs oldest first: those in ``status`` ("open": every status not yet final, see
    alerts.lifecycle.HANDOFF), or all when it is None."""
    query = select(HandOff).order_by(col(HandOff.id)).offset(offset).limit(limit)
    if status is not None:
        wanted = HANDOFF_OPEN if status == "open" else frozenset({status})
        query = query.where(col(HandOff.status).in_(wanted))
    return list((await session.exec(query)).all())
