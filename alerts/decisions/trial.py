"""A trial run of an unpublished alert type against the latest ingested events.

The studio's "test against recent events": the last events are decided for the draft exactly as
``evaluate`` decides them (its bulk load and ``_decide``, so the rules engine's matching,
preferences and hours), without the customer's earlier alerts (a trial says whether the event
would fire, not whether it already has) and without writing anything.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.decisions.evaluate import _decide, _DecisionRow, _load, as_claimed, centre_views
from alerts.deps import AlertDeps
from alerts.models import Event
from rules.alert_types import AlertTypeSpec
from rules.facts import CustomerView

TRIAL_EVENTS = 50


@dataclass(frozen=True, slots=True)
class TrialLine:
    """What the draft would have done with one event."""

    event_id: int
    event_type: str
    received: datetime
    summary: str  # "750.00 EUR, Shop Ltd"
    customer: str  # "Alice Martin (C-1001)", or "" when no customer owns the account
    fired: bool
    reason: str


def _summary(event: Event) -> str:
    money = f"{event.amount:.2f} {event.currency or ''}".strip() if event.amount is not None else ""
    return ", ".join(p for p in (money, event.description or "") if p)


async def trial_run(
    *, deps: AlertDeps, spec: AlertTypeSpec, now: datetime, limit: int = TRIAL_EVENTS
) -> list[TrialLine]:
    """The last ``limit`` events of the draft's event types, newest first, decided for ``spec``
    as if it were published and enabled."""
    trial = spec.model_copy(update={"enabled": True})
    async with deps.sessions() as session:
        events = await _latest(session, spec.trigger.event_types, limit)
        centre = await centre_views(deps, session, [trial], now)
        claimed = await as_claimed(session, events)
        data = await _load(session, claimed, now, timedelta(0))
        data.recent = defaultdict(list)
        by_type = {t: [trial] for t in spec.trigger.event_types}
        decisions, _ = _decide(claimed, data, by_type, centre, now)
        lines = [
            _line(spec, event, decision, data.views)
            for event, decision in zip(events, decisions, strict=True)
        ]
        await session.rollback()  # read only: keep nothing
    return lines


def _line(
    spec: AlertTypeSpec, event: Event, decision: _DecisionRow, customers: dict[int, CustomerView]
) -> TrialLine:
    customer = customers.get(decision["customer_id"] or 0)
    return TrialLine(
        event_id=event.id or 0,
        event_type=event.event_type,
        received=event.created_at,
        summary=_summary(event),
        customer=f"{customer.name} ({customer.ref})" if customer else "",
        fired=decision["outcome"] == "alert",
        reason=str(decision["reason"]).removeprefix(f"{spec.key}: "),
    )


async def _latest(session: AsyncSession, event_types: list[str], limit: int) -> list[Event]:
    rows = await session.exec(
        select(Event)
        .where(col(Event.event_type).in_(event_types))
        .order_by(col(Event.id).desc())
        .limit(limit)
    )
    return list(rows.all())
