"""Retry / fallback / stop after a step ends: the outcome table and next_action."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rules.alert_types import ChannelPolicy, DeliveryPolicy
from rules.engine import Plan, decide
from rules.preferences import QuietHours
from rules.retry import (
    ContactProblem,
    NextAction,
    Outcome,
    action_table,
    backoff_seconds,
    next_action,
)
from rules.timewindows import SendWindows
from tests.unit.rules.builders import (
    T0,
    make_customer,
    make_event,
    make_prefs,
    open_centre,
    spec,
    utc,
)

VOICE = ChannelPolicy(
    attempts=2,
    interval_seconds=900,
    retry_on=["no_answer", "busy", "provider_error"],
    fallback_on=["no_answer", "busy", "voicemail", "provider_error"],
)
EMAIL = ChannelPolicy(attempts=1, retry_on=["provider_error"], fallback_on=[])

TABLE = [
    # (policy, outcome, (while attempts remain, once used up))
    (VOICE, Outcome.NO_ANSWER, ("retry", "fallback")),
    (VOICE, Outcome.BUSY, ("retry", "fallback")),
    (VOICE, Outcome.VOICEMAIL, ("fallback", "fallback")),
    (VOICE, Outcome.PROVIDER_TRANSIENT, ("retry", "fallback")),
    (VOICE, Outcome.PROVIDER_PERMANENT, ("fallback", "fallback")),
    (VOICE, Outcome.FAILED, ("fallback", "fallback")),
    (VOICE, Outcome.REACHED, ("stop", "stop")),
    (EMAIL, Outcome.PROVIDER_TRANSIENT, ("retry", "stop")),
    (EMAIL, Outcome.NO_ANSWER, ("stop", "stop")),
    (ChannelPolicy(retry_on=[], fallback_on=[]), Outcome.VOICEMAIL, ("stop", "stop")),
]


@pytest.mark.parametrize(("policy", "outcome", "moves"), TABLE)
def test_action_table(policy: ChannelPolicy, outcome: Outcome, moves: tuple[str, str]) -> None:
    assert action_table(policy)[outcome] == moves


def test_the_table_covers_every_outcome() -> None:
    assert set(action_table(ChannelPolicy())) == set(Outcome)


def _plan(quiet: str | None = None, now: datetime = T0) -> Plan:
    alert = spec(
        delivery={
            "channel_order": ["voice", "sms", "email"],
            "channels": {"voice": VOICE.model_dump(), "email": EMAIL.model_dump()},
            "fallback_wait_seconds": 300,
        }
    )
    decision = decide(
        event=make_event(),
        customer=make_customer(),
        preferences=make_prefs(quiet=quiet),
        alert_type=alert,
        centre=open_centre(),
        recent_alerts=[],
        now=now,
    )
    assert isinstance(decision, Plan)
    return decision


POLICY = DeliveryPolicy(
    channels={"voice": VOICE, "email": EMAIL},
    fallback_wait_seconds=300,
    provider_backoff_seconds=30,
    provider_backoff_max_seconds=900,
    max_provider_retries=3,
)


def after(
    index: int,
    outcome: Outcome,
    *,
    plan: Plan | None = None,
    at: timedelta = timedelta(minutes=1),
    jitter: float = 0.0,
    retries: int = 0,
    problem: ContactProblem | None = None,
) -> NextAction:
    plan = plan or _plan()
    return next_action(
        steps=plan.steps,
        ended_index=index,
        outcome=outcome,
        policy=POLICY,
        windows=plan.windows,
        expires_at=plan.expires_at,
        now=plan.decided_at + at,
        jitter=jitter,
        provider_retries=retries,
        problem=problem,
    )


# steps of _plan(): 0 voice#1, 1 voice#2, 2 sms#1, 3 email#1
NEXT = [
    # (ended index, outcome, move, next index, delay from decision, words)
    (0, Outcome.NO_ANSWER, "retry", 1, timedelta(minutes=16), "retry as attempt 2/2"),
    (0, Outcome.BUSY, "retry", 1, timedelta(minutes=16), "retry as attempt 2/2"),
    (0, Outcome.VOICEMAIL, "fallback", 2, timedelta(minutes=20), "fall back to sms"),
    (1, Outcome.NO_ANSWER, "fallback", 2, timedelta(minutes=20), "all 2 attempt(s) used"),
    (0, Outcome.FAILED, "fallback", 2, timedelta(minutes=20), "fall back to sms"),
    (2, Outcome.PROVIDER_PERMANENT, "fallback", 3, timedelta(minutes=25), "fall back to email"),
    (0, Outcome.REACHED, "stop", None, None, "the customer was reached"),
    (3, Outcome.NO_ANSWER, "stop", None, None, "the policy stops here"),
    (3, Outcome.PROVIDER_PERMANENT, "stop", None, None, "no further channel"),
]


@pytest.mark.parametrize(("index", "outcome", "move", "step", "delay", "words"), NEXT)
def test_next_action(
    index: int,
    outcome: Outcome,
    move: str,
    step: int | None,
    delay: timedelta | None,
    words: str,
) -> None:
    plan = _plan()
    action = after(index, outcome, plan=plan)
    assert (action.move, action.step_index) == (move, step)
    assert words in action.reason
    if delay is None:
        assert action.at is None
    else:
        assert action.at == plan.decided_at + delay
        assert action.deadline == plan.expires_at


def test_a_late_first_call_retries_interval_after_it_ended() -> None:
    plan = _plan()
    action = after(0, Outcome.NO_ANSWER, plan=plan, at=timedelta(minutes=40))
    assert action.at == plan.decided_at + timedelta(minutes=55)


def test_customer_outcomes_wait_before_falling_back_but_failures_do_not() -> None:
    plan = _plan()
    late = timedelta(minutes=30)
    assert after(1, Outcome.NO_ANSWER, plan=plan, at=late).at == plan.decided_at + late + (
        timedelta(minutes=5)
    )
    assert after(1, Outcome.FAILED, plan=plan, at=late).at == plan.decided_at + late


@pytest.mark.parametrize(
    ("retries", "jitter", "seconds"),
    [(0, 0.0, 15), (0, 1.0, 30), (1, 0.5, 45), (2, 0.0, 60), (5, 1.0, 900), (9, 0.0, 450)],
)
def test_backoff_is_exponential_capped_and_jittered(
    retries: int, jitter: float, seconds: float
) -> None:
    assert backoff_seconds(POLICY, retries, jitter) == seconds


def test_backoff_refuses_jitter_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="jitter"):
        backoff_seconds(POLICY, 0, 1.5)


def test_transient_provider_errors_rerun_the_same_attempt_with_backoff() -> None:
    plan = _plan()
    first = after(0, Outcome.PROVIDER_TRANSIENT, plan=plan, jitter=1.0)
    assert (first.move, first.step_index, first.provider_retries) == ("retry", 0, 1)
    assert first.at == plan.decided_at + timedelta(minutes=1, seconds=30)
    third = after(0, Outcome.PROVIDER_TRANSIENT, plan=plan, retries=2, jitter=0.0)
    assert third.at == plan.decided_at + timedelta(minutes=1, seconds=60)
    assert "provider retry 3/3" in third.reason
    exhausted = after(0, Outcome.PROVIDER_TRANSIENT, plan=plan, retries=3)
    assert (exhausted.move, exhausted.step_index) == ("fallback", 2)
    assert "3 provider retries used" in exhausted.reason
    assert exhausted.at == plan.decided_at + timedelta(minutes=20)  # the planned sms time


FLAGS = [
    # problem, ended step, next step, flag, channels ruled out
    (ContactProblem.INVALID_ADDRESS, 0, 3, "invalid", {"voice", "sms", "email"}),
    (ContactProblem.LANDLINE, 2, 3, "landline", {"sms"}),
    (ContactProblem.CARRIER_OPT_OUT, 2, 3, "sms_opted_out", {"sms"}),
]


@pytest.mark.parametrize(("problem", "ended", "following", "flag", "channels"), FLAGS)
def test_permanent_errors_flag_the_contact_and_skip_its_other_steps(
    problem: ContactProblem, ended: int, following: int, flag: str, channels: set[str]
) -> None:
    action = after(ended, Outcome.PROVIDER_PERMANENT, problem=problem)
    assert action.flag_contact is not None
    assert (action.flag_contact.contact_point_id, action.flag_contact.flag) == ("p1", flag)
    assert action.flag_contact.channels == channels
    assert action.step_index == following  # the sms to the same invalid number is skipped too


def test_expired_alerts_stop() -> None:
    plan = _plan()
    action = after(0, Outcome.NO_ANSWER, plan=plan, at=timedelta(days=2))
    assert action.move == "stop" and "expired" in action.reason


def test_a_retry_that_would_land_after_expiry_stops() -> None:
    plan = _plan()
    action = after(0, Outcome.NO_ANSWER, plan=plan, at=timedelta(hours=23, minutes=50))
    assert action.move == "stop" and "before expiry" in action.reason


def test_retries_respect_quiet_hours() -> None:
    evening = utc(2024, 6, 12, 19, 10)  # 21:10 in Amsterdam
    plan = _plan(quiet="21:30-07:30", now=evening)
    action = after(0, Outcome.NO_ANSWER, plan=plan, at=timedelta(minutes=10))
    assert action.at == utc(2024, 6, 13, 5, 30)
    assert "moved by quiet hours 21:30-07:30" in action.reason


def test_windows_from_storage_work_the_same() -> None:
    windows = SendWindows("Europe/Amsterdam", (QuietHours.parse("21:30-07:30").block(),))
    assert SendWindows.from_dict(windows.as_dict()).earliest("sms", utc(2024, 6, 12, 20)) == (
        windows.earliest("sms", utc(2024, 6, 12, 20))
    )
