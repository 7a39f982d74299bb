"""The decision for one event and one alert type: Skip with its reason, or a delivery Plan.

``decide`` takes everything as arguments (the event, the customer and their preferences, the
alert type, the call centre's state, the customer's recent alerts and ``now``) and returns a
value whose ``reason`` and ``notes`` are what the admin timeline shows. The checks run in a
fixed order; the first that fails is the Skip's reason:

    enabled -> trigger event type -> condition -> dedupe window -> opt-out -> reachable channels
    -> frequency caps -> call-centre linkage -> schedule (quiet hours, legal window, TTL)

Every step of a plan starts outside the customer's quiet hours (and, for a marketing call or
text, inside 08:00-21:00 local) and before the alert expires; its ``deadline`` is when the next
such block begins or the alert expires, whichever is first, so the executor never starts a step
late into quiet hours.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from pydantic import JsonValue

from rules.alert_types import AlertTypeSpec, ResponseOption, batch_skip
from rules.centre import CentreView, link
from rules.conditions import evaluate
from rules.facts import CustomerView, EventView, as_utc, bounded_key, render_key, zone_of
from rules.preferences import CustomerPreferences, Resolved, Target, resolve
from rules.timewindows import SendWindows
from rules.vocabulary import CHANNELS, Category, Channel


class RecentAlert(NamedTuple):
    """An alert already raised for this customer (plain tuples of these three work too)."""

    dedupe_key: str
    alert_type: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PlanStep:
    channel: Channel
    contact_point_id: str
    address: str
    attempt: int  # 1-based, per channel and contact point
    not_before: datetime  # earliest start (UTC), given the steps before it were not answered
    deadline: datetime  # start by then or re-plan: quiet hours begin or the alert expires
    locale: str  # the content locale for this channel
    reason: str


@dataclass(frozen=True, slots=True)
class Skip:
    alert_type: str
    reason: str
    decided_at: datetime
    dedupe_key: str | None = None
    notes: tuple[str, ...] = ()
    kind: Literal["skip"] = "skip"


@dataclass(frozen=True, slots=True)
class Plan:
    alert_type: str
    alert_type_version: int
    steps: tuple[PlanStep, ...]
    dedupe_key: str
    expires_at: datetime
    reason: str
    content_locale: str
    options: tuple[ResponseOption, ...]  # what to offer (after the call-centre linkage)
    priority: int
    category: Category
    windows: SendWindows  # the blocks the steps respect; retry.next_action needs them too
    centre_action: str
    decided_at: datetime
    notes: tuple[str, ...] = ()
    kind: Literal["plan"] = "plan"


Decision = Skip | Plan


@functools.lru_cache(maxsize=8192)  # a batch shares ``now``, so its steps share instants
def _local(instant: datetime, tz: str) -> str:
    return f"{instant.astimezone(zone_of(tz)):%Y-%m-%d %H:%M} {tz}"


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def over_cap(resolved: Resolved, recent: Iterable[RecentAlert], now: datetime) -> str | None:
    """The first frequency cap another alert would exceed, described (None if none would)."""
    recent = list(recent)
    for cap in resolved.caps:
        since = now - timedelta(seconds=cap.period_seconds)
        count = sum(1 for r in recent if r.created_at > since and cap.applies_to(r.alert_type))
        if count >= cap.max_alerts:
            return f"frequency cap reached: {count} sent, {cap.describe()}"
    return None


def duplicate_of(
    key: str, window_seconds: int, recent: Iterable[RecentAlert], now: datetime
) -> RecentAlert | None:
    since = now - timedelta(seconds=window_seconds)
    return next((r for r in recent if r.dedupe_key == key and r.created_at > since), None)


def schedule(
    *,
    spec: AlertTypeSpec,
    targets: tuple[Target, ...],
    windows: SendWindows,
    language: str,
    start: datetime,
    expires_at: datetime,
    first: str = "first step",
) -> tuple[list[PlanStep], list[str]]:
    """The steps: per target, its attempts ``interval_seconds`` apart, then the next target
    ``fallback_wait_seconds`` after the last attempt; each moved out of blocked windows."""
    steps: list[PlanStep] = []
    notes: list[str] = []
    at = start
    for target in targets:
        policy = spec.delivery.policy(target.channel)
        channel, contact = target.channel, target.contact
        described, locale = contact.describe(), spec.content_locale(language, channel)
        planned = at
        for attempt in range(1, policy.attempts + 1):
            if attempt == 1 and steps:
                planned = at + timedelta(seconds=spec.delivery.fallback_wait_seconds)
                after = f"{_minutes(spec.delivery.fallback_wait_seconds)} after {steps[-1].channel}"
            elif attempt > 1:
                planned = at + timedelta(seconds=policy.interval_seconds)
                after = f"{_minutes(policy.interval_seconds)} after attempt {attempt - 1}"
            else:
                after = first
            shift = windows.earliest(channel, planned)
            label = f"{channel} to {described}, attempt {attempt}/{policy.attempts}"
            if shift.at is None:
                notes.append(f"{label} dropped: {', '.join(shift.moved_by)} leave no time")
                break
            if shift.at >= expires_at:
                notes.append(f"{label} dropped: would start after the alert expires")
                break
            blocked_until = windows.until(channel, shift.at)
            deadline = min(expires_at, blocked_until) if blocked_until else expires_at
            when = _local(shift.at, windows.tz)
            moved = f", moved by {' and '.join(shift.moved_by)}" if shift.moved_by else ""
            steps.append(
                PlanStep(
                    channel=channel,
                    contact_point_id=contact.id,
                    address=contact.address,
                    attempt=attempt,
                    not_before=shift.at,
                    deadline=deadline,
                    locale=locale,
                    reason=f"{label}: {after}, at {when}{moved}; {target.reason}",
                )
            )
            at = shift.at
    return steps, notes


def decide(
    *,
    event: EventView,
    customer: CustomerView,
    preferences: CustomerPreferences,
    alert_type: AlertTypeSpec,
    centre: CentreView,
    recent_alerts: Iterable[tuple[str, str, datetime]],
    now: datetime,
) -> Decision:
    """Whether ``event`` raises an ``alert_type`` alert for ``customer`` now, and how."""
    spec, key, now = alert_type, alert_type.key, as_utc(now)
    recent = [RecentAlert(*r) for r in recent_alerts]
    notes: list[str] = []

    def skip(reason: str, dedupe_key: str | None = None) -> Skip:
        return Skip(key, f"{key}: {reason}", now, dedupe_key, tuple(notes))

    if not spec.enabled:
        return skip("the alert type is disabled")
    if event.event_type not in spec.trigger.event_types:
        return skip(f"{event.event_type} is not one of {', '.join(spec.trigger.event_types)}")
    not_this_part = batch_skip(spec.trigger.batches, event.data.get("batch_role"))
    if not_this_part is not None:
        return skip(not_this_part)
    condition = evaluate(spec.trigger.condition, event=event, customer=customer, now=now)
    notes.append(condition.reason)
    if not condition.matched:
        return skip(condition.reason)

    if key in centre.blackout_types:
        return skip("a blackout date of the call centre: no alerts of this type today")

    dedupe_key = bounded_key(
        render_key(spec.dedupe.key, alert_type=key, event=event, customer=customer, now=now)
    )
    earlier = duplicate_of(dedupe_key, spec.dedupe.window_seconds, recent, now)
    if earlier is not None:
        return skip(
            f"duplicate of the alert {dedupe_key!r} raised {_local(earlier.created_at, 'UTC')}, "
            f"within the {_minutes(spec.dedupe.window_seconds)} dedupe window",
            dedupe_key,
        )

    resolved = resolve(preferences=preferences, alert_type=spec, customer=customer, now=now)
    notes.extend(resolved.notes)
    if resolved.blocked:
        return skip(resolved.blocked, dedupe_key)
    if not resolved.targets:
        return skip("no channel may be used: " + "; ".join(resolved.dropped), dedupe_key)
    if spec.mandatory:
        notes.append(f"{key} is mandatory: frequency caps do not hold it back")
    else:
        capped = over_cap(resolved, recent, now)
        if capped:
            return skip(capped, dedupe_key)

    decision = link(
        linkage=spec.centre,
        options=tuple(spec.options),
        centre=centre,
        dedupe_key=dedupe_key,
        now=now,
    )
    notes.append(decision.reason)
    expires_at = now + timedelta(seconds=spec.ttl_seconds)
    start, first = now, "first step"
    if decision.action == "hold":
        if decision.hold_until is None:
            return skip(decision.reason, dedupe_key)
        if decision.hold_until >= expires_at:
            return skip(f"{decision.reason}, but the alert expires before then", dedupe_key)
        start, first = decision.hold_until, "first step, held for the call centre"

    windows = resolved.windows(marketing=spec.category == "marketing")
    steps, schedule_notes = schedule(
        spec=spec,
        targets=resolved.targets,
        windows=windows,
        language=resolved.language,
        start=start,
        expires_at=expires_at,
        first=first,
    )
    notes.extend(schedule_notes)
    if not steps:
        return skip(
            "no step can start before the alert expires: " + "; ".join(schedule_notes), dedupe_key
        )
    head = steps[0]
    reason = (
        f"{key}: {condition.reason}; {len(steps)} step(s), first {head.channel} at "
        f"{_local(head.not_before, resolved.tz)}; centre: {decision.action}"
    )
    return Plan(
        alert_type=key,
        alert_type_version=spec.version,
        steps=tuple(steps),
        dedupe_key=dedupe_key,
        expires_at=expires_at,
        reason=reason,
        content_locale=head.locale,
        options=tuple(o.in_locale(head.locale) for o in decision.options),
        priority=spec.priority,
        category=spec.category,
        windows=windows,
        centre_action=decision.action,
        decided_at=now,
        notes=tuple(notes),
    )


def decision_as_dict(decision: Decision) -> dict[str, JsonValue]:
    """A JSON-ready dict of a decision (ISO 8601 UTC times), for the decisions/alerts rows."""
    if isinstance(decision, Skip):
        return {
            "kind": "skip",
            "alert_type": decision.alert_type,
            "reason": decision.reason,
            "dedupe_key": decision.dedupe_key,
            "notes": list(decision.notes),
            "decided_at": decision.decided_at.isoformat(),
        }
    return {
        "kind": "plan",
        "alert_type": decision.alert_type,
        "alert_type_version": decision.alert_type_version,
        "reason": decision.reason,
        "dedupe_key": decision.dedupe_key,
        "expires_at": decision.expires_at.isoformat(),
        "content_locale": decision.content_locale,
        "options": [o.model_dump(mode="json") for o in decision.options],
        "priority": decision.priority,
        "category": decision.category,
        "centre_action": decision.centre_action,
        "windows": decision.windows.as_dict(),
        "steps": [
            {
                "channel": s.channel,
                "contact_point_id": s.contact_point_id,
                "address": s.address,
                "attempt": s.attempt,
                "not_before": s.not_before.isoformat(),
                "deadline": s.deadline.isoformat(),
                "locale": s.locale,
                "reason": s.reason,
            }
            for s in decision.steps
        ],
        "notes": list(decision.notes),
        "decided_at": decision.decided_at.isoformat(),
    }


def step_from_dict(data: dict[str, object]) -> PlanStep:
    """A stored step back as a PlanStep (for retry.next_action)."""
    channel = str(data["channel"])
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return PlanStep(
        channel=channel,
        contact_point_id=str(data["contact_point_id"]),
        address=str(data["address"]),
        attempt=int(str(data["attempt"])),
        not_before=as_utc(datetime.fromisoformat(str(data["not_before"]))),
        deadline=as_utc(datetime.fromisoformat(str(data["deadline"]))),
        locale=str(data["locale"]),
        reason=str(data["reason"]),
    )
