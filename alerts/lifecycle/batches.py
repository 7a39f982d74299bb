"""The moves of a worker's batch of steps (``alerts.delivery.batch``): many rows per statement.

The same tables as ``alerts.lifecycle``, for many rows in one compare-and-set statement each: a
row moves only from a status its table allows, and only while it is still at the step the batch
claimed. The caller compares the count moved with the count given (fewer: a row moved under the
batch) and records the history rows itself (multi-row INSERTs). On PostgreSQL the rows are
joined as arrays (``unnest``): one statement text, compiled once, whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import bindparam, case, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from alerts.columns import UTCDateTime
from alerts.lifecycle import ALERT, ATTEMPT
from alerts.models import Alert, DeliveryAttempt

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
