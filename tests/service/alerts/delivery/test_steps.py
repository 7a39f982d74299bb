"""alerts.delivery (run_step, apply_status) with the live system: the retry policy, permanent
errors, deadlines, expiry, voice pacing, consent withdrawn under way, and edge cases found in
review (explicit ``now``, fake channels, a recording queue)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from alerts.customers.preferences import (
    ConsentIn,
    set_consent,
)
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Alert, ContactPoint, Customer, DeliveryAttempt
from alerts.plans import StoredWindows, WindowBlock
from alerts.responses.values import context_of
from callcentre.live_pacing import PAUSED_RECHECK_S, VoicePacer
from channels.base import ContactProblem, PermanentChannelError, StatusUpdate
from channels.twilio_sms import TwilioSmsChannel
from herald.runtime import Runtime, voice_pacer
from tests.factories import attempts_of, make_event
from tests.service.alerts.wiring import (
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
    phone_of,
    prefer,
    push_load,
    raise_alert,
    report,
    run,
    status,
    voice_policy,
)

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
    notes = notes_of(await decision_of(wired.deps, "large_debit", "E-2"))
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
    assert any(o.intent == "agent" for o in alert.options)
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
    assert any(o.intent == "agent" for o in alert.options)
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
        row.windows = StoredWindows(
            tz="UTC",
            blocks=[
                WindowBlock(window="10:00-12:00", channels=["voice"], why="quiet hours 10:00-12:00")
            ],
        )
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
    assert (task.kind, task.status) == ("task", "queued") and "did not complete" in str(
        context_of(task).task
    )
    copied = await load_alert(wired.deps, alert.id)
    assert copied.plan[-1].channel == "sms" and copied.plan[-1].is_copy is True
    assert copied.current_step == len(copied.plan) - 1 and next_at(copied) == T0
    assert wired.queue.calls[-1]["step_index"] == copied.current_step
