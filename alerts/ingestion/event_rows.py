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
from collections.abc import Callable, Sequence
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


def _text_encoder() -> Callable[[Any], str]:
    """What sa.JSON stores (`json.dumps` with its default settings), for a dict of texts: the
    json module's C encoder made once, not on each call as `JSONEncoder.encode` does (a third
    of its time for an event's `data`); no circular-reference check (texts only)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    plain = json.JSONEncoder()
    if make is None:  # no C accelerator: the pure-Python encoder
        return plain.encode
    chunks = make(
        None,
        plain.default,
        json.encoder.encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    return lambda value: "".join(chunks(value, 0))


_data_text = _text_encoder()
_BINDS = (sa.bindparam("file_id", type_=sa.Integer()), sa.bindparam("now", type_=UTCDateTime()))


Row = tuple[Any, ...]  # an event's values, in `_COLUMNS` order


def event_row(event: AccountEvent, customer_id: int | None) -> Row:
    """The row of one event, as JSON values in `_COLUMNS` order."""
    amount, booked, description = event.amount, event.booking_date, event.description
    return (
        event.source,
        event.source_event_id,
        event.event_type,
        event.account_id,
        customer_id,
        None if amount is None else str(amount),
        event.currency,
        event.credit_debit,
        event.status,
        None if booked is None else booked.isoformat(),
        description[:500] or None if description else None,
        event.line,
        _data_text(event.data),
    )


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
LINE = _NAMES.index("line")  # where a row holds its event's line
_SQLITE_ROW = "(" + ", ".join("?" * (len(_COLUMNS) + 3)) + ")"
_SQLITE_HEAD = f"INSERT INTO events ({', '.join(_NAMES)}, file_id, evaluated, created_at) VALUES "


def _sqlite_sql(count: int) -> str:
    """A multi-row VALUES insert of `count` rows (SQLite binds up to 32,766 values)."""
    return _SQLITE_HEAD + ", ".join([_SQLITE_ROW] * count) + _TAIL


_SQLITE_MAX_ROWS = 32_766 // (len(_COLUMNS) + 3)


async def insert_events(
    conn: AsyncConnection, rows: Sequence[Row], *, file_id: int, now: datetime
) -> list[Any]:
    """Insert `rows` (see `event_row`); the rows inserted (source_event_id, customer_id,
    account_id), without those whose (source, source_event_id) existed already."""
    if conn.dialect.name == "postgresql":
        document = _encode([dict(zip(_NAMES, row, strict=True)) for row in rows])
        params = {"rows": document, "file_id": file_id, "now": now}
        return list((await conn.execute(_PG_INSERT, params)).all())
    # SQLite: one multi-row VALUES statement bound by the driver (in C), values as SQLAlchemy
    # writes them; the creation time through the column's own type.
    created = UTCDateTime().bind_processor(conn.dialect)
    stamp = created(now) if created is not None else now
    inserted: list[Any] = []
    tail = (file_id, 0, stamp)
    for start in range(0, len(rows), _SQLITE_MAX_ROWS):
        chunk = rows[start : start + _SQLITE_MAX_ROWS]
        values: list[Any] = []
        for row in chunk:
            values += row
            values += tail
        result = await conn.exec_driver_sql(_sqlite_sql(len(chunk)), tuple(values))
        inserted += result.all()
    return inserted
