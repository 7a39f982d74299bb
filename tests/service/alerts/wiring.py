"""The rules engine wired into the live system: shared builders, readers and the ``wired``
fixture's type for the decision and delivery service tests.

Every test passes an explicit ``now``; nothing sleeps. Sends go to fake channels and enqueues to
a recording queue, so what a customer would get (and when) is read straight off them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from alerts.alert_types.store import get_spec, save_spec
from alerts.customers.preferences import (
    ConsentIn,
    PreferenceIn,
    contact_points,
    save_preference,
    set_consent,
)
from alerts.customers.records import CustomerIn, upsert_customer
from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery.statuses import apply_status
from alerts.delivery.steps import run_step
from alerts.deps import AlertDeps
from alerts.models import Alert, ContactPoint, Customer, Decision, DeliveryAttempt, Event
from callcentre.api import put_hours
from callcentre.models import LoadSnapshot
from callcentre.state import DAYS, HoursIn
from channels.base import StatusUpdate
from channels.fake import FakeChannel
from tests.factories import attempts_of, make_event

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)  # consent given well before any `now` below
T0 = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # a Wednesday
PHONE = "+15550001111"
EMAIL = "test@example.com"
ACCOUNT = "NL91ABNA0417164300"
QUIET_HOURS = [{"window": "21:00-08:00"}]


def amsterdam(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Amsterdam, as the UTC instant Herald stores."""
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM).astimezone(UTC)


def at(stored: str | datetime) -> datetime:
    """A plan time (ISO text in the JSON plan, or a datetime) as an aware UTC datetime."""
    value = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return value.astimezone(UTC)


class RecordingQueue:
    """Captures enqueued steps instead of queueing them (as in test_sweep_and_types)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def enqueue_step(self, **kwargs: Any) -> bool:
        self.calls.append(kwargs)
        return True


@dataclass
class Wired:
    deps: AlertDeps
    queue: RecordingQueue
    voice: FakeChannel
    sms: FakeChannel
    email: FakeChannel


# --- builders -------------------------------------------------------------------------------


async def make_person(
    deps: AlertDeps,
    *,
    tz: str = "UTC",
    order: tuple[str, ...] = ("voice", "sms", "email"),
    segment: str = "",
    marketing: bool = False,
) -> Customer:
    """A customer with one phone and one email, consent given long ago (marketing if asked)."""
    async with deps.sessions() as session:
        customer, _ = await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref="C-1",
                name="Test Person",
                timezone=tz,
                accounts=[ACCOUNT],
                phones=[PHONE],
                emails=[EMAIL],
                channel_order=list(order),
                segment=segment,
            ),
        )
        assert customer.id is not None
        consent = ConsentIn(
            source="web_form", given_at=LONG_AGO, confirmed=marketing, marketing=marketing
        )
        for contact in await contact_points(session, customer.id):
            await set_consent(session, contact=contact, consent=consent, actor="test", now=LONG_AGO)
        await session.commit()
        return customer


async def prefer(deps: AlertDeps, customer: Customer, alert_type: str = "*", **fields: Any) -> None:
    assert customer.id is not None
    async with deps.sessions() as session:
        await save_preference(
            session,
            customer_id=customer.id,
            alert_type=alert_type,
            data=PreferenceIn.model_validate(fields),
            actor="test",
            now=LONG_AGO,
        )
        await session.commit()


async def change_spec(deps: AlertDeps, key: str, change: Callable[[dict[str, Any]], None]) -> None:
    """What an administrator does in the alert-type editor: load, change, save a new version."""
    async with deps.sessions() as session:
        spec = await get_spec(session, key)
        assert spec is not None
        data = spec.as_json()
        change(data)
        await save_spec(session, data, actor="test", note="test policy")


def voice_policy(
    *, attempts: int, interval: int, fallback_wait: int
) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        delivery = data["delivery"]
        delivery["fallback_wait_seconds"] = fallback_wait
        delivery["channels"]["voice"] = {
            **delivery["channels"]["voice"],
            "attempts": attempts,
            "interval_seconds": interval,
        }

    return change


async def push_load(
    deps: AlertDeps, now: datetime, *, logged_in: int, available: int, queue: int
) -> None:
    """The telephony platform's load push (POST /api/v1/callcentre/load), received at ``now``."""
    async with deps.sessions() as session:
        session.add(
            LoadSnapshot(
                agents_logged_in=logged_in,
                agents_available=available,
                queue_length=queue,
                received_at=now,
            )
        )
        await session.commit()


async def office_hours(deps: AlertDeps) -> None:
    """PUT /api/v1/callcentre/hours: weekdays 09:00-17:00 in Amsterdam."""
    weekly = {day: ["09:00-17:00"] for day in DAYS[:5]}
    await put_hours(HoursIn(timezone="Europe/Amsterdam", weekly=weekly), deps)


async def raise_alert(wired: Wired, now: datetime, **event: Any) -> Alert:
    """Store one event, evaluate at ``now``, and return the single alert it raised."""
    await make_event(wired.deps, **event)
    created = await evaluate_pending(deps=wired.deps, now=now)
    assert len(created) == 1, created
    return await load_alert(wired.deps, created[0])


# --- readers --------------------------------------------------------------------------------


async def load_alert(deps: AlertDeps, alert_id: int | None) -> Alert:
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        return alert


def notes_of(decision: Decision) -> list[str]:
    """The notes of each check, as the decision stored them (rows.stored_detail)."""
    notes = decision.detail["notes"]
    assert isinstance(notes, list)
    return [str(n) for n in notes]


async def decision_of(deps: AlertDeps, alert_type: str, event_id: str) -> Decision:
    async with deps.sessions() as session:
        return (
            await session.exec(
                select(Decision)
                .join(Event, col(Event.id) == col(Decision.event_id))
                .where(Decision.alert_type == alert_type, Event.source_event_id == event_id)
            )
        ).one()


async def phone_of(deps: AlertDeps, customer: Customer) -> ContactPoint:
    async with deps.sessions() as session:
        return (
            await session.exec(
                select(ContactPoint).where(
                    ContactPoint.customer_id == customer.id, ContactPoint.kind == "phone"
                )
            )
        ).one()


async def only_attempt(deps: AlertDeps, alert_id: int | None, step_index: int) -> DeliveryAttempt:
    assert alert_id is not None
    return next(a for a in await attempts_of(deps, alert_id) if a.step_index == step_index)


def next_at(alert: Alert) -> datetime:
    """When the alert's current step is due."""
    assert alert.next_step_at is not None
    return at(alert.next_step_at)


def channels_of(alert: Alert) -> list[str]:
    return [step.channel for step in alert.plan]


def status(attempt: DeliveryAttempt, state: str, provider: str, **extra: Any) -> StatusUpdate:
    return StatusUpdate(
        provider_sid=attempt.provider_sid or "", status=state, provider_status=provider, **extra
    )


async def run(wired: Wired, alert: Alert, index: int, now: datetime) -> str:
    """The worker's job for step ``index`` woke at ``now``; returns what it did."""
    assert alert.id is not None
    result = await run_step(deps=wired.deps, alert_id=alert.id, step_index=index, now=now)
    return result.action


async def report(
    wired: Wired,
    alert: Alert,
    index: int,
    update: Callable[[DeliveryAttempt], StatusUpdate],
    now: datetime,
) -> Alert:
    """The provider's status callback for step ``index`` at ``now``; the alert afterwards."""
    attempt = await only_attempt(wired.deps, alert.id, index)
    assert attempt.id is not None
    outcome = await apply_status(
        deps=wired.deps, attempt_id=attempt.id, update=update(attempt), now=now
    )
    assert outcome == "applied"
    return await load_alert(wired.deps, alert.id)
