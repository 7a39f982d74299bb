"""The rules engine wired into the live system: evaluate_pending decides with the customer's
preferences, consent, caps, dedupe windows and the call centre's state; run_step and
apply_status follow the plan's windows, deadlines, expiry, retry policy and voice pacing.

Every test passes an explicit ``now``; nothing sleeps. Sends go to fake channels and enqueues to
a recording queue, so what a customer would get (and when) is read straight off them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
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
from callcentre.live_pacing import PAUSED_RECHECK_S, VoicePacer
from callcentre.models import LoadSnapshot
from callcentre.state import DAYS, HoursIn
from channels.base import ContactProblem, PermanentChannelError, StatusUpdate
from channels.fake import FakeChannel
from channels.twilio_sms import TwilioSmsChannel
from herald.runtime import Runtime, voice_pacer
from rules.centre import spread_offset
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


@pytest.fixture
async def wired(runtime: Runtime) -> AsyncIterator[Wired]:
    """The runtime's deps with fake channels and a recording queue (the real ones restored)."""
    deps = runtime.deps
    real_channels, real_queue = deps.channels, deps.queue
    fakes = {kind: FakeChannel(kind=kind, key=f"fake_{kind}") for kind in ("voice", "sms", "email")}
    queue = RecordingQueue()
    deps.channels, deps.queue = dict(fakes), queue
    try:
        yield Wired(deps, queue, fakes["voice"], fakes["sms"], fakes["email"])
    finally:
        deps.channels, deps.queue = real_channels, real_queue


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


# --- 1. quiet hours -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("evening", "wait_hours"),
    [
        ((2026, 6, 10), 9.5),  # summer time both nights
        ((2026, 10, 24), 10.5),  # clocks go back at 03:00 on the 25th: the night is an hour longer
        ((2027, 3, 27), 8.5),  # clocks go forward at 02:00 on the 28th: an hour shorter
    ],
    ids=["summer", "dst-ends", "dst-starts"],
)
async def test_an_event_in_quiet_hours_is_planned_for_08_00_local_next_morning(
    wired: Wired, evening: tuple[int, int, int], wait_hours: float
) -> None:
    customer = await make_person(wired.deps, tz="Europe/Amsterdam")
    await prefer(wired.deps, customer, quiet_hours=QUIET_HOURS)
    now = amsterdam(*evening, 22, 30)
    tomorrow = date(*evening) + timedelta(days=1)
    morning = amsterdam(tomorrow.year, tomorrow.month, tomorrow.day, 8)
    nine_pm = amsterdam(tomorrow.year, tomorrow.month, tomorrow.day, 21)

    alert = await raise_alert(wired, now)

    first = alert.plan[0]
    assert at(first.not_before) == morning
    assert at(first.deadline) == nine_pm  # start before quiet hours begin again
    assert "quiet hours 21:00-08:00" in first.reason
    assert next_at(alert) == morning
    [enqueued] = wired.queue.calls
    assert enqueued["step_index"] == 0
    assert enqueued["defer_seconds"] == wait_hours * 3600


# --- 2. opt-out -----------------------------------------------------------------------------


async def test_opting_out_of_a_type_that_is_not_mandatory_skips_it(wired: Wired) -> None:
    customer = await make_person(wired.deps)
    await prefer(wired.deps, customer, "payment_received", opted_out=True)
    await make_event(wired.deps, event_type="credit_posted", amount="300.00", event_id="E-1")

    assert await evaluate_pending(deps=wired.deps, now=T0) == []

    decision = await decision_of(wired.deps, "payment_received", "E-1")
    assert decision.outcome == "skip"
    assert decision.reason == "payment_received: the customer opted out of payment_received"
    assert wired.queue.calls == []


async def test_opting_out_of_a_mandatory_type_still_alerts_with_a_note(wired: Wired) -> None:
    customer = await make_person(wired.deps)
    await prefer(wired.deps, customer, "large_debit", opted_out=True)

    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")

    decision = await decision_of(wired.deps, "large_debit", "E-1")
    assert decision.outcome == "alert" and alert.decision_id == decision.id
    notes = decision.detail["notes"]
    assert "the customer opted out of large_debit, but large_debit is mandatory" in notes


# --- 3. consent -----------------------------------------------------------------------------


async def test_a_contact_point_whose_consent_was_withdrawn_is_not_used(wired: Wired) -> None:
    customer = await make_person(wired.deps)
    phone = await phone_of(wired.deps, customer)
    async with wired.deps.sessions() as session:
        contact = await session.get(ContactPoint, phone.id)
        assert contact is not None
        withdrawn = ConsentIn(source="web_form", withdrawn=True)
        await set_consent(session, contact=contact, consent=withdrawn, actor="test", now=T0)
        await session.commit()

    alert = await raise_alert(wired, T0 + timedelta(minutes=1), amount="750.00", event_id="E-1")

    assert channels_of(alert) == ["email"]
    assert all(step.contact_point_id != str(phone.id) for step in alert.plan)
    notes = (await decision_of(wired.deps, "large_debit", "E-1")).detail["notes"]
    for channel in ("voice", "sms"):
        assert any(
            note.startswith(f"{channel} to phone {phone.id}") and "consent withdrawn" in note
            for note in notes
        ), notes


async def enable_savings_offer(deps: AlertDeps) -> None:
    await change_spec(deps, "savings_offer", lambda data: data.update(enabled=True))


async def test_marketing_is_skipped_without_confirmed_marketing_consent(wired: Wired) -> None:
    await enable_savings_offer(wired.deps)
    await make_person(wired.deps, segment="retail")
    await make_event(wired.deps, event_type="credit_posted", amount="2500.00", event_id="E-1")

    await evaluate_pending(deps=wired.deps, now=T0)

    decision = await decision_of(wired.deps, "savings_offer", "E-1")
    assert decision.outcome == "skip"
    assert "no channel may be used" in decision.reason
    assert decision.reason.count("no confirmed marketing consent") == 2  # the email and the sms


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        # The text waits for 08:00; the email follows a day later (email is exempt).
        (("sms", "email"), [("sms", (2026, 6, 11, 8)), ("email", (2026, 6, 12, 8))]),
        # The email goes now; the text a day later would be 22:30, so it waits for 08:00.
        (("email", "sms"), [("email", (2026, 6, 10, 22, 30)), ("sms", (2026, 6, 12, 8))]),
    ],
    ids=["text-first", "email-first"],
)
async def test_marketing_with_confirmed_consent_calls_and_texts_only_08_to_21_local(
    wired: Wired,
    order: tuple[str, ...],
    expected: list[tuple[str, tuple[int, ...]]],
) -> None:
    await enable_savings_offer(wired.deps)
    await make_person(
        wired.deps, tz="Europe/Amsterdam", order=order, segment="retail", marketing=True
    )
    await make_event(wired.deps, event_type="credit_posted", amount="2500.00", event_id="E-1")

    await evaluate_pending(deps=wired.deps, now=amsterdam(2026, 6, 10, 22, 30))

    decision = await decision_of(wired.deps, "savings_offer", "E-1")
    assert decision.outcome == "alert", decision.reason
    async with wired.deps.sessions() as session:
        alert = (await session.exec(select(Alert).where(Alert.decision_id == decision.id))).one()
    assert [(s.channel, at(s.not_before)) for s in alert.plan] == [
        (channel, amsterdam(*when)) for channel, when in expected
    ]
    for step in alert.plan:
        if step.channel in ("voice", "sms"):
            start, deadline = (
                at(t).astimezone(AMSTERDAM) for t in (step.not_before, step.deadline)
            )
            assert 8 <= start.hour < 21, step
            assert deadline.date() == start.date() and deadline.hour <= 21, step
            assert "marketing calls and texts only 08:00-21:00 local" in step.reason


# --- 4. frequency caps ----------------------------------------------------------------------


async def cap_one_a_day(wired: Wired) -> None:
    customer = await make_person(wired.deps)
    await prefer(wired.deps, customer, caps=[{"max_alerts": 1, "period_seconds": 86400}])
    await raise_alert(wired, T0, event_type="credit_posted", amount="300.00", event_id="E-1")


async def test_a_frequency_cap_skips_the_second_alert_of_the_day(wired: Wired) -> None:
    await cap_one_a_day(wired)
    await make_event(wired.deps, event_type="credit_posted", amount="400.00", event_id="E-2")

    assert await evaluate_pending(deps=wired.deps, now=T0 + timedelta(hours=1)) == []

    decision = await decision_of(wired.deps, "payment_received", "E-2")
    assert decision.outcome == "skip"
    assert decision.reason == (
        "payment_received: frequency cap reached: 1 sent, at most 1 alerts of any type per day"
    )


async def test_a_frequency_cap_does_not_hold_back_a_mandatory_alert(wired: Wired) -> None:
    await cap_one_a_day(wired)

    alert = await raise_alert(
        wired, T0 + timedelta(hours=1), amount="750.00", event_id="E-2", event_type="debit_posted"
    )

    assert alert.alert_type == "large_debit"
    notes = (await decision_of(wired.deps, "large_debit", "E-2")).detail["notes"]
    assert "large_debit is mandatory: frequency caps do not hold it back" in notes


# --- 5. dedupe window -----------------------------------------------------------------------


async def test_one_low_balance_alert_per_account_per_local_day(wired: Wired) -> None:
    await make_person(wired.deps, tz="Europe/Amsterdam")
    low = {"event_type": "balance_closing_booked", "amount": "50.00"}
    # 00:30 and 10:00 on 11 June in Amsterdam: different UTC dates, the same local day.
    first = await raise_alert(wired, amsterdam(2026, 6, 11, 0, 30), event_id="B-1", **low)
    await make_event(wired.deps, event_id="B-2", **low)
    same_day = await evaluate_pending(deps=wired.deps, now=amsterdam(2026, 6, 11, 10))
    next_day = await raise_alert(wired, amsterdam(2026, 6, 12, 0, 30), event_id="B-3", **low)

    assert first.dedupe_key == f"low_balance:{ACCOUNT}:2026-06-11"
    assert same_day == []
    second = await decision_of(wired.deps, "low_balance", "B-2")
    assert second.outcome == "skip"
    assert second.reason.startswith(f"low_balance: duplicate of the alert {first.dedupe_key!r}")
    assert next_day.dedupe_key == f"low_balance:{ACCOUNT}:2026-06-12"


# --- 6. call-centre linkage -----------------------------------------------------------------

CLOSED = amsterdam(2026, 6, 10, 21)  # Wednesday evening; the centre opens Thursday 09:00
NEXT_OPENING = amsterdam(2026, 6, 11, 9)


async def test_closed_centre_turns_the_agent_option_into_a_callback(wired: Wired) -> None:
    await office_hours(wired.deps)
    await make_person(wired.deps)

    alert = await raise_alert(wired, CLOSED, amount="750.00", event_id="E-1")

    assert [(o["key"], o["intent"]) for o in alert.options] == [
        ("1", "callback"),
        ("2", "confirm"),
        ("9", "repeat"),
    ]
    assert alert.options[0]["label"] == "Ask us to call you back"
    decision = await decision_of(wired.deps, "large_debit", "E-1")
    assert decision.detail["centre_action"] == "callback_instead"
    assert at(alert.plan[0].not_before) == CLOSED  # not held: sent now, with a callback


async def test_closed_centre_with_hold_waits_for_the_opening_spread(wired: Wired) -> None:
    await office_hours(wired.deps)
    await change_spec(wired.deps, "large_debit", lambda d: d["centre"].update(when_closed="hold"))
    await make_person(wired.deps)

    alert = await raise_alert(wired, CLOSED, amount="750.00", event_id="E-1")

    spread = spread_offset(alert.dedupe_key, 1800)  # hold_spread_seconds (default)
    first = at(alert.plan[0].not_before)
    assert first == NEXT_OPENING + timedelta(seconds=spread)
    assert NEXT_OPENING <= first < NEXT_OPENING + timedelta(seconds=1800)
    assert any(o["intent"] == "agent" for o in alert.options)  # held so an agent can answer
    [enqueued] = wired.queue.calls
    assert enqueued["defer_seconds"] == (first - CLOSED).total_seconds()


async def test_overloaded_centre_offers_a_callback_instead_of_an_agent(wired: Wired) -> None:
    await make_person(wired.deps)
    await push_load(wired.deps, T0, logged_in=5, available=3, queue=20)  # threshold is 15

    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")

    decision = await decision_of(wired.deps, "large_debit", "E-1")
    assert decision.detail["centre_action"] == "callback_instead"
    assert "centre overloaded" in " ".join(decision.detail["notes"])
    assert [o["intent"] for o in alert.options] == ["callback", "confirm", "repeat"]


async def test_overloaded_centre_with_hold_waits_the_recheck_time_plus_spread(wired: Wired) -> None:
    await change_spec(
        wired.deps, "large_debit", lambda d: d["centre"].update(when_overloaded="hold")
    )
    await make_person(wired.deps)
    await push_load(wired.deps, T0, logged_in=5, available=3, queue=20)

    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")

    spread = spread_offset(alert.dedupe_key, 1800)
    assert at(alert.plan[0].not_before) == T0 + timedelta(seconds=300 + spread)


# --- 7. retry policy ------------------------------------------------------------------------


async def two_calls_then_text(wired: Wired) -> Alert:
    """large_debit as catalogued: two calls 15 minutes apart, then a text 5 minutes later."""
    await change_spec(
        wired.deps, "large_debit", voice_policy(attempts=2, interval=900, fallback_wait=300)
    )
    await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert channels_of(alert) == ["voice", "voice", "sms", "email"]
    assert await run(wired, alert, 0, T0) == "sent"
    return alert


def no_answer(attempt: DeliveryAttempt) -> StatusUpdate:
    return status(attempt, "no_answer", "no-answer")


async def test_an_unanswered_call_is_retried_after_the_interval(wired: Wired) -> None:
    alert = await two_calls_then_text(wired)
    ended = T0 + timedelta(seconds=40)

    alert = await report(wired, alert, 0, no_answer, ended)

    retry = alert.plan[alert.current_step]
    assert (alert.current_step, retry.channel, retry.attempt) == (1, "voice", 2)
    assert next_at(alert) == ended + timedelta(seconds=900)
    assert wired.queue.calls[-1] == {
        "alert_id": alert.id,
        "step_index": 1,
        "channel": "voice",
        "defer_seconds": 900.0,
    }


async def test_the_second_unanswered_call_falls_back_to_sms_after_the_wait(wired: Wired) -> None:
    alert = await two_calls_then_text(wired)
    alert = await report(wired, alert, 0, no_answer, T0 + timedelta(seconds=40))
    retry_at = next_at(alert)
    assert await run(wired, alert, 1, retry_at) == "sent"
    ended = retry_at + timedelta(seconds=40)

    alert = await report(wired, alert, 1, no_answer, ended)

    assert (alert.current_step, alert.plan[2].channel) == (2, "sms")
    assert next_at(alert) == ended + timedelta(seconds=300)
    assert wired.queue.calls[-1]["channel"] == "sms"
    assert wired.queue.calls[-1]["defer_seconds"] == 300.0
    assert len(wired.voice.sent) == 2 and wired.sms.sent == []


async def test_a_voicemail_falls_back_to_sms_without_a_second_call(wired: Wired) -> None:
    alert = await two_calls_then_text(wired)
    ended = T0 + timedelta(seconds=60)

    alert = await report(
        wired,
        alert,
        0,
        lambda a: status(a, "completed", "completed", answered_by="machine_start"),
        ended,
    )

    assert alert.status == "pending"  # a voicemail is not the customer reached
    assert (alert.current_step, alert.plan[2].channel) == (2, "sms")  # voice attempt 2 skipped
    # The fallback waits fallback_wait, and never starts before the text's planned time.
    planned_sms = at(alert.plan[2].not_before)
    expected = max(ended + timedelta(seconds=300), planned_sms)
    assert next_at(alert) == expected
    assert wired.queue.calls[-1]["step_index"] == 2
    assert len(wired.voice.sent) == 1


# --- 8. permanent errors --------------------------------------------------------------------


async def text_first(wired: Wired) -> tuple[Customer, Alert]:
    """A customer who wants a text first, then a call, then an email (large_debit tuned by the
    runtime fixture: one call, no wait before falling back)."""
    customer = await make_person(wired.deps, order=("sms", "voice", "email"))
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert channels_of(alert) == ["sms", "voice", "email"]
    return customer, alert


async def later_alert(wired: Wired) -> tuple[Alert, list[str]]:
    later = T0 + timedelta(hours=1)
    alert = await raise_alert(wired, later, amount="800.00", event_id="E-2")
    notes = (await decision_of(wired.deps, "large_debit", "E-2")).detail["notes"]
    return alert, notes


async def test_an_invalid_number_is_flagged_and_never_used_again(wired: Wired) -> None:
    customer, alert = await text_first(wired)
    # As the Twilio SMS channel classifies error 21211 (tests/unit/channels/test_errors.py).
    wired.sms.failures.append(
        PermanentChannelError(
            "Invalid 'To' Phone Number", code="21211", contact_problem="invalid_address"
        )
    )

    assert await run(wired, alert, 0, T0) == "failed"

    phone = await phone_of(wired.deps, customer)
    assert phone.invalid_at == T0
    alert = await load_alert(wired.deps, alert.id)
    # The call to the same number is skipped too; the email goes at once.
    assert (alert.current_step, alert.plan[2].channel) == (2, "email")
    assert next_at(alert) == T0
    assert wired.queue.calls[-1] == {
        "alert_id": alert.id,
        "step_index": 2,
        "channel": "email",
        "defer_seconds": 0.0,
    }
    assert await run(wired, alert, 2, T0) == "sent"

    again, notes = await later_alert(wired)
    assert channels_of(again) == ["email"]
    assert any(
        note.startswith(f"sms to phone {phone.id}") and "was reported invalid" in note
        for note in notes
    ), notes


def sms_problem(code: str) -> ContactProblem | None:
    """What the Twilio SMS channel's parse_status says about the number for ``code``."""
    update = TwilioSmsChannel.parse_status(
        None,  # type: ignore[arg-type]  # parse_status reads only the parameters
        {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": code},
    )
    return update.contact_problem


def sms_flags(phone: ContactPoint) -> dict[str, object]:
    return {
        "sms_capable": phone.sms_capable,
        "sms_opted_out": phone.sms_opted_out_at is not None,
        "invalid": phone.invalid_at is not None,
    }


@pytest.mark.parametrize(
    ("code", "flag", "note"),
    [
        ("30006", "sms_capable", "is a landline"),
        ("21614", "sms_capable", "is a landline"),
        ("21610", "sms_opted_out", "opted out of SMS (STOP or carrier)"),
    ],
)
async def test_an_sms_error_callback_flags_the_number_for_texts_only(
    wired: Wired, code: str, flag: str, note: str
) -> None:
    customer, alert = await text_first(wired)
    assert await run(wired, alert, 0, T0) == "sent"
    reported = T0 + timedelta(seconds=20)

    alert = await report(
        wired,
        alert,
        0,
        lambda a: status(
            a, "undelivered", "undelivered", error_code=code, contact_problem=sms_problem(code)
        ),
        reported,
    )

    phone = await phone_of(wired.deps, customer)
    unflagged = {"sms_capable": True, "sms_opted_out": False, "invalid": False}
    assert sms_flags(phone) == {**unflagged, flag: not unflagged[flag]}
    assert (alert.current_step, alert.plan[1].channel) == (1, "voice")  # the number still rings
    assert next_at(alert) == reported
    assert wired.queue.calls[-1]["defer_seconds"] == 0.0

    again, notes = await later_alert(wired)
    assert channels_of(again) == ["voice", "email"]
    assert any(n.startswith(f"sms to phone {phone.id}") and note in n for n in notes), notes


# --- 9. deadline ----------------------------------------------------------------------------


async def test_a_step_woken_after_its_deadline_moves_out_of_quiet_hours(wired: Wired) -> None:
    customer = await make_person(wired.deps, tz="Europe/Amsterdam")
    await prefer(wired.deps, customer, quiet_hours=QUIET_HOURS)
    evening = amsterdam(2026, 6, 10, 20)
    alert = await raise_alert(wired, evening, amount="750.00", event_id="E-1")
    assert at(alert.plan[0].deadline) == amsterdam(2026, 6, 10, 21)
    woke = amsterdam(2026, 6, 10, 22)  # the worker was down for two hours
    morning = amsterdam(2026, 6, 11, 8)

    assert await run(wired, alert, 0, woke) == "deferred"

    assert wired.voice.sent == [] and await attempts_of(wired.deps, alert.id or 0) == []
    alert = await load_alert(wired.deps, alert.id)
    assert next_at(alert) == morning
    assert at(alert.plan[0].not_before) == morning
    assert "moved: its deadline" in alert.plan[0].reason
    assert wired.queue.calls[-1] == {
        "alert_id": alert.id,
        "step_index": 0,
        "channel": "voice",
        "defer_seconds": (morning - woke).total_seconds(),
        "run_key": f":t{int(morning.timestamp())}",
    }
    assert await run(wired, alert, 0, morning) == "sent"  # the moved run goes out


# --- 10. expiry -----------------------------------------------------------------------------


async def test_a_step_woken_after_the_alert_expired_sends_nothing(wired: Wired) -> None:
    await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert alert.expires_at == T0 + timedelta(days=1)  # large_debit's ttl

    assert await run(wired, alert, 0, alert.expires_at) == "skipped"

    alert = await load_alert(wired.deps, alert.id)
    assert alert.status == "expired"
    assert (alert.closed_reason or "").startswith("expired at")
    assert await attempts_of(wired.deps, alert.id or 0) == []
    assert wired.voice.sent == wired.sms.sent == wired.email.sent == []


# --- 11. voice pacing -----------------------------------------------------------------------


async def test_the_pacer_spaces_calls_released_at_the_same_instant(
    wired: Wired, runtime: Runtime
) -> None:
    await push_load(wired.deps, T0, logged_in=2, available=2, queue=0)
    pacer = voice_pacer(runtime.settings)
    assert pacer is not None
    async with wired.deps.sessions() as session:
        decision = await pacer.rate(session, "large_debit", T0)
        waits = [
            (await pacer.release(session=session, alert_type="large_debit", now=T0))[0]
            for _ in range(5)
        ]
    assert 0 < decision.rate_per_s <= runtime.settings.callcentre.calls_per_second
    spacing = 1 / decision.rate_per_s
    assert waits == pytest.approx([i * spacing for i in range(5)])


async def test_the_pacer_pauses_while_no_agent_is_logged_in(wired: Wired, runtime: Runtime) -> None:
    await push_load(wired.deps, T0, logged_in=0, available=0, queue=0)
    pacer = voice_pacer(runtime.settings)
    assert pacer is not None
    async with wired.deps.sessions() as session:
        wait, reason, reserved = await pacer.release(
            session=session, alert_type="large_debit", now=T0
        )
        assert not reserved  # paused: nothing booked, the step asks again after the wait
    assert wait == PAUSED_RECHECK_S == 60.0
    assert reason.startswith("paused") and "no agents are logged in" in reason


async def test_a_paused_call_looks_again_instead_of_going_after_the_pause(wired: Wired) -> None:
    await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert any(o["intent"] == "agent" for o in alert.options)
    await push_load(wired.deps, T0, logged_in=0, available=0, queue=0)  # the shift ended
    assert await run(wired, alert, 0, T0) == "deferred"
    recheck = T0 + timedelta(seconds=PAUSED_RECHECK_S)

    action = await run(wired, alert, 0, recheck)  # still nobody logged in (load is fresh)

    assert wired.voice.sent == []
    assert action == "deferred"


async def test_a_paced_call_is_deferred_to_its_slot_and_then_placed(wired: Wired) -> None:
    await push_load(wired.deps, T0, logged_in=2, available=2, queue=0)
    await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert any(o["intent"] == "agent" for o in alert.options)
    pacer = wired.deps.pacer
    assert isinstance(pacer, VoicePacer)
    async with wired.deps.sessions() as session:  # another call of this type just went out
        assert (await pacer.release(session=session, alert_type="large_debit", now=T0))[0] == 0

    assert await run(wired, alert, 0, T0) == "deferred"

    assert wired.voice.sent == []
    alert = await load_alert(wired.deps, alert.id)
    slot = next_at(alert)
    assert slot > T0 and alert.plan[0].released_at == slot
    enqueued = wired.queue.calls[-1]
    assert (enqueued["step_index"], enqueued["channel"]) == (0, "voice")
    assert enqueued["defer_seconds"] == pytest.approx((slot - T0).total_seconds())
    assert enqueued["run_key"].startswith(":p")

    assert await run(wired, alert, 0, slot) == "sent"
    assert len(wired.voice.sent) == 1


# --- consent withdrawn while an alert is under way ------------------------------------------


async def test_a_number_whose_consent_is_withdrawn_after_planning_is_not_called(
    wired: Wired,
) -> None:
    customer = await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert alert.plan[0].channel == "voice"
    phone = await phone_of(wired.deps, customer)
    async with wired.deps.sessions() as session:  # the customer withdraws it a minute later
        contact = await session.get(ContactPoint, phone.id)
        assert contact is not None
        withdrawn = ConsentIn(source="preferences_page", withdrawn=True)
        await set_consent(
            session,
            contact=contact,
            consent=withdrawn,
            actor="customer",
            now=T0 + timedelta(minutes=1),
        )
        await session.commit()

    action = await run(wired, alert, 0, T0 + timedelta(minutes=2))

    assert wired.voice.sent == []
    assert action == "failed"  # recorded as a failed attempt, with the reason, for the history


# --- edge cases found in review -------------------------------------------------------------


async def test_a_dedupe_window_longer_than_a_month_still_holds(wired: Wired) -> None:
    def sixty_days_per_account(data: dict[str, Any]) -> None:
        data["dedupe"] = {"window_seconds": 60 * 86400, "key": "{alert_type}:{event.account}"}

    await make_person(wired.deps)
    await change_spec(wired.deps, "large_debit", sixty_days_per_account)
    await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    await make_event(wired.deps, amount="800.00", event_id="E-2")
    assert await evaluate_pending(deps=wired.deps, now=T0 + timedelta(days=40)) == []
    decision = await decision_of(wired.deps, "large_debit", "E-2")
    assert decision.outcome == "skip" and "duplicate" in decision.reason
    await make_event(wired.deps, amount="900.00", event_id="E-3")  # after the window: again
    assert len(await evaluate_pending(deps=wired.deps, now=T0 + timedelta(days=61))) == 1


async def test_a_step_whose_content_is_gone_fails_instead_of_retrying_forever(
    wired: Wired,
) -> None:
    await make_person(wired.deps, order=("sms", "email"))
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    async with wired.deps.sessions() as session:  # an administrator removes the SMS content
        row = await session.get(Alert, alert.id)
        assert row is not None
        row.locale, row.alert_type = "en", "no_such_type"
        session.add(row)
        await session.commit()
    assert await run(wired, alert, 0, T0) == "failed"
    [attempt] = await attempts_of(wired.deps, alert.id or 0)
    assert attempt.status == "failed" and "no longer exists" in (attempt.error or "")
    assert wired.sms.sent == []


async def test_a_copy_channel_without_content_is_refused_when_saved(wired: Wired) -> None:
    from alerts.alert_types.store import AlertTypeError

    def offer_email_copy_without_email(data: dict[str, Any]) -> None:
        data["options"].append({"key": "7", "intent": "email_copy", "label": "By email"})
        del data["content"]["en"]["email"]
        data["delivery"]["channel_order"] = ["voice", "sms"]

    with pytest.raises(AlertTypeError) as caught:
        await change_spec(wired.deps, "large_debit", offer_email_copy_without_email)
    assert "option 7 sends a copy by email" in " ".join(caught.value.lines)


async def test_a_malformed_endpoint_url_is_refused_when_saved(wired: Wired) -> None:
    from alerts.alert_types.store import AlertTypeError

    def bad_endpoint(data: dict[str, Any]) -> None:
        data["options"].append(
            {"key": "7", "intent": "transaction", "label": "Pay", "endpoint": "http://[::1/x"}
        )

    with pytest.raises(AlertTypeError) as caught:
        await change_spec(wired.deps, "large_debit", bad_endpoint)
    assert "is not a valid URL" in " ".join(caught.value.lines)


async def test_a_rescheduled_paced_step_asks_the_pacer_again(wired: Wired) -> None:
    await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    async with wired.deps.sessions() as session:
        row = await session.get(Alert, alert.id)
        assert row is not None
        step = row.plan[0].model_copy(update={"released_at": T0, "deadline": T0})
        row.plan = [step, *row.plan[1:]]
        row.windows = {
            "tz": "UTC",
            "blocks": [
                {"window": "10:00-12:00", "channels": ["voice"], "why": "quiet hours 10:00-12:00"}
            ],
        }
        session.add(row)
        await session.commit()
    assert await run(wired, alert, 0, T0 + timedelta(minutes=5)) == "deferred"
    moved = await load_alert(wired.deps, alert.id)
    assert moved.plan[0].released_at is None and next_at(moved) == T0.replace(hour=12)


async def test_an_answer_commits_its_follow_up_with_it(wired: Wired) -> None:
    """Crash right after the answer is stored: the transaction is already a task for an agent
    (closed only once the endpoint did it), and the copy is already a due step of the plan."""
    from alerts.models import HandOff
    from alerts.responses.record import record_response

    await make_person(wired.deps)
    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")
    assert await run(wired, alert, 0, T0) == "sent"
    [voice] = await attempts_of(wired.deps, alert.id or 0)
    for n, intent in enumerate(("transaction", "sms_copy")):
        await record_response(
            deps=wired.deps,
            dedupe_key=f"voice:CA-crash:{n}",
            attempt_id=voice.id,
            channel="voice",
            key=str(n),
            text=None,
            now=T0,
            intent=intent,
        )  # ... and the process dies here, before alerts.responses.actions.perform runs
    async with wired.deps.sessions() as session:
        [task] = (await session.exec(select(HandOff))).all()
    assert (task.kind, task.status) == ("task", "queued") and "did not complete" in task.context[
        "task"
    ]
    copied = await load_alert(wired.deps, alert.id)
    assert copied.plan[-1].channel == "sms" and copied.plan[-1].is_copy is True
    assert copied.current_step == len(copied.plan) - 1 and next_at(copied) == T0
    assert wired.queue.calls[-1]["step_index"] == copied.current_step
