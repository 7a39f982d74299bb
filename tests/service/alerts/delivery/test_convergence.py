"""State that converges (issue 17.6): an attempt whose status callback never came is looked up at
the provider by the sweep; an attempt's move and its alert's follow-up commit together, and a
follow-up lost anyway is re-applied once; on both databases, with fake channels."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from alerts.delivery import statuses
from alerts.delivery.reconcile import (
    FOLLOW_UP_AFTER_S,
    MAX_LOOKUP_INTERVAL_S,
    STUCK_AFTER_S,
    InFlightCursor,
    converge,
)
from alerts.delivery.statuses import apply_status
from alerts.delivery.sweep import SweepCursor, sweep
from alerts.lifecycle import move_attempt
from alerts.models import Alert, DeliveryAttempt
from channels.base import StatusUpdate
from tests.factories import attempts_of
from tests.service.alerts.wiring import T0, Wired, load_alert, make_person, raise_alert, run

LATER = T0 + timedelta(seconds=STUCK_AFTER_S + 1)


async def _sent_alert(wired: Wired, event_id: str = "E-1", order: tuple[str, ...] = ()) -> Alert:
    alert = await raise_alert(wired, T0, amount="750.00", event_id=event_id)
    assert await run(wired, alert, 0, T0) == "sent"
    alert = await load_alert(wired.deps, alert.id)
    assert alert.status == "delivering"
    return alert


async def _attempt(wired: Wired, alert: Alert) -> DeliveryAttempt:
    [attempt] = [a for a in await attempts_of(wired.deps, alert.id or 0) if a.step_index == 0]
    return attempt


async def _move_without_follow_up(wired: Wired, alert: Alert, state: str) -> DeliveryAttempt:
    """What the old code left when the process died between the two commits."""
    found = await _attempt(wired, alert)
    async with wired.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, found.id)
        assert attempt is not None
        assert await move_attempt(
            session, attempt, state, provider_status=state, detail=None, now=T0
        )
        await session.commit()
        return attempt


def _said(attempt: DeliveryAttempt, state: str, provider: str) -> StatusUpdate:
    return StatusUpdate(
        provider_sid=attempt.provider_sid or "", status=state, provider_status=provider
    )


async def test_a_call_whose_callbacks_never_came_is_looked_up_and_moves_the_plan_on(
    wired: Wired,
) -> None:
    await make_person(wired.deps)
    alert = await _sent_alert(wired)
    attempt = await _attempt(wired, alert)
    assert attempt.channel == "voice" and attempt.status == "sent"
    wired.voice.provider_statuses[attempt.provider_sid or ""] = _said(
        attempt, "no_answer", "no-answer"
    )

    # Too fresh: the callback may still be on its way; nobody asks the provider yet.
    early = await converge(deps=wired.deps, now=T0 + timedelta(seconds=STUCK_AFTER_S - 10))
    assert early.looked_up == [] and wired.voice.lookups == []

    done = await converge(deps=wired.deps, now=LATER)
    assert done.looked_up == [attempt.id] and done.applied == [attempt.id]
    assert wired.voice.lookups == [attempt.provider_sid]
    assert (await _attempt(wired, alert)).status == "no_answer"
    moved = await load_alert(wired.deps, alert.id)
    # Passed on as the callback would have been: the retry policy plans the next step.
    assert moved.status == "pending" and moved.current_step == 1
    assert wired.queue.calls[-1]["step_index"] == 1

    again = await converge(deps=wired.deps, now=LATER + timedelta(minutes=5))
    assert again.looked_up == [] and again.moved == 0


async def test_the_provider_with_no_news_changes_nothing_and_is_asked_again_later(
    wired: Wired,
) -> None:
    await make_person(wired.deps, order=("sms", "email"))
    alert = await _sent_alert(wired)
    attempt = await _attempt(wired, alert)
    done = await converge(deps=wired.deps, now=LATER)  # the fake provider has no news
    assert done.looked_up == [attempt.id] and done.applied == []
    assert (await _attempt(wired, alert)).status == "sent"
    wired.sms.provider_statuses[attempt.provider_sid or ""] = _said(
        attempt, "delivered", "delivered"
    )
    count = await sweep(deps=wired.deps, now=LATER + timedelta(seconds=30), cursor=SweepCursor())
    assert count == 1
    assert (await load_alert(wired.deps, alert.id)).status == "delivered"


async def test_five_delivered_attempts_whose_alerts_were_never_updated_converge_once(
    wired: Wired,
) -> None:
    """What the old code left after a database restart: the attempt's move committed, the
    alert's follow-up lost. The sweep re-applies it, once."""
    await make_person(wired.deps, order=("sms", "email"))
    alerts = [await _sent_alert(wired, event_id=f"E-{n}") for n in range(5)]
    for alert in alerts:
        await _move_without_follow_up(wired, alert, "delivered")
    assert {(await load_alert(wired.deps, a.id)).status for a in alerts} == {"delivering"}

    fresh = await converge(deps=wired.deps, now=T0 + timedelta(seconds=FOLLOW_UP_AFTER_S - 5))
    assert fresh.followed_up == []  # a callback may be applying it right now
    done = await converge(deps=wired.deps, now=T0 + timedelta(seconds=FOLLOW_UP_AFTER_S + 1))
    assert len(done.followed_up) == 5
    assert {(await load_alert(wired.deps, a.id)).status for a in alerts} == {"delivered"}
    again = await converge(deps=wired.deps, now=T0 + timedelta(minutes=10))
    assert again.followed_up == [] and again.looked_at == 0


async def test_a_lost_follow_up_of_a_failed_text_falls_back_to_email(wired: Wired) -> None:
    await make_person(wired.deps, order=("sms", "email"))
    alert = await _sent_alert(wired)
    attempt = await _move_without_follow_up(wired, alert, "undelivered")
    done = await converge(deps=wired.deps, now=LATER)
    assert done.followed_up == [attempt.id]
    moved = await load_alert(wired.deps, alert.id)
    assert moved.status == "pending" and moved.plan[moved.current_step].channel == "email"
    assert wired.queue.calls[-1]["channel"] == "email"


class DatabaseWentAway(Exception):
    pass


async def test_a_failure_between_the_move_and_its_follow_up_leaves_neither(
    wired: Wired, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_person(wired.deps, order=("sms", "email"))
    alert = await _sent_alert(wired)
    attempt = await _attempt(wired, alert)
    update = _said(attempt, "delivered", "delivered")

    async def fails(**_: object) -> None:
        raise DatabaseWentAway

    monkeypatch.setattr(statuses, "reached", fails)
    with pytest.raises(DatabaseWentAway):  # the webhook answers 500
        await apply_status(deps=wired.deps, attempt_id=attempt.id or 0, update=update, now=T0)
    # One transaction: the attempt did not move without its alert.
    assert (await _attempt(wired, alert)).status == "sent"
    assert (await load_alert(wired.deps, alert.id)).status == "delivering"

    monkeypatch.undo()  # the database is back; the provider will not call again
    wired.sms.provider_statuses[attempt.provider_sid or ""] = update
    done = await converge(deps=wired.deps, now=LATER)
    assert done.applied == [attempt.id]
    assert (await _attempt(wired, alert)).status == "delivered"
    assert (await load_alert(wired.deps, alert.id)).status == "delivered"


async def test_the_pass_is_bounded_and_goes_on_where_it_stopped(wired: Wired) -> None:
    await make_person(wired.deps, order=("sms", "email"))
    alerts = [await _sent_alert(wired, event_id=f"E-{n}") for n in range(3)]
    for alert in alerts:
        attempt = await _attempt(wired, alert)
        wired.sms.provider_statuses[attempt.provider_sid or ""] = _said(
            attempt, "delivered", "delivered"
        )
    cursor = InFlightCursor()
    for _ in range(3):
        done = await converge(deps=wired.deps, now=LATER, cursor=cursor, limit=1)
        assert done.looked_at == 1 and len(done.applied) == 1
    assert {(await load_alert(wired.deps, a.id)).status for a in alerts} == {"delivered"}
    assert (await converge(deps=wired.deps, now=LATER, cursor=cursor)).looked_at == 0


async def test_an_sms_the_carrier_never_confirms_is_asked_less_and_less_often(
    wired: Wired,
) -> None:
    """Looked up after 3 min, then after 2, 4, 8... times that wait (at least hourly), not at
    every sweep: it leaves the per-sweep lookup budget to attempts that may have news."""
    await make_person(wired.deps, order=("sms", "email"))
    alert = await _sent_alert(wired)
    attempt = await _attempt(wired, alert)
    cursor = InFlightCursor()
    asked_at = []
    now = LATER
    while now < LATER + timedelta(hours=6):
        done = await converge(deps=wired.deps, now=now, cursor=cursor)
        if done.looked_up:
            assert done.looked_up == [attempt.id] and done.applied == []
            asked_at.append((now - LATER).total_seconds())
        now += timedelta(seconds=30)  # the sweep's period
    gaps = [b - a for a, b in itertools.pairwise(asked_at)]
    assert gaps[:4] == [2 * STUCK_AFTER_S, 4 * STUCK_AFTER_S, 8 * STUCK_AFTER_S, 16 * STUCK_AFTER_S]
    assert gaps[4:] == [MAX_LOOKUP_INTERVAL_S] * 4  # 6 hours: 9 lookups, not 720
    # News at last: the next lookup it is due for applies it.
    wired.sms.provider_statuses[attempt.provider_sid or ""] = _said(
        attempt, "delivered", "delivered"
    )
    done = await converge(deps=wired.deps, now=now + timedelta(hours=1), cursor=cursor)
    assert done.applied == [attempt.id] and attempt.id not in cursor.backoff
    assert (await load_alert(wired.deps, alert.id)).status == "delivered"
