"""CSV exports for the CRM and the contact history: responses and hand-offs for a date range.

Streamed: rows are read through a server-side cursor in chunks and written out as they come,
so an export of millions of rows holds one chunk in memory, whatever the range. Times are UTC
(ISO 8601); a customer is named by the company's own reference, as in the webhooks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.deps import AlertDeps
from alerts.models import Alert, Customer, HandOff, Response

CHUNK = 2000  # rows per read from the cursor and per piece of the response body

RESPONSE_COLUMNS = (
    "response_id",
    "answered_at",
    "customer_ref",
    "alert_id",
    "alert_type",
    "channel",
    "key",
    "intent",
    "text",
    "handoff_id",
    "handoff_kind",
    "handoff_status",
)
HANDOFF_COLUMNS = (
    "handoff_id",
    "created_at",
    "closed_at",
    "customer_ref",
    "alert_id",
    "alert_type",
    "kind",
    "status",
    "response_channel",
    "response_key",
    "queue",
    "claimed_by",
    "claimed_at",
)


def day_range(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in UTC; ValueError when until is before since."""
    if until < since:
        raise ValueError(f"the range ends ({until}) before it starts ({since})")
    return datetime.combine(since, time(), UTC), datetime.combine(until + timedelta(1), time(), UTC)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat() + "+00:00"
    text = str(value)
    # A cell a spreadsheet would run as a formula is quoted with a leading apostrophe.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def _stream(deps: AlertDeps, query: Any, columns: Sequence[str]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    async with deps.sessions() as session:
        result = await session.stream(query.execution_options(yield_per=CHUNK))
        async for rows in result.partitions(CHUNK):
            writer.writerows([_cell(v) for v in row] for row in rows)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def responses_query(start: datetime, end: datetime) -> Any:
    return (
        sa.select(
            col(Response.id),
            col(Response.created_at),
            col(Customer.external_ref),
            col(Response.alert_id),
            col(Alert.alert_type),
            col(Response.channel),
            col(Response.key),
            col(Response.intent),
            col(Response.text),
            col(HandOff.id),
            col(HandOff.kind),
            col(HandOff.status),
        )
        .outerjoin(Customer, col(Customer.id) == col(Response.customer_id))
        .outerjoin(Alert, col(Alert.id) == col(Response.alert_id))
        .outerjoin(HandOff, col(HandOff.response_id) == col(Response.id))
        .where(col(Response.created_at) >= start, col(Response.created_at) < end)
        .order_by(col(Response.created_at), col(Response.id))
    )


def handoffs_query(start: datetime, end: datetime) -> Any:
    return (
        sa.select(
            col(HandOff.id),
            col(HandOff.created_at),
            col(HandOff.closed_at),
            col(Customer.external_ref),
            col(HandOff.alert_id),
            col(Alert.alert_type),
            col(HandOff.kind),
            col(HandOff.status),
            col(Response.channel),
            col(Response.key),
            col(HandOff.queue),
            col(HandOff.claimed_by),
            col(HandOff.claimed_at),
        )
        .outerjoin(Customer, col(Customer.id) == col(HandOff.customer_id))
        .outerjoin(Alert, col(Alert.id) == col(HandOff.alert_id))
        .outerjoin(Response, col(Response.id) == col(HandOff.response_id))
        .where(col(HandOff.created_at) >= start, col(HandOff.created_at) < end)
        .order_by(col(HandOff.created_at), col(HandOff.id))
    )


def responses_csv(deps: AlertDeps, since: date, until: date) -> AsyncIterator[str]:
    """Every response answered in [since, until] (UTC days), oldest first, with its hand-off."""
    return _stream(deps, responses_query(*day_range(since, until)), RESPONSE_COLUMNS)


def handoffs_csv(deps: AlertDeps, since: date, until: date) -> AsyncIterator[str]:
    """Every hand-off created in [since, until] (UTC days), oldest first, with its state."""
    return _stream(deps, handoffs_query(*day_range(since, until)), HANDOFF_COLUMNS)


async def count_rows(session: AsyncSession, query: Any) -> int:
    """How many rows an export query gives (for the page's "n rows" before downloading)."""
    counted = select(sa.func.count()).select_from(query.order_by(None).subquery())
    return int((await session.exec(counted)).one())
