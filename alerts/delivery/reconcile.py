"""Convergence of alerts whose send is with the provider: what the sweep does for an alert left
``delivering`` when the news of its current attempt never came, or came and was not followed.

For each delivering alert (a bounded page in id order, a cursor for the next sweep), its
current step's attempt is either
- *ended* (delivered, failed, no answer, ...) while the alert still waits on it: the follow-up
  (plan step, alert status) was lost; it is re-applied once, idempotently (``follow_up``);
- *with the provider* (sent, ringing, in progress) and unchanged for ``STUCK_AFTER_S``: its status
  callback never arrived or failed; the provider is asked for the status by id (the channel's
  ``status_of``, e.g. the official twilio library's fetch) and the answer is applied like a
  callback, through ``apply_status`` and so through the one move function.

Cost: one indexed query per page of delivering alerts (in flight, not the backlog of paced or
finished ones) and at most ``LOOKUPS`` provider requests a sweep. See docs/convergence.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from alerts.delivery.statuses import apply_status, follow_up
from alerts.deps import AlertDeps
from alerts.lifecycle import outcome
from alerts.models import Alert, DeliveryAttempt
from channels.base import ChannelError, StatusUpdate

logger = logging.getLogger(__name__)

STUCK_AFTER_S = 180  # an attempt with the provider this long without news is looked up
FOLLOW_UP_AFTER_S = 30  # an ended attempt whose alert still waits this long is followed up
PAGE = 500
LIMIT = 5_000  # delivering alerts looked at per sweep
LOOKUPS = 200  # provider requests per sweep
MAX_LOOKUP_INTERVAL_S = 3600  # an attempt with no news is asked at least this often
WITH_PROVIDER = frozenset({"sent", "ringing", "in_progress"})


@dataclass(slots=True)
class _Backoff:
    asked: int  # lookups that found no news
    next_at: datetime


@dataclass
class InFlightCursor:
    """What one pass leaves to the next: where to go on (after this alert id; None: from the
    first), and when each attempt the provider had no news of may be asked again.

    An attempt the provider keeps reporting as ``sent`` (an SMS whose carrier never confirms)
    is asked again after 2, 4, 8... times ``STUCK_AFTER_S``, at least every
    ``MAX_LOOKUP_INTERVAL_S``, not at every sweep: it stops using the per-sweep lookup budget
    of attempts that may have news. The schedule lives with the sweep (in the worker); a
    restart forgets it, which costs one early lookup per such attempt, nothing else."""

    after: int | None = None
    backoff: dict[int, _Backoff] = field(default_factory=dict)  # by attempt id

    def may_ask(self, attempt_id: int, now: datetime) -> bool:
        entry = self.backoff.get(attempt_id)
        return entry is None or now >= entry.next_at

    def no_news(self, attempt_id: int, now: datetime, stuck_after_s: float) -> None:
        asked = self.backoff[attempt_id].asked + 1 if attempt_id in self.backoff else 1
        wait = min(stuck_after_s * 2**asked, MAX_LOOKUP_INTERVAL_S)
        self.backoff[attempt_id] = _Backoff(asked, now + timedelta(seconds=wait))

    def forget_old(self, now: datetime) -> None:
        """Drop what no pass has needed for long (the attempt moved on or its alert ended)."""
        stale = now - timedelta(seconds=2 * MAX_LOOKUP_INTERVAL_S)
        for attempt_id in [a for a, e in self.backoff.items() if e.next_at < stale]:
            del self.backoff[attempt_id]


@dataclass
class Converged:
    """What one pass did, for the log, the sweep's count and the tests."""

    looked_at: int = 0
    followed_up: list[int] = field(default_factory=list)  # attempt ids
    looked_up: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)  # looked up and moved

    @property
    def moved(self) -> int:
        return len(self.followed_up) + len(self.applied)


@dataclass(frozen=True, slots=True)
class _InFlight:
    alert_id: int
    attempt_id: int
    channel: str
    status: str
    provider_sid: str | None
    updated_at: datetime


async def converge(
    *,
    deps: AlertDeps,
    now: datetime,
    cursor: InFlightCursor | None = None,
    limit: int = LIMIT,
    lookups: int = LOOKUPS,
    stuck_after_s: float = STUCK_AFTER_S,
    follow_up_after_s: float = FOLLOW_UP_AFTER_S,
) -> Converged:
    """One pass over (at most ``limit``) delivering alerts, going on from ``cursor`` (updated in
    place; back to the first once the pass reached the last one)."""
    cursor = cursor if cursor is not None else InFlightCursor()
    done = Converged()
    stuck_before = now - timedelta(seconds=stuck_after_s)
    ended_before = now - timedelta(seconds=follow_up_after_s)
    while done.looked_at < limit:
        rows = await _page(deps, cursor.after, min(PAGE, limit - done.looked_at))
        if not rows:
            cursor.after = None
            cursor.forget_old(now)
            break
        done.looked_at += len(rows)
        cursor.after = rows[-1].alert_id
        for row in rows:
            if outcome(row.channel, row.status) != "pending":
                if row.updated_at <= ended_before:
                    await _follow_up(deps, row, now, done)
            elif (
                row.status in WITH_PROVIDER
                and row.provider_sid
                and row.updated_at <= stuck_before
                and len(done.looked_up) < lookups
                and cursor.may_ask(row.attempt_id, now)
            ):
                if await _look_up(deps, row, now, done):
                    cursor.backoff.pop(row.attempt_id, None)
                else:
                    cursor.no_news(row.attempt_id, now, stuck_after_s)
    if done.moved:
        logger.info(
            "converged: %s follow-up(s) re-applied, %s of %s looked-up attempt(s) moved",
            len(done.followed_up),
            len(done.applied),
            len(done.looked_up),
        )
    return done


async def _page(deps: AlertDeps, after: int | None, size: int) -> list[_InFlight]:
    """Delivering alerts after ``after`` in id order, each with its current step's attempt."""
    attempt = DeliveryAttempt
    query = (
        sa.select(
            col(Alert.id),
            col(attempt.id),
            col(attempt.channel),
            col(attempt.status),
            col(attempt.provider_sid),
            col(attempt.updated_at),
        )
        .join(
            attempt,
            sa.and_(
                col(attempt.alert_id) == col(Alert.id),
                col(attempt.step_index) == col(Alert.current_step),
            ),
        )
        .where(col(Alert.status) == "delivering", col(Alert.trial).is_(False))
        .order_by(col(Alert.id))
        .limit(size)
    )
    if after is not None:
        query = query.where(col(Alert.id) > after)
    async with deps.sessions() as session:
        rows = (await (await session.connection()).execute(query)).all()
    return [
        _InFlight(alert_id or 0, attempt_id or 0, channel, status, sid, updated)
        for alert_id, attempt_id, channel, status, sid, updated in rows
    ]


async def _provider_says(deps: AlertDeps, row: _InFlight) -> StatusUpdate | None:
    """The provider's current status of the attempt's message (None: it cannot say now)."""
    channel = deps.channels.get(row.channel)
    if channel is None or not row.provider_sid:
        return None
    try:
        return await channel.status_of(row.provider_sid)
    except ChannelError as exc:
        logger.warning("cannot look up attempt_id=%s: %s", row.attempt_id, exc)
        return None


async def _follow_up(deps: AlertDeps, row: _InFlight, now: datetime, done: Converged) -> None:
    """Re-apply a lost follow-up, with the provider's detail when it can give it (answered by a
    machine, the error code) and the attempt's own status otherwise."""
    update = StatusUpdate(
        provider_sid=row.provider_sid or "", status=row.status, provider_status=row.status
    )
    if row.channel == "voice" or row.status not in ("delivered", "sent"):
        found = await _provider_says(deps, row)
        if found is not None and found.status == row.status:
            update = found
    if await follow_up(deps=deps, attempt_id=row.attempt_id, update=update, now=now):
        done.followed_up.append(row.attempt_id)


async def _look_up(deps: AlertDeps, row: _InFlight, now: datetime, done: Converged) -> bool:
    """Ask the provider about an attempt whose callback never came; apply what it says.
    False when the provider had no news (or could not be asked)."""
    done.looked_up.append(row.attempt_id)
    update = await _provider_says(deps, row)
    if update is None or update.status is None or update.status == row.status:
        return False
    result = await apply_status(deps=deps, attempt_id=row.attempt_id, update=update, now=now)
    logger.info(
        "looked up attempt_id=%s provider_sid=%s: %s -> %s (%s)",
        row.attempt_id,
        row.provider_sid,
        row.status,
        update.status,
        result,
    )
    if result == "applied":
        done.applied.append(row.attempt_id)
    return True
