"""One page's rows into the single view's models; addresses masked or not, as asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alerts.customers.history.rows import PageRows, group, row_id
from alerts.customers.history.views import (
    AlertView,
    AttemptView,
    DecisionView,
    EventView,
    HandOffView,
    ResponseView,
    StatusMove,
    StatusView,
)
from alerts.customers.history.words import decision_notes, decision_steps
from alerts.models import (
    Alert,
    AttemptEvent,
    Decision,
    DeliveryAttempt,
    Event,
    HandOff,
    Response,
    StatusChange,
)


def same(address: str) -> str:
    return address


@dataclass(frozen=True)
class ViewBuilder:
    """Rows into views; ``show`` masks addresses (or not) as the caller asked."""

    rows: PageRows
    show: Callable[[str], str]

    def status(self, s: AttemptEvent) -> StatusView:
        return StatusView(
            status=s.status,
            provider_status=s.provider_status,
            detail=s.detail,
            applied=s.applied,
            at=s.created_at,
        )

    def attempt(self, t: DeliveryAttempt) -> AttemptView:
        return AttemptView(
            id=row_id(t),
            step=t.step_index,
            channel=t.channel,
            to=self.show(t.address),
            status=t.status,
            provider_sid=t.provider_sid,
            error=t.error,
            created_at=t.created_at,
            history=[self.status(s) for s in self.rows.statuses.get(row_id(t), [])],
        )

    def response(self, r: Response) -> ResponseView:
        return ResponseView(
            id=row_id(r),
            channel=r.channel,
            key=r.key,
            intent=r.intent,
            text=r.text,
            attempt_id=r.attempt_id,
            at=r.created_at,
        )

    def move(self, m: StatusChange) -> StatusMove:
        return StatusMove(
            from_status=m.from_status,
            event=m.event,
            to_status=m.to_status,
            applied=m.applied,
            reason=m.reason,
            actor=m.actor,
            at=m.created_at,
        )

    def handoff(self, h: HandOff) -> HandOffView:
        return HandOffView(
            id=row_id(h),
            kind=h.kind,
            status=h.status,
            response_id=h.response_id,
            at=h.created_at,
            closed_at=h.closed_at,
            context=h.context,
            timeline=[self.move(m) for m in self.rows.moves.get(row_id(h), [])],
        )

    def alert(self, a: Alert) -> AlertView:
        aid = row_id(a)
        return AlertView(
            id=aid,
            type=a.alert_type,
            status=a.status,
            closed_reason=a.closed_reason,
            created_at=a.created_at,
            context=a.context,
            plan=[s.model_copy(update={"address": self.show(s.address)}) for s in a.plan],
            current_step=a.current_step,
            attempts=[self.attempt(t) for t in self.rows.attempts.get(aid, [])],
            responses=[self.response(r) for r in self.rows.responses.get(aid, [])],
            handoffs=[self.handoff(h) for h in self.rows.handoffs.get(aid, [])],
        )

    def decision(self, d: Decision) -> DecisionView:
        return DecisionView(
            alert_type=d.alert_type,
            outcome=d.outcome,
            reason=d.reason,
            at=d.created_at,
            steps=decision_steps(d.detail or {}),
            notes=decision_notes(d.detail or {}),
        )

    def event(self, e: Event, alerts: Sequence[AlertView]) -> EventView:
        return EventView(
            id=row_id(e),
            source=e.source,
            source_event_id=e.source_event_id,
            type=e.event_type,
            account=e.account_id,
            amount=str(e.amount) if e.amount is not None else None,
            currency=e.currency,
            status=e.status,
            booking_date=e.booking_date,
            description=e.description,
            received_at=e.created_at,
            decisions=[self.decision(d) for d in self.rows.decisions.get(row_id(e), [])],
            alerts=list(alerts),
        )

    def events(self) -> tuple[list[EventView], list[AlertView]]:
        """The page's events newest first, each with this page's alerts for it (newest first);
        and the page's alerts that no stored event holds."""
        alerts = group(self.rows.alerts, lambda a: a.event_id)
        events = sorted([*self.rows.alert_events, *self.rows.skipped], key=row_id, reverse=True)
        views = [self.event(e, [self.alert(a) for a in alerts.pop(row_id(e), [])]) for e in events]
        return views, [self.alert(a) for rest in alerts.values() for a in rest]
