"""The screen-pop: everything an agent needs the moment they take a hand-off, on one screen.

Who the customer is, which alert they answered and what it said in the channel they answered
on, what they pressed or replied and when, the event's facts (amount, merchant, ...), their
recent alerts and answers, preferences and consent: the customer's single view
(alerts.customers.history), a few alerts deep, with contacts masked unless the agent's role
may see them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.customers.history import HistoryQuery, customer_history
from alerts.customers.history.views import AlertView, CustomerHistory, ResponseView
from alerts.delivery.messages import alert_words, step_locale
from alerts.deps import AlertDeps
from alerts.models import Alert, DeliveryAttempt, HandOff, Response
from alerts.responses.values import HandOffContext, context_of
from callcentre.console import WorkItem, work_item
from callcentre.queues import list_queues, resolve
from channels.masking import mask
from rules.vocabulary import CHANNELS, Channel

logger = logging.getLogger(__name__)

RECENT_ALERTS = 5


@dataclass(frozen=True, slots=True)
class ScreenPop:
    handoff: HandOff
    item: WorkItem
    context: HandOffContext
    history: CustomerHistory | None
    alert: AlertView | None  # the answered alert, as the single view shows it
    recent: list[AlertView]  # the customer's newest alerts, the answered one included
    answer: ResponseView | None
    sent_by: str | None  # the channel the answered alert reached them on
    sent_to: str | None
    said: str | None  # the alert's words in that channel


async def _said(
    deps: AlertDeps, session: AsyncSession, alert: Alert, channel: str, locale: str
) -> str | None:
    """The alert's text in ``channel``, rendered as it was sent (None if it cannot be now)."""
    if channel not in CHANNELS:
        return None
    typed: Channel = "voice" if channel == "voice" else "sms" if channel == "sms" else "email"
    try:
        return await alert_words(deps, session, alert, typed, locale)
    except (ValueError, KeyError) as exc:  # ContentError is a ValueError
        logger.info("screen-pop: alert_id=%s text not rendered: %s", alert.id, exc)
        return None


async def screen_pop(
    *, deps: AlertDeps, session: AsyncSession, handoff_id: int, mask_contacts: bool
) -> ScreenPop | None:
    """The screen for one hand-off (None if there is no such hand-off)."""
    handoff = await session.get(HandOff, handoff_id)
    if handoff is None:
        return None
    context = context_of(handoff)
    queues = await list_queues(session)
    by_key = {q.key: q for q in queues}
    default = next(q.key for q in queues if q.default)
    item = work_item(handoff, by_key[resolve(handoff.queue, by_key, default)], utcnow())
    history = None
    if context.customer is not None:
        history = await customer_history(
            session=session,
            external_ref=context.customer.ref,
            mask_contacts=mask_contacts,
            query=HistoryQuery(limit=RECENT_ALERTS),
        )
    recent: list[AlertView] = []
    if history is not None:
        recent = [a for e in history.events for a in e.alerts] + history.alerts_without_event
        recent.sort(key=lambda a: a.created_at, reverse=True)
    answered = next((a for a in recent if handoff.alert_id and a.id == handoff.alert_id), None)
    answer = None
    if answered is not None:
        answer = next((r for r in answered.responses if r.id == handoff.response_id), None)
    sent_by = sent_to = said = None
    response = await session.get(Response, handoff.response_id)
    attempt = (
        await session.get(DeliveryAttempt, response.attempt_id)
        if response and response.attempt_id
        else None
    )
    alert = await session.get(Alert, handoff.alert_id) if handoff.alert_id else None
    if attempt is not None and alert is not None:
        sent_by = attempt.channel
        sent_to = mask(attempt.address) if mask_contacts else attempt.address
        locale = step_locale(alert, attempt.step_index)
        said = await _said(deps, session, alert, attempt.channel, locale)
    return ScreenPop(
        handoff=handoff,
        item=item,
        context=context,
        history=history,
        alert=answered,
        recent=recent,
        answer=answer,
        sent_by=sent_by,
        sent_to=sent_to,
        said=said,
    )
