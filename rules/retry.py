"""After a plan step ends: retry the same channel, fall back to the next one, or stop.

The outcome of an attempt is normalised by the channel layer to one of ``Outcome``. What each
outcome does is a table built from the alert type's channel policy (``action_table``): a pair
of moves, the first while attempts remain on the channel, the second once they are used up.
Transient provider errors re-run the same attempt with exponential backoff and jitter (the
jitter is passed in, so the decision is reproducible); permanent errors fall back at once and
return a ``FlagContact`` instruction (invalid number, landline for SMS, carrier opt-out) for the
caller to record. Every move is checked against the customer's send windows and the alert's
expiry, and carries its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

from rules.alert_types import ChannelPolicy, DeliveryPolicy
from rules.engine import PlanStep
from rules.facts import as_utc
from rules.timewindows import SendWindows
from rules.vocabulary import CHANNELS, Channel, PolicyOutcome


class Outcome(StrEnum):
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    PROVIDER_TRANSIENT = "provider_transient"
    PROVIDER_PERMANENT = "provider_permanent"
    FAILED = "failed"
    REACHED = "reached"


class ContactProblem(StrEnum):
    """What a permanent error says about the contact point."""

    INVALID_ADDRESS = "invalid_address"  # the number or mailbox does not exist
    LANDLINE = "landline"  # cannot receive SMS
    CARRIER_OPT_OUT = "carrier_opt_out"  # the carrier blocks our SMS to it


Move = Literal["retry", "fallback", "stop"]

# Outcomes an administrator configures (retry_on / fallback_on) by their policy name.
POLICY_NAME: Final[dict[Outcome, PolicyOutcome]] = {
    Outcome.NO_ANSWER: "no_answer",
    Outcome.BUSY: "busy",
    Outcome.VOICEMAIL: "voicemail",
    Outcome.PROVIDER_TRANSIENT: "provider_error",
}
# Outcomes whose move no policy changes.
FIXED: Final[dict[Outcome, tuple[Move, Move]]] = {
    Outcome.REACHED: ("stop", "stop"),
    Outcome.PROVIDER_PERMANENT: ("fallback", "fallback"),
    Outcome.FAILED: ("fallback", "fallback"),
}
# Outcomes where nobody was bothered: the fallback need not wait for the customer.
NO_WAIT: Final = frozenset({Outcome.PROVIDER_TRANSIENT, Outcome.PROVIDER_PERMANENT, Outcome.FAILED})
# problem -> (flag to record, channels of that contact point it rules out)
FLAGS: Final[dict[ContactProblem, tuple[str, frozenset[Channel]]]] = {
    ContactProblem.INVALID_ADDRESS: ("invalid", frozenset(CHANNELS)),
    ContactProblem.LANDLINE: ("landline", frozenset({"sms"})),
    ContactProblem.CARRIER_OPT_OUT: ("sms_opted_out", frozenset({"sms"})),
}


def action_table(policy: ChannelPolicy) -> dict[Outcome, tuple[Move, Move]]:
    """outcome -> (move while attempts remain, move once they are used up)."""
    table = dict(FIXED)
    for outcome, name in POLICY_NAME.items():
        exhausted: Move = "fallback" if name in policy.fallback_on else "stop"
        table[outcome] = ("retry" if name in policy.retry_on else exhausted, exhausted)
    return table


@dataclass(frozen=True, slots=True)
class FlagContact:
    """An instruction to record on the contact point, so no plan uses it that way again."""

    contact_point_id: str
    flag: str  # "invalid" | "landline" | "sms_opted_out"
    channels: frozenset[Channel]
    reason: str


@dataclass(frozen=True, slots=True)
class NextAction:
    move: Move
    reason: str
    step_index: int | None = None  # the plan step to run next
    at: datetime | None = None
    deadline: datetime | None = None
    provider_retries: int = 0  # provider retries of that step so far (for the next call)
    flag_contact: FlagContact | None = None


def backoff_seconds(policy: DeliveryPolicy, retries_so_far: int, jitter: float) -> float:
    """Exponential backoff with "equal jitter": half the delay fixed, half scaled by ``jitter``
    (a number in [0, 1] the caller draws from its own seeded generator)."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be in [0, 1], got {jitter!r}")
    delay = float(
        min(policy.provider_backoff_max_seconds, policy.provider_backoff_seconds << retries_so_far)
    )
    return delay / 2 + jitter * delay / 2


def _fallback_index(steps: Sequence[PlanStep], ended: int, flag: FlagContact | None) -> int | None:
    done = steps[ended]
    for index in range(ended + 1, len(steps)):
        step = steps[index]
        if (step.channel, step.contact_point_id) == (done.channel, done.contact_point_id):
            continue  # the remaining attempts of the channel that just gave up
        if (
            flag
            and step.contact_point_id == flag.contact_point_id
            and step.channel in flag.channels
        ):
            continue
        if step.attempt == 1:
            return index
    return None


def next_action(
    *,
    steps: Sequence[PlanStep],
    ended_index: int,
    outcome: Outcome,
    policy: DeliveryPolicy,
    windows: SendWindows,
    expires_at: datetime,
    now: datetime,
    jitter: float,
    provider_retries: int = 0,
    problem: ContactProblem | None = None,
) -> NextAction:
    """What follows step ``ended_index`` of a plan that ended with ``outcome`` at ``now``."""
    now, expires_at = as_utc(now), as_utc(expires_at)
    if provider_retries < 0:
        raise ValueError(f"provider_retries must be >= 0, got {provider_retries}")
    ended = steps[ended_index]
    label = f"{ended.channel} attempt {ended.attempt} {outcome.value}"
    flag = None
    if problem is not None:
        name, channels = FLAGS[problem]
        flag = FlagContact(ended.contact_point_id, name, channels, f"{label}: {problem.value}")
    if outcome is Outcome.REACHED:
        return NextAction("stop", f"{label}: the customer was reached", flag_contact=flag)
    if now >= expires_at:
        return NextAction("stop", f"{label}: the alert has expired", flag_contact=flag)

    channel_policy = policy.policy(ended.channel)
    move, exhausted = action_table(channel_policy)[outcome]
    why = ""
    index, at, retries = None, now, 0
    if move == "retry" and outcome is Outcome.PROVIDER_TRANSIENT:
        if provider_retries < policy.max_provider_retries:
            delay = backoff_seconds(policy, provider_retries, jitter)
            index, retries = ended_index, provider_retries + 1
            at = now + timedelta(seconds=delay)
            why = f"provider retry {retries}/{policy.max_provider_retries} in {delay:.0f} s"
        else:
            move, why = exhausted, f"{policy.max_provider_retries} provider retries used"
    elif move == "retry":
        following = ended_index + 1
        if following < len(steps) and (
            steps[following].channel,
            steps[following].contact_point_id,
            steps[following].attempt,
        ) == (ended.channel, ended.contact_point_id, ended.attempt + 1):
            index = following
            at = max(
                now + timedelta(seconds=channel_policy.interval_seconds),
                steps[following].not_before,
            )
            why = f"retry as attempt {ended.attempt + 1}/{channel_policy.attempts}"
        else:
            move, why = exhausted, f"all {channel_policy.attempts} attempt(s) used"
    if move == "fallback":
        index = _fallback_index(steps, ended_index, flag)
        if index is None:
            return NextAction(
                "stop", f"{label}: {why + '; ' if why else ''}no further channel", flag_contact=flag
            )
        wait = 0 if outcome in NO_WAIT else policy.fallback_wait_seconds
        at = max(now + timedelta(seconds=wait), steps[index].not_before)
        why = f"{why + '; ' if why else ''}fall back to {steps[index].channel}"
    if move == "stop" or index is None:
        return NextAction("stop", f"{label}: {why or 'the policy stops here'}", flag_contact=flag)

    channel = steps[index].channel
    shift = windows.earliest(channel, at)
    if shift.at is None or shift.at >= expires_at:
        return NextAction(
            "stop", f"{label}: {why}, but it could not start before expiry", flag_contact=flag
        )
    until = windows.until(channel, shift.at)
    moved = f", moved by {' and '.join(shift.moved_by)}" if shift.moved_by else ""
    return NextAction(
        move,
        f"{label}: {why} at {shift.at:%Y-%m-%d %H:%M} UTC{moved}",
        step_index=index,
        at=shift.at,
        deadline=min(expires_at, until) if until else expires_at,
        provider_retries=retries,
        flag_contact=flag,
    )
