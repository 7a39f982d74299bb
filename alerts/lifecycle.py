"""Lifecycles as tables: the states of an alert, a delivery attempt and a hand-off, their legal
moves and which states are final; and the one function per row type that moves a status.

Every status change in Herald goes through ``move_alert``, ``move_attempt`` or ``move_handoff``.
Each looks the move up in its table and refuses one the table does not hold: the row keeps its
status, and the refusal is recorded (with the reason) beside the moves that were made, the way a
late or duplicate provider callback always was. ``tests/unit/alerts/test_lifecycle.py``
enumerates every (state, event) pair of every table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue
from sqlalchemy import bindparam, case, inspect, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import UTCDateTime
from alerts.models import Alert, AttemptEvent, DeliveryAttempt, HandOff, StatusChange
from alerts.outbox import ALERT_KINDS, emit
from channels import metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lifecycle:
    """A state machine as data: ``moves[(state, event)]`` is the state the event leads to."""

    name: str
    states: tuple[str, ...]
    terminal: frozenset[str]
    moves: Mapping[tuple[str, str], str]

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(event for _, event in self.moves))

    @property
    def open_states(self) -> frozenset[str]:
        return frozenset(s for s in self.states if s not in self.terminal)

    def next_state(self, state: str, event: str) -> str | None:
        """Where ``event`` takes a row in ``state``; None when the table has no such move."""
        return self.moves.get((state, event))

    def target(self, event: str) -> str | None:
        """The one state ``event`` always leads to (None if it leads to several, or none)."""
        targets = {to for (_, e), to in self.moves.items() if e == event}
        return targets.pop() if len(targets) == 1 else None

    def sources(self, event: str) -> frozenset[str]:
        """The states from which ``event`` is a legal move."""
        return frozenset(s for (s, e) in self.moves if e == event)


def _table(spec: Mapping[str, Mapping[str, tuple[str, ...]]]) -> dict[tuple[str, str], str]:
    """``{event: {to: (from, ...)}}`` written for people, as ``{(from, event): to}``."""
    return {
        (source, event): to
        for event, targets in spec.items()
        for to, sources in targets.items()
        for source in sources
    }


# --- an alert ---------------------------------------------------------------------------------
# pending: a step is planned (maybe not yet due); delivering: a step is with the provider;
# delivered: the customer was reached; closed: they answered; failed / expired: it ended unread.
# A customer who answered may ask for a copy (SMS or email): that plans one more step, so closed
# is final for the alert's own plan but not for a copy the customer asked for.

_LIVE = ("pending", "delivering", "delivered")
ALERT = Lifecycle(
    name="alert",
    states=("pending", "delivering", "delivered", "closed", "failed", "expired"),
    terminal=frozenset({"failed", "expired"}),
    moves=_table(
        {
            "send": {"delivering": ("pending", "delivering")},
            "reach": {"delivered": _LIVE},
            "next_step": {"pending": _LIVE},
            "answer": {"closed": _LIVE},
            "plan_copy": {"pending": (*_LIVE, "closed")},
            "copy_undelivered": {"delivered": _LIVE},
            "fail": {"failed": _LIVE},
            "expire": {"expired": _LIVE},
        }
    ),
)
# An alert whose plan may still send something (the sweep, SMS reply matching, the answers).
ALERT_OPEN = frozenset(_LIVE)
ALERT_STATUSES = frozenset(ALERT.states)


# --- a delivery attempt -------------------------------------------------------------------------
# Provider statuses, normalised, only move forward: each event is the status reported (or set by
# the worker), legal from any status of lower rank. One move goes back: ``requeue``, sending ->
# queued, when the provider certainly did not accept the request (a refused request; an
# ambiguous error is looked up at the provider first).

TERMINAL = 9
ATTEMPT_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "ringing": 3,
    "in_progress": 4,
    "completed": TERMINAL,
    "delivered": TERMINAL,
    "busy": TERMINAL,
    "no_answer": TERMINAL,
    "failed": TERMINAL,
    "undelivered": TERMINAL,
    "canceled": TERMINAL,
}
ATTEMPT = Lifecycle(
    name="attempt",
    states=tuple(ATTEMPT_RANK),
    terminal=frozenset(s for s, r in ATTEMPT_RANK.items() if r == TERMINAL),
    moves={
        **{
            (source, status): status
            for status, rank in ATTEMPT_RANK.items()
            for source, lower in ATTEMPT_RANK.items()
            if lower < rank and status != "queued"
        },
        ("sending", "requeue"): "queued",
    },
)


# --- a hand-off ----------------------------------------------------------------------------------
# queued: waiting for the call centre (a live transfer ringing the centre, a callback not yet due,
# a task nobody took); offered: Herald is calling the customer back, or an agent is being offered
# it; claimed: an agent took it; connected: customer and agent are talking; then completed,
# abandoned (the customer hung up before an agent answered), expired (nobody took it in time) or
# failed (the call could not be placed).

HANDOFF = Lifecycle(
    name="handoff",
    states=(
        "queued",
        "offered",
        "claimed",
        "connected",
        "completed",
        "abandoned",
        "expired",
        "failed",
    ),
    terminal=frozenset({"completed", "abandoned", "expired", "failed"}),
    moves=_table(
        {
            "offer": {"offered": ("queued",)},
            "claim": {"claimed": ("queued", "offered")},
            "release": {"queued": ("offered", "claimed")},
            "connect": {"connected": ("queued", "offered", "claimed")},
            "complete": {"completed": ("queued", "offered", "claimed", "connected")},
            "abandon": {"abandoned": ("queued", "offered", "connected")},
            "expire": {"expired": ("queued", "offered")},
            "fail": {"failed": ("queued", "offered", "claimed", "connected")},
        }
    ),
)
HANDOFF_OPEN = HANDOFF.open_states


def may_move(current: str, new: str) -> bool:
    """True when an attempt in ``current`` may take the status ``new`` (forward only)."""
    return ATTEMPT.next_state(current, new) == new


# What an attempt's status means for the plan.
Reach = Literal["reached", "not_reached", "pending"]


def outcome(channel: str, status: str, answered_by: str | None = None) -> Reach:
    """What an attempt's status means for the plan: "reached", "not_reached" or "pending"."""
    if status in ("busy", "no_answer", "failed", "undelivered", "canceled"):
        return "not_reached"
    if channel == "voice" and status == "completed":
        if answered_by and answered_by.startswith("machine"):
            return "not_reached"  # a voicemail was left; try the next channel
        return "reached"
    if channel == "sms" and status == "delivered":
        return "reached"
    if channel == "email" and status in ("sent", "delivered"):
        return "reached"
    return "pending"


# --- the moves ------------------------------------------------------------------------------------


def _record(
    session: AsyncSession,
    *,
    entity: str,
    entity_id: int | None,
    before: str,
    event: str,
    after: str | None,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    assert entity_id is not None, f"a {entity} is stored before its status moves"
    session.add(
        StatusChange(
            entity=entity,
            entity_id=entity_id,
            from_status=before,
            event=event,
            to_status=after or before,
            applied=after is not None,
            reason=reason[:500],
            actor=actor[:100],
            created_at=now,
        )
    )
    if after is None:
        logger.info("%s %s: %s refused in status %s (%s)", entity, entity_id, event, before, reason)


def _move(
    session: AsyncSession,
    table: Lifecycle,
    row: Alert | HandOff,
    event: str,
    *,
    reason: str,
    now: datetime,
    actor: str,
) -> str | None:
    """Look ``event`` up in ``table`` for ``row`` and record the move or its refusal; returns
    the new state (set on the row and added to the session), or None when refused."""
    before = row.status
    after = table.next_state(before, event)
    _record(
        session,
        entity=table.name,
        entity_id=row.id,
        before=before,
        event=event,
        after=after,
        reason=reason,
        actor=actor,
        now=now,
    )
    if after is not None:
        row.status = after
        row.updated_at = now
        session.add(row)
        _tell_the_crm(session, table, row, event=event, before=before, after=after, now=now)
    return after


def _tell_the_crm(
    session: AsyncSession,
    table: Lifecycle,
    row: Alert | HandOff,
    *,
    event: str,
    before: str,
    after: str,
    now: datetime,
) -> None:
    """The moves a CRM hears about go to the outbox with the move (alerts.outbox)."""
    if after == before:
        return
    if isinstance(row, HandOff):
        kind: str | None = f"handoff.{after}"
        data: dict[str, JsonValue] = {
            "handoff_id": row.id,
            "kind": row.kind,
            "alert_id": row.alert_id,
            "from": before,
            "status": after,
            "move": event,
            "queue": row.queue,
        }
        if row.claimed_by:
            data["agent"] = row.claimed_by
        outcome = (row.context or {}).get("outcome")
        if outcome:
            data["outcome"] = outcome
    else:
        kind = ALERT_KINDS.get(after)
        data = {"alert_id": row.id, "alert_type": row.alert_type, "from": before, "status": after}
    if kind is not None:
        emit(
            session,
            kind=kind,
            entity=table.name,
            entity_id=row.id,
            customer_id=row.customer_id,
            data=data,
            now=now,
        )


def move_alert(
    session: AsyncSession,
    alert: Alert,
    event: str,
    *,
    reason: str,
    now: datetime,
    actor: str = "herald",
) -> bool:
    """Move ``alert`` by ``event`` if its table allows it (added to the session, not committed);
    False, and the refusal recorded, when it does not."""
    return _move(session, ALERT, alert, event, reason=reason, now=now, actor=actor) is not None


def move_handoff(
    session: AsyncSession,
    handoff: HandOff,
    event: str,
    *,
    reason: str,
    now: datetime,
    actor: str = "herald",
) -> bool:
    """Move ``handoff`` by ``event`` if its table allows it; the move (or its refusal) is
    recorded with its time, so every hand-off carries the timestamps of its whole life."""
    after = _move(session, HANDOFF, handoff, event, reason=reason, now=now, actor=actor)
    if after in HANDOFF.terminal:
        handoff.closed_at = now
    return after is not None


async def claim_handoff(
    session: AsyncSession, handoff: HandOff, *, agent: str, reason: str, now: datetime
) -> bool:
    """``agent`` claims ``handoff``: one compare-and-set UPDATE (legal source status, nobody's
    claim yet), so when two agents click at once exactly one wins. The winner's move is
    recorded and told to the CRM like any move; the loser's is recorded as refused."""
    assert handoff.id is not None
    before = handoff.status
    result = await session.exec(
        update(HandOff)
        .where(
            col(HandOff.id) == handoff.id,
            col(HandOff.status).in_(HANDOFF.sources("claim")),
            col(HandOff.claimed_by).is_(None),
        )
        .values(status="claimed", claimed_by=agent[:100], claimed_at=now, updated_at=now)
    )
    won = bool(result.rowcount)
    await session.flush()
    await session.refresh(handoff)
    _record(
        session,
        entity=HANDOFF.name,
        entity_id=handoff.id,
        before=before if won else handoff.status,
        event="claim",
        after="claimed" if won else None,
        reason=reason if won else f"{reason}; already taken by {handoff.claimed_by or 'nobody'}",
        actor=agent,
        now=now,
    )
    if won:
        _tell_the_crm(
            session, HANDOFF, handoff, event="claim", before=before, after="claimed", now=now
        )
    return won


async def move_attempt(
    session: AsyncSession,
    attempt: DeliveryAttempt,
    event: str,
    *,
    provider_status: str | None,
    detail: str | None,
    now: datetime,
    also: Mapping[str, object] | None = None,
) -> bool:
    """Move ``attempt`` by ``event`` (a status, or ``requeue``) if the table allows it from the
    status the database holds now: a compare-and-set in one UPDATE, because a provider callback
    and the worker's own "sent" race, and whichever lands second may only move the row forward.
    The move, or its refusal, is recorded in the attempt's history (added, not flushed).

    ``also`` are more columns written by the same UPDATE when it applies (the sending time).
    The UPDATE returns the row: a move that applies costs one statement; a refused one flushes
    what the caller set on the row and reads the row again (the status another writer left)."""
    assert attempt.id is not None
    target = ATTEMPT.target(event)
    applied = False
    if target is not None:
        values: dict[str, object] = {"status": target, "updated_at": now, **(also or {})}
        if attempt.provider_sid:
            values["provider_sid"] = attempt.provider_sid
        if attempt.error:
            values["error"] = attempt.error
        if event == "requeue":
            values["sending_started_at"] = None
        columns = DeliveryAttempt.__table__.c  # type: ignore[attr-defined]
        with session.no_autoflush:  # what the caller set is in ``values`` (or flushed below)
            result = await session.exec(
                update(DeliveryAttempt)
                .where(
                    col(DeliveryAttempt.id) == attempt.id,
                    col(DeliveryAttempt.status).in_(ATTEMPT.sources(event)),
                )
                .values(**values)
                .returning(*columns)
                .execution_options(synchronize_session=False)  # the returned row is applied
            )
            row = result.mappings().first()
        applied = row is not None
        if row is not None:
            metrics.attempt_moved(attempt.channel, target)
            _loaded(attempt, row, written=values)
    if not applied:
        await session.flush()
        await session.refresh(attempt)
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            status=target or event,
            provider_status=provider_status,
            detail=detail,
            applied=applied,
            created_at=now,
        )
    )
    return applied


def _loaded(
    attempt: DeliveryAttempt, row: Mapping[Any, Any], *, written: Mapping[str, object]
) -> None:
    """Take the row the UPDATE returned as the attempt's stored state (no re-read): every
    column the caller has not changed since, and every column the UPDATE wrote."""
    changed = inspect(attempt).committed_state
    for key, value in row.items():
        if key in written or key not in changed:
            set_committed_value(attempt, key, value)


# --- the moves of a worker's batch of steps (alerts.delivery.batch) ----------------------------
# The same tables, for many rows in one compare-and-set statement each: a row moves only from a
# status its table allows, and only while it is still at the step the batch claimed. The caller
# compares the count moved with the count given (fewer: a row moved under the batch) and
# records the history rows itself (multi-row INSERTs). On PostgreSQL the rows are joined as
# arrays (``unnest``): one statement text, compiled once, whatever the batch's size.

_NOW = bindparam("now", type_=UTCDateTime())
_PG_ALERTS_AT_STEPS = (
    "UPDATE alerts SET status = :to, updated_at = :now{also}"
    " FROM unnest(CAST(:ids AS INTEGER[]), CAST(:steps AS INTEGER[])) AS v(id, step)"
    " WHERE alerts.id = v.id AND alerts.current_step = v.step"
    " AND alerts.status IN :sources RETURNING alerts.id"
)
_PG_ATTEMPTS_SENT = text(
    "UPDATE delivery_attempts SET status = v.status, provider_sid = v.sid, updated_at = :now"
    " FROM unnest(CAST(:ids AS INTEGER[]), CAST(:statuses AS VARCHAR[]),"
    " CAST(:sids AS VARCHAR[])) AS v(id, status, sid)"
    " WHERE delivery_attempts.id = v.id AND delivery_attempts.status = 'sending'"
    " AND delivery_attempts.provider_sid IS NULL RETURNING delivery_attempts.id"
).bindparams(_NOW)
# What a move of many alerts writes beside the status: reached ends the plan's waiting.
_ALSO = {"reach": {"next_step_at": None}}
_PG_ALERT_MOVES = {
    event: text(
        _PG_ALERTS_AT_STEPS.format(also=", next_step_at = NULL" if event in _ALSO else "")
    ).bindparams(_NOW, bindparam("sources", expanding=True))
    for event in ("send", "reach")
}


async def move_alerts_at_steps(
    conn: AsyncConnection,
    steps: Mapping[int, int],
    event: str,
    now: datetime,
    *,
    only_from: frozenset[str] | None = None,
) -> int:
    """Move the alerts ``steps`` names (id -> the step each must still be at) by ``event``
    ("send" or "reach") where the alert table allows it from their status now (and, with
    ``only_from``, only from those statuses); returns how many moved. The caller records the
    moves (``StatusChange`` rows) and the CRM's events."""
    target = ALERT.target(event)
    assert target is not None and event in _PG_ALERT_MOVES, event
    allowed = ALERT.sources(event)
    sources = sorted(allowed if only_from is None else allowed & only_from)
    if conn.dialect.name == "postgresql":
        params = {
            "to": target,
            "ids": list(steps),
            "steps": list(steps.values()),
            "sources": sources,
            "now": now,
        }
        return len((await conn.execute(_PG_ALERT_MOVES[event], params)).all())
    moved = await conn.execute(
        update(Alert)
        .where(
            col(Alert.id).in_(list(steps)),
            col(Alert.status).in_(sources),
            col(Alert.current_step) == case(dict(steps), value=col(Alert.id)),
        )
        .values(status=target, updated_at=now, **_ALSO.get(event, {}))
        .returning(col(Alert.id))
    )
    return len(moved.all())


async def move_attempts_sent(
    conn: AsyncConnection, sent: Mapping[int, tuple[str, str]], now: datetime
) -> int:
    """Move the attempts ``sent`` names (id -> the provider's status and id) from "sending",
    where they still have no provider id (a callback that got there first wrote it), to that
    status with that id; returns how many moved. Each status must be a legal move from
    "sending" (the caller checks it); the caller records the ``AttemptEvent`` rows."""
    assert all(ATTEMPT.next_state("sending", status) == status for status, _ in sent.values())
    if conn.dialect.name == "postgresql":
        params = {
            "ids": list(sent),
            "statuses": [status for status, _ in sent.values()],
            "sids": [sid for _, sid in sent.values()],
            "now": now,
        }
        moved = (await conn.execute(_PG_ATTEMPTS_SENT, params)).all()
    else:
        moved = (
            await conn.execute(
                update(DeliveryAttempt)
                .where(
                    col(DeliveryAttempt.id).in_(list(sent)),
                    col(DeliveryAttempt.status) == "sending",
                    col(DeliveryAttempt.provider_sid).is_(None),
                )
                .values(
                    status=case(
                        {i: s for i, (s, _) in sent.items()}, value=col(DeliveryAttempt.id)
                    ),
                    provider_sid=case(
                        {i: sid for i, (_, sid) in sent.items()}, value=col(DeliveryAttempt.id)
                    ),
                    updated_at=now,
                )
                .returning(col(DeliveryAttempt.id))
            )
        ).all()
    return len(moved)
