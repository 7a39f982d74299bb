"""The lifecycle's hot moves as single PostgreSQL statements (writable CTEs), for the webhooks.

A status callback or an answer that only closes its alert is one round trip here instead of the
ORM moves of ``alerts.lifecycle`` (a read, an UPDATE, the history, the status change and the
outbox row, each its own statement). The moves are the same ones: the sources of each move
come from the lifecycle tables (``ALERT``, ``ATTEMPT``), every UPDATE is a compare-and-set on
them, and the status change and outbox rows are those ``move_alert`` writes. A move these
statements do not cover (an outcome that needs the plan, a hand-off, SQLite) takes the ORM path.
This module and ``alerts.lifecycle`` are the only places that write a lifecycle status
(``tests/unit/alerts/test_status_writes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.lifecycle import ALERT, ATTEMPT
from alerts.models import Alert
from alerts.outbox import ALERT_KINDS
from channels import metrics

# --- a status callback's common case in one statement ---------------------------------------

_ALERT_REACHABLE = sorted(s for s in ALERT.sources("reach") if s != "delivered")
_FORWARD_AND_REACH = f"""
WITH moved AS (
    UPDATE delivery_attempts
    SET status = %(target)s, updated_at = %(now)s, provider_sid = %(sid)s,
        error = coalesce(%(error)s, error)
    WHERE id = %(attempt_id)s AND channel = %(channel)s AND status = ANY(%(sources)s)
      AND (provider_sid = %(sid)s OR provider_sid IS NULL)
    RETURNING id, alert_id, step_index
), history AS (
    INSERT INTO attempt_events (attempt_id, status, provider_status, detail, applied, created_at)
    SELECT id, %(target)s, %(provider_status)s, %(detail)s, true, %(now)s FROM moved
), was AS (
    SELECT a.id, a.status, a.alert_type, a.customer_id
    FROM alerts a JOIN moved m ON a.id = m.alert_id
    WHERE %(reach)s AND a.current_step = m.step_index
      AND a.status IN ({", ".join(f"'{s}'" for s in _ALERT_REACHABLE)})
      AND coalesce(a.plan -> m.step_index ->> 'kind', 'alert') <> 'call_now'
    FOR UPDATE OF a
), reached AS (
    UPDATE alerts SET status = 'delivered', updated_at = %(now)s, next_step_at = NULL
    FROM was WHERE alerts.id = was.id
    RETURNING alerts.id
), change AS (
    INSERT INTO status_changes
        (entity, entity_id, from_status, event, to_status, applied, reason, actor, created_at)
    SELECT 'alert', id, status, 'reach', 'delivered', true, %(reason)s, 'herald', %(now)s
    FROM was
), told AS (
    INSERT INTO outbox_events (kind, customer_id, entity, entity_id, data, created_at)
    SELECT '{ALERT_KINDS["delivered"]}', customer_id, 'alert', id,
        json_build_object('alert_id', id, 'alert_type', alert_type, 'from', status,
                          'status', 'delivered'),
        %(now)s
    FROM was
)
SELECT m.alert_id, (SELECT count(*) FROM reached) FROM moved m
"""


async def move_attempt_and_reach(
    session: AsyncSession,
    *,
    attempt_id: int,
    channel: str,
    status: str,
    provider_sid: str,
    provider_status: str | None,
    error: str | None,
    detail: str | None,
    reach: bool,
    now: datetime,
) -> tuple[int, bool] | None:
    """A provider status in one PostgreSQL statement (the status webhook's hot path): the
    attempt's compare-and-set by the ATTEMPT table (its own message, or one not stored yet),
    its history row and, with ``reach`` (the status reaches the customer), the alert's "reach"
    move when the attempt is the alert's current step (not a "call me now" call's, which has
    its own follow-up), with its status change and its outbox event, as ``move_alert`` records
    them. Not committed.

    None when the attempt did not move (the caller takes the full path, which tells a late
    callback from a mismatch); else (alert id, whether the alert moved): an alert that did not
    move is left to the caller's follow-up exactly as if only the attempt had been moved."""
    target = ATTEMPT.target(status)
    if target is None:
        return None
    connection = await session.connection()
    result = await connection.exec_driver_sql(
        _FORWARD_AND_REACH,
        {
            "target": target,
            "now": now,
            "sid": provider_sid,
            "error": error or None,
            "attempt_id": attempt_id,
            "channel": channel,
            "sources": sorted(ATTEMPT.sources(status)),
            "provider_status": provider_status,
            "detail": detail,
            "reach": reach,
            "reason": f"{channel} {target}"[:500],
        },
    )
    row: Any = result.first()
    if row is None:
        return None
    metrics.attempt_moved(channel, target)
    alert_id, alerts_moved = row
    return int(alert_id), bool(alerts_moved)


_ANSWER_SOURCES = ", ".join(f"'{s}'" for s in sorted(ALERT.sources("answer")))
_STORE_ANSWER_AND_CLOSE = f"""
WITH answer AS (
    INSERT INTO responses
        (dedupe_key, alert_id, attempt_id, customer_id, channel, key, intent, text, created_at)
    VALUES (%(dedupe_key)s, %(alert_id)s, %(attempt_id)s, %(customer_id)s, %(channel)s,
            %(key)s, %(intent)s, %(text)s, %(now)s)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
), was AS (
    SELECT a.id, a.status FROM alerts a, answer
    WHERE %(close)s AND a.id = %(alert_id)s AND a.status IN ({_ANSWER_SOURCES})
    FOR UPDATE OF a
), closed AS (
    UPDATE alerts SET status = 'closed', closed_reason = %(short_reason)s, updated_at = %(now)s,
        next_step_at = NULL
    FROM was WHERE alerts.id = was.id
    RETURNING alerts.id
), change AS (
    INSERT INTO status_changes
        (entity, entity_id, from_status, event, to_status, applied, reason, actor, created_at)
    SELECT 'alert', id, status, 'answer', 'closed', true, %(reason)s, 'customer', %(now)s
    FROM was
), told AS (
    INSERT INTO outbox_events (kind, customer_id, entity, entity_id, data, created_at)
    SELECT kind, %(customer_id)s, entity, entity_id, data, %(now)s FROM (
        SELECT 1 AS n, 'response.recorded' AS kind, 'response' AS entity, id AS entity_id,
            json_build_object('response_id', id, 'alert_id', %(alert_id)s::integer,
                'alert_type', %(alert_type)s::text, 'channel', %(channel)s::text,
                'key', %(key)s::text, 'intent', %(intent)s::text) AS data
        FROM answer WHERE %(tell)s
        UNION ALL
        SELECT 2, '{ALERT_KINDS["closed"]}', 'alert', id,
            json_build_object('alert_id', id, 'alert_type', %(alert_type)s::text,
                'from', status, 'status', 'closed')
        FROM was
    ) AS events ORDER BY n
)
SELECT id, (SELECT count(*) FROM closed) FROM answer
"""


async def store_answer_and_close(
    session: AsyncSession,
    *,
    values: Mapping[str, object],
    alert: Alert,
    close_reason: str | None,
    tell: bool,
    now: datetime,
) -> int | None:
    """An answer whose only act is to close its alert (or none), in one PostgreSQL statement:
    the answer stored once by its ``dedupe_key`` (``INSERT ... ON CONFLICT DO NOTHING``), the
    CRM's ``response.recorded`` (with ``tell``), and with ``close_reason`` the alert's
    "answer" move if its status allows it, with its status change and outbox event, as
    ``move_alert`` records them (the actor: the customer). Not committed.

    ``values``: the Response's columns but ``created_at``. Returns the answer's id, or None
    when an answer with the same identity is stored already (nothing was written)."""
    connection = await session.connection()
    reason = close_reason or ""
    result = await connection.exec_driver_sql(
        _STORE_ANSWER_AND_CLOSE,
        {
            **values,
            "now": now,
            "close": close_reason is not None,
            "reason": reason[:500],
            "short_reason": reason[:200],
            "tell": tell,
            "alert_type": alert.alert_type,
        },
    )
    row: Any = result.first()
    if row is None:
        return None
    response_id, closed = row
    if closed:
        # The session's row as the statement left it (committed values: nothing to flush).
        for key, value in (
            ("status", "closed"),
            ("closed_reason", reason[:200]),
            ("next_step_at", None),
            ("updated_at", now),
        ):
            set_committed_value(alert, key, value)
    return int(response_id)
