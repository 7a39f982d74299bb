"""Event rows inserted a batch at a time in one statement, without SQLAlchemy's per-value work.

SQLAlchemy's executemany runs every value of every row through Python (bind processors, the
JSON type's `json.dumps`, the decimal and date types). Here the values are written once per row
as SQLAlchemy would write them (the amount as its exact decimal text, as `DecimalText` does; the
date in ISO form; `data` as `json.dumps` gives it), and bound by the driver: on SQLite one
multi-row VALUES statement per batch; on PostgreSQL the batch is one JSON document unpacked by
`json_to_recordset` (as alerts/decisions does for its rows; its helper belongs to that stage,
which this one may not import, so the ingest keeps its own), encoded by the json module's C
encoder in one call. The creation time goes through the column's own type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.columns import UTCDateTime
from xml_adapters.base import AccountEvent

# (column, PostgreSQL type in the record set); every row of the batch carries these.
_COLUMNS = (
    ("source", "text"),
    ("source_event_id", "text"),
    ("event_type", "text"),
    ("account_id", "text"),
    ("customer_id", "bigint"),
    ("amount", "text"),
    ("currency", "text"),
    ("credit_debit", "text"),
    ("status", "text"),
    ("booking_date", "date"),
    ("description", "text"),
    ("line", "bigint"),
    ("data", "text"),
)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_data_text = json.JSONEncoder().encode  # what sa.JSON stores (json.dumps, default settings)
_BINDS = (sa.bindparam("file_id", type_=sa.Integer()), sa.bindparam("now", type_=UTCDateTime()))


def event_row(event: AccountEvent, customer_id: int | None) -> dict[str, Any]:
    """The row of one event, as JSON values."""
    amount, booked = event.amount, event.booking_date
    return {
        "source": event.source,
        "source_event_id": event.source_event_id,
        "event_type": event.event_type,
        "account_id": event.account_id,
        "customer_id": customer_id,
        "amount": None if amount is None else str(amount),
        "currency": event.currency,
        "credit_debit": event.credit_debit,
        "status": event.status,
        "booking_date": None if booked is None else booked.isoformat(),
        "description": (event.description or "")[:500] or None,
        "line": event.line,
        "data": _data_text(dict(event.data)),
    }


def _pg_statement() -> sa.TextClause:
    names = ", ".join(name for name, _type in _COLUMNS)
    record = ", ".join(f"{name} {type_}" for name, type_ in _COLUMNS)
    values = ", ".join(
        f"CAST({name} AS json)" if name == "data" else name for name, _type in _COLUMNS
    )
    sql = (
        f"INSERT INTO events ({names}, file_id, evaluated, created_at) SELECT {values},"
        f" :file_id, false, :now FROM json_to_recordset(CAST(:rows AS json)) AS r({record})"
        f"{_TAIL}"
    )
    return sa.text(sql).bindparams(*_BINDS)


_TAIL = (
    " ON CONFLICT (source, source_event_id) DO NOTHING"
    " RETURNING source_event_id, customer_id, account_id"
)
_PG_INSERT = _pg_statement()
_NAMES = tuple(name for name, _type in _COLUMNS)
_SQLITE_ROW = "(" + ", ".join("?" * (len(_COLUMNS) + 3)) + ")"
_SQLITE_HEAD = f"INSERT INTO events ({', '.join(_NAMES)}, file_id, evaluated, created_at) VALUES "


def _sqlite_sql(count: int) -> str:
    """A multi-row VALUES insert of `count` rows (SQLite binds up to 32,766 values)."""
    return _SQLITE_HEAD + ", ".join([_SQLITE_ROW] * count) + _TAIL


_SQLITE_MAX_ROWS = 32_766 // (len(_COLUMNS) + 3)


async def insert_events(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], *, file_id: int, now: datetime
) -> list[Any]:
    """Insert `rows` (see `event_row`); the rows inserted (source_event_id, customer_id,
    account_id), without those whose (source, source_event_id) existed already."""
    if conn.dialect.name == "postgresql":
        params = {"rows": _encode(rows), "file_id": file_id, "now": now}
        return list((await conn.execute(_PG_INSERT, params)).all())
    # SQLite: one multi-row VALUES statement bound by the driver (in C), values as SQLAlchemy
    # writes them; the creation time through the column's own type.
    created = UTCDateTime().bind_processor(conn.dialect)
    stamp = created(now) if created is not None else now
    inserted: list[Any] = []
    for start in range(0, len(rows), _SQLITE_MAX_ROWS):
        chunk = rows[start : start + _SQLITE_MAX_ROWS]
        values: list[Any] = []
        for row in chunk:
            values += [row[name] for name in _NAMES]
            values += (file_id, 0, stamp)
        result = await conn.exec_driver_sql(_sqlite_sql(len(chunk)), tuple(values))
        inserted += result.all()
    return inserted
