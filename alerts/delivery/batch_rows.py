"""The statements of a batch of steps (alerts.delivery.batch): each writes the rows of every
step of the batch at once, and each move is a compare-and-set.

Before the sends: the attempts inserted as "sending" (``INSERT ... ON CONFLICT DO NOTHING
RETURNING``: a step whose attempt another worker created is left out), the alerts moved to
delivering only where they still wait on that step (``UPDATE ... WHERE current_step = CASE
...``), their history rows as multi-row INSERTs. After the sends: the attempts moved to the
provider's status with its id where they are still "sending" with no id, and the emails'
alerts moved to delivered. A statement that moves fewer rows than it was given raises
``BatchConflict``: the caller rolls the batch back and runs each step alone (the single-step
path tells the cases apart and records them as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy import delete, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from alerts.lifecycle import ALERT
from alerts.lifecycle.batches import move_alerts_at_steps, move_attempts_sent
from alerts.models import AttemptEvent, DeliveryAttempt, OutboxEvent, StatusChange
from alerts.outbox import ALERT_KINDS


class BatchConflict(Exception):
    """A row of the batch moved under it (a callback, an answer, another worker)."""


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """A step of the batch about to be sent for the first time."""

    alert_id: int
    step_index: int
    channel: str
    address: str
    now: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """A step whose attempt is inserted and whose message is ready: move it to "sending"."""

    attempt_id: int
    alert_id: int
    step_index: int
    alert_status: str  # as read with the step
    channel: str
    try_no: int
    created_reason: str  # the plan's reason for the step (the attempt's first history line)
    now: datetime


@dataclass(frozen=True, slots=True)
class Sent:
    """A step the provider accepted."""

    attempt_id: int
    alert_id: int
    step_index: int
    channel: str
    status: str
    provider_sid: str
    reached: bool  # an email: the alert is delivered with it
    customer_id: int
    alert_type: str
    now: datetime


async def insert_attempts(
    conn: AsyncConnection, steps: Sequence[NewAttempt]
) -> dict[tuple[int, int], int]:
    """Insert the steps' attempts as "sending" (since the step's time); the ids by (alert,
    step) of those inserted (not those another worker created first)."""
    rows = [
        {
            "alert_id": s.alert_id,
            "step_index": s.step_index,
            "channel": s.channel,
            "address": s.address,
            "status": "sending",
            "provider_sid": None,
            "sending_started_at": s.now,
            "error": None,
            "created_at": s.now,
            "updated_at": s.now,
        }
        for s in steps
    ]
    statement = _INSERT_ATTEMPTS[conn.dialect.name == "postgresql"]
    found: Sequence[Any] = (await conn.execute(statement, rows)).all()
    return {(alert_id, step_index): attempt_id for attempt_id, alert_id, step_index in found}


# Built once, run with many rows (SQLAlchemy's "insertmanyvalues": one INSERT ... VALUES
# (...), (...) RETURNING, compiled once and cached, not a new statement per batch size).
_INSERT_ATTEMPTS = {
    postgres: (postgresql_insert if postgres else sqlite_insert)(DeliveryAttempt)
    .on_conflict_do_nothing(index_elements=["alert_id", "step_index"])
    .returning(
        col(DeliveryAttempt.id), col(DeliveryAttempt.alert_id), col(DeliveryAttempt.step_index)
    )
    for postgres in (False, True)
}
_INSERT_EVENTS = insert(AttemptEvent)
_INSERT_CHANGES = insert(StatusChange)
_INSERT_OUTBOX = insert(OutboxEvent)


async def drop_attempts(conn: AsyncConnection, attempt_ids: Sequence[int]) -> None:
    """Take back attempts inserted by this (uncommitted) batch for steps that are not sent in
    it (a step that must wait for its slot, or that runs alone)."""
    if attempt_ids:
        await conn.execute(
            delete(DeliveryAttempt).where(col(DeliveryAttempt.id).in_(list(attempt_ids)))
        )


async def claim_sending(conn: AsyncConnection, claims: Sequence[Claim], now: datetime) -> None:
    """Move the claims' alerts to delivering where they still wait on the claimed step, and
    write the history of both moves (the attempts were inserted as "sending")."""
    if not claims:
        return
    steps = {c.alert_id: c.step_index for c in claims}
    if await move_alerts_at_steps(conn, steps, "send", now) != len(steps):
        raise BatchConflict("an alert of the batch moved before its step was claimed")
    events = []
    for c in claims:
        events.append(_event(c.attempt_id, "queued", None, c.created_reason, c.now))
        events.append(_event(c.attempt_id, "sending", None, f"try {c.try_no}", c.now))
    await conn.execute(_INSERT_EVENTS, events)
    changes = [
        _change(
            c.alert_id, c.alert_status, "send", "delivering", f"{c.channel} try {c.try_no}", c.now
        )
        for c in claims
    ]
    await conn.execute(_INSERT_CHANGES, changes)


async def record_sent(conn: AsyncConnection, sent: Sequence[Sent], now: datetime) -> None:
    """Move the attempts to the provider's status with its id (only those still "sending"
    with no id: a callback that got there first makes it a conflict), and the emails' alerts
    to delivered (only those still delivering that step), with their history and outbox."""
    if not sent:
        return
    if await move_attempts_sent(
        conn, {s.attempt_id: (s.status, s.provider_sid) for s in sent}, now
    ) != len(sent):
        raise BatchConflict("an attempt of the batch moved while it was sent")
    events = [
        _event(s.attempt_id, s.status, s.status, "accepted by the provider", s.now) for s in sent
    ]
    await conn.execute(_INSERT_EVENTS, events)
    reached = [s for s in sent if s.reached]
    if not reached:
        return
    steps = {s.alert_id: s.step_index for s in reached}
    if await move_alerts_at_steps(
        conn, steps, "reach", now, only_from=frozenset({"delivering"})
    ) != len(steps):
        raise BatchConflict("an alert of the batch moved while its email was sent")
    changes = [
        _change(s.alert_id, "delivering", "reach", "delivered", f"{s.channel} {s.status}", s.now)
        for s in reached
    ]
    await conn.execute(_INSERT_CHANGES, changes)
    outbox = [
        {
            "kind": ALERT_KINDS["delivered"],
            "customer_id": s.customer_id,
            "entity": "alert",
            "entity_id": s.alert_id,
            "data": _delivered(s),
            "created_at": s.now,
            "fanned_out_at": None,
        }
        for s in reached
    ]
    await conn.execute(_INSERT_OUTBOX, outbox)


def _delivered(s: Sent) -> dict[str, JsonValue]:
    """What ``alerts.lifecycle`` tells the CRM of an alert delivered (the same data)."""
    return {
        "alert_id": s.alert_id,
        "alert_type": s.alert_type,
        "from": "delivering",
        "status": "delivered",
    }


def _event(
    attempt_id: int, status: str, provider_status: str | None, detail: str, now: datetime
) -> dict[str, object]:
    return {
        "attempt_id": attempt_id,
        "status": status,
        "provider_status": provider_status,
        "detail": detail[:500],
        "applied": True,
        "created_at": now,
    }


def _change(
    alert_id: int, before: str, event: str, after: str, reason: str, now: datetime
) -> dict[str, object]:
    return {
        "entity": ALERT.name,
        "entity_id": alert_id,
        "from_status": before,
        "event": event,
        "to_status": after,
        "applied": True,
        "reason": reason[:500],
        "actor": "herald",
        "created_at": now,
    }
