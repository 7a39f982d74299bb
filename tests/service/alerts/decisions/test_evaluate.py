"""alerts.decisions.evaluate with the live system: quiet hours, opt-outs, consent, caps,
dedupe windows and the call centre's state decide each event (explicit ``now``, fake channels)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from alerts.customers.preferences import (
    ConsentIn,
    set_consent,
)
from alerts.decisions.evaluate import count_pending, evaluate_pending
from alerts.deps import AlertDeps
from alerts.models import Alert, ContactPoint
from rules.centre import spread_offset
from tests.factories import make_event
from tests.service.alerts.wiring import (
    ACCOUNT,
    AMSTERDAM,
    QUIET_HOURS,
    T0,
    Wired,
    amsterdam,
    at,
    change_spec,
    channels_of,
    decision_of,
    load_alert,
    make_person,
    next_at,
    notes_of,
    office_hours,
    phone_of,
    prefer,
    push_load,
    raise_alert,
)

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
    notes = notes_of(decision)
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
    notes = notes_of(await decision_of(wired.deps, "large_debit", "E-1"))
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
    notes = notes_of(await decision_of(wired.deps, "large_debit", "E-2"))
    assert "large_debit is mandatory: frequency caps do not hold it back" in notes


# --- 5. dedupe window -----------------------------------------------------------------------


async def test_one_low_balance_alert_per_account_per_local_day(wired: Wired) -> None:
    await make_person(wired.deps, tz="Europe/Amsterdam")
    low = {"event_type": "balance_closing_booked", "amount": "50.00"}
    # 00:30 and 10:00 on 11 June in Amsterdam: different UTC dates, the same local day.
    first = await raise_alert(wired, amsterdam(2026, 6, 11, 0, 30), event_id="B-1", **low)
    await make_event(wired.deps, event_id="B-2", event_type=low["event_type"], amount=low["amount"])
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

    assert [(o.key, o.intent) for o in alert.options] == [
        ("1", "callback"),
        ("2", "confirm"),
        ("9", "repeat"),
    ]
    assert alert.options[0].label == "Ask us to call you back"
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
    assert any(o.intent == "agent" for o in alert.options)  # held so an agent can answer
    [enqueued] = wired.queue.calls
    assert enqueued["defer_seconds"] == (first - CLOSED).total_seconds()


async def test_overloaded_centre_offers_a_callback_instead_of_an_agent(wired: Wired) -> None:
    await make_person(wired.deps)
    await push_load(wired.deps, T0, logged_in=5, available=3, queue=20)  # threshold is 15

    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")

    decision = await decision_of(wired.deps, "large_debit", "E-1")
    assert decision.detail["centre_action"] == "callback_instead"
    assert "centre overloaded" in " ".join(notes_of(decision))
    assert [o.intent for o in alert.options] == ["callback", "confirm", "repeat"]


async def test_overloaded_centre_with_hold_waits_the_recheck_time_plus_spread(wired: Wired) -> None:
    await change_spec(
        wired.deps, "large_debit", lambda d: d["centre"].update(when_overloaded="hold")
    )
    await make_person(wired.deps)
    await push_load(wired.deps, T0, logged_in=5, available=3, queue=20)

    alert = await raise_alert(wired, T0, amount="750.00", event_id="E-1")

    spread = spread_offset(alert.dedupe_key, 1800)
    assert at(alert.plan[0].not_before) == T0 + timedelta(seconds=300 + spread)


# --- batch bookings -------------------------------------------------------------------------


async def _batch_of_two(wired: Wired) -> None:
    await make_person(wired.deps)
    await make_event(wired.deps, amount="1500.00", event_id="B-1", data={"batch_role": "batch"})
    for n, amount in ((1, "900.00"), (2, "600.00")):
        await make_event(
            wired.deps, amount=amount, event_id=f"B-1/{n}", data={"batch_role": "item"}
        )


async def test_a_batch_booking_alerts_once_with_its_total_by_default(wired: Wired) -> None:
    await _batch_of_two(wired)

    [created] = await evaluate_pending(deps=wired.deps, now=T0)

    alert = await load_alert(wired.deps, created)
    assert alert.alert_type == "large_debit"
    skipped = await decision_of(wired.deps, "large_debit", "B-1/1")
    assert skipped.outcome == "skip"
    assert "a transaction of a batch booking" in skipped.reason


async def test_an_alert_type_can_alert_on_each_transaction_of_a_batch(wired: Wired) -> None:
    await change_spec(
        wired.deps, "large_debit", lambda d: d["trigger"].update(batches="transactions")
    )
    await _batch_of_two(wired)

    created = await evaluate_pending(deps=wired.deps, now=T0)

    alerts = [await load_alert(wired.deps, a) for a in created]
    assert sorted(str(a.alert_type) for a in alerts) == ["large_debit", "large_debit"]
    assert (await decision_of(wired.deps, "large_debit", "B-1")).outcome == "skip"


# --- progress -------------------------------------------------------------------------------


async def test_progress_counts_each_batch_of_events_decided_and_the_alerts_created(
    wired: Wired,
) -> None:
    await make_person(wired.deps)
    for n, amount in enumerate(("1500.00", "20.00", "900.00", "30.00", "2500.00")):
        await make_event(wired.deps, amount=amount, event_id=f"P-{n}")
    assert await count_pending(wired.deps) == 5
    told: list[tuple[int, int]] = []

    created = await evaluate_pending(
        deps=wired.deps, now=T0, batch=2, progress=lambda e, a: told.append((e, a))
    )

    assert [events for events, _ in told] == [2, 4, 5]  # after each batch of two, then the last
    assert told[-1] == (5, len(created))
    assert 0 < len(created) < 5  # the small debits do not alert
    assert [alerts for _, alerts in told] == sorted(alerts for _, alerts in told)
    assert await count_pending(wired.deps) == 0
