"""PostgreSQL: a batch's decisions and alerts written by COPY, their ids taken beforehand.

``INSERT ... SELECT FROM json_to_recordset(:rows)`` (``alerts.columns.recordset_insert``) made
PostgreSQL parse the whole batch as one JSON document, materialised past ``work_mem`` into
temporary files, before inserting a row: about a third of the server's work on the two
inserts (EXPLAIN ANALYZE in benchmarks.evaluate: 35-40 ms of a 100 ms insert of 2,600 rows).
COPY streams rows that the server only splits, and the driver formats them in C.

COPY returns nothing and has no ``ON CONFLICT``, so:

- the ids are drawn first from the table's sequence, for the whole batch in one statement
  (``nextval`` over ``generate_series``); the caller knows every decision's and alert's id
  before writing, so the alerts can name their decisions and the first steps their alerts;
- the alerts are copied inside a savepoint; when one of their dedupe keys was raised meanwhile
  by another evaluator (a unique violation; rare: ``_drop_raised_meanwhile`` has just looked),
  the savepoint is rolled back and the caller falls back to the insert that skips those.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.columns import json_text, utc_iso

_JSON = {"detail", "plan", "options", "windows", "context"}  # written as their JSON text
_INSTANTS = {"created_at", "updated_at", "expires_at", "next_step_at"}  # aware datetimes


async def take_ids(conn: AsyncConnection, table: str, count: int) -> list[int]:
    """``count`` fresh ids of ``table``'s ``id`` column, from its sequence, in one statement."""
    if count == 0:
        return []
    driver = await _driver(conn)
    async with driver.cursor() as cur:
        await cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (table, count),
        )
        return [int(row[0]) for row in await cur.fetchall()]


async def copy_rows(
    conn: AsyncConnection, table: str, ids: Sequence[int], rows: Sequence[Mapping[str, Any]]
) -> None:
    """COPY ``rows`` (same keys, named as ``table``'s columns) into ``table`` with ``ids``."""
    if not rows:
        return
    names = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, ["id", *names]))
    )
    values_of = operator.itemgetter(*names)
    as_json = [at + 1 for at, name in enumerate(names) if name in _JSON]  # after the id
    as_instant = [at + 1 for at, name in enumerate(names) if name in _INSTANTS]
    driver = await _driver(conn)
    async with driver.cursor() as cur, cur.copy(statement) as copy:
        for id_, row in zip(ids, rows, strict=True):
            values = [id_, *values_of(row)]
            for at in as_json:
                values[at] = json_text(values[at])
            for at in as_instant:  # as text: psycopg's datetime dumper cost 3x a text's
                if values[at] is not None:
                    values[at] = utc_iso(values[at])
            await copy.write_row(values)


async def copy_alerts(
    conn: AsyncConnection, ids: Sequence[int], rows: Sequence[Mapping[str, Any]]
) -> bool:
    """COPY the alerts; False (nothing written) when a dedupe key already exists."""
    driver = await _driver(conn)
    async with driver.cursor() as cur:
        await cur.execute("SAVEPOINT herald_copy_alerts")
        try:
            await copy_rows(conn, "alerts", ids, rows)
        except psycopg.errors.UniqueViolation:
            await cur.execute("ROLLBACK TO SAVEPOINT herald_copy_alerts")
            return False
        await cur.execute("RELEASE SAVEPOINT herald_copy_alerts")
    return True


async def _driver(conn: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under ``conn`` (its transaction: the session's)."""
    raw = await conn.get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver
