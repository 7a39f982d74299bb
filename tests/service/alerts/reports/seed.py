"""Builders for the reports' tests: decisions, alerts, attempts, answers and hand-offs written
straight into the tables (as the loop would have left them), with times the test chooses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import (
    Alert,
    Customer,
    Decision,
    DeliveryAttempt,
    Event,
    HandOff,
    Response,
    StatusChange,
)

_ids = count(1)
REACHED = {"voice": "completed", "sms": "delivered", "email": "sent"}


def day(d: int, hour: int = 10, month: int = 11) -> datetime:
    """2026-11-<d> at <hour>:00 UTC."""
    return datetime(2026, month, d, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Try:
    """One delivery attempt: its channel and final status; ``sent`` when the provider took it;
    ``after`` seconds after the alert was raised."""

    channel: str
    status: str
    sent: bool = True
    error: str | None = None
    after: float = 30.0


@dataclass(frozen=True)
class Answer:
    intent: str
    channel: str = "voice"
    after: float = 120.0  # seconds after the attempt on that channel started
    handoff: str | None = None  # the hand-off's status, when the answer was routed
    kind: str = "callback"


@dataclass
class Seeder:
    session: AsyncSession
    event_lead: float = 60.0  # seconds from the event's arrival to the alert
    alerts: list[Alert] = field(default_factory=list)

    async def customer(self, ref: str, *, locale: str = "en", segment: str = "") -> Customer:
        c = Customer(external_ref=ref, name=f"Customer {ref}", locale=locale, segment=segment)
        self.session.add(c)
        await self.session.flush()
        return c

    async def decision(
        self,
        customer: Customer | None,
        alert_type: str,
        at: datetime,
        *,
        outcome: str = "alert",
        reason: str = "",
    ) -> Decision:
        n = next(_ids)
        event = Event(
            source="test",
            source_event_id=f"E-{n}",
            event_type="debit_posted",
            account_id=f"ACC-{n}",
            customer_id=customer.id if customer else None,
            created_at=at - timedelta(seconds=self.event_lead),
        )
        self.session.add(event)
        await self.session.flush()
        decision = Decision(
            event_id=event.id or 0,
            alert_type=alert_type,
            customer_id=customer.id if customer else None,
            outcome=outcome,
            reason=reason or f"{alert_type}: holds (event.amount >= 250)",
            created_at=at,
        )
        self.session.add(decision)
        await self.session.flush()
        return decision

    async def skip(
        self, customer: Customer | None, alert_type: str, at: datetime, why: str
    ) -> None:
        await self.decision(customer, alert_type, at, outcome="skip", reason=f"{alert_type}: {why}")

    async def alert(
        self,
        customer: Customer,
        alert_type: str,
        at: datetime,
        *tries: Try,
        answers: tuple[Answer, ...] = (),
        status: str | None = None,
        provider_retries: int = 0,
    ) -> Alert:
        decision = await self.decision(customer, alert_type, at)
        assert customer.id is not None
        n = next(_ids)
        reached = any(t.sent and REACHED[t.channel] == t.status for t in tries)
        alert = Alert(
            dedupe_key=f"{alert_type}:{n}",
            alert_type=alert_type,
            customer_id=customer.id,
            event_id=decision.event_id,
            decision_id=decision.id,
            status=status or ("closed" if answers else "delivered" if reached else "pending"),
            provider_retries=provider_retries,
            created_at=at,
            updated_at=at,
        )
        self.session.add(alert)
        await self.session.flush()
        assert alert.id is not None
        attempts: dict[str, DeliveryAttempt] = {}
        for i, t in enumerate(tries):
            started = at + timedelta(seconds=t.after)
            attempt = DeliveryAttempt(
                alert_id=alert.id,
                step_index=i,
                channel=t.channel,
                address="+15550000000" if t.channel != "email" else "x@example.com",
                status=t.status,
                provider_sid=f"SID-{n}-{i}" if t.sent else None,
                sending_started_at=started,
                error=t.error,
                created_at=started,
                updated_at=started,
            )
            self.session.add(attempt)
            await self.session.flush()
            attempts.setdefault(t.channel, attempt)
            if t.sent and REACHED[t.channel] == t.status:
                self.session.add(
                    StatusChange(
                        entity="alert",
                        entity_id=alert.id,
                        from_status="delivering",
                        event="reach",
                        to_status="delivered",
                        reason=f"{t.channel} {t.status}",
                        created_at=started + timedelta(seconds=5),
                    )
                )
        for j, a in enumerate(answers):
            attempt_row = attempts.get(a.channel)
            base = attempt_row.sending_started_at if attempt_row else at
            assert base is not None
            response = Response(
                dedupe_key=f"R-{n}-{j}",
                alert_id=alert.id,
                attempt_id=attempt_row.id if attempt_row else None,
                customer_id=customer.id,
                channel=a.channel,
                intent=a.intent,
                created_at=base + timedelta(seconds=a.after),
            )
            self.session.add(response)
            await self.session.flush()
            if a.handoff:
                self.session.add(
                    HandOff(
                        response_id=response.id or 0,
                        alert_id=alert.id,
                        customer_id=customer.id,
                        kind=a.kind,
                        status=a.handoff,
                        created_at=response.created_at,
                    )
                )
        await self.session.flush()
        self.alerts.append(alert)
        return alert
