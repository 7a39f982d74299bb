"""Portable column types: exact decimals, aware UTC datetimes and typed JSON, on SQLite and
PostgreSQL; and the bulk insert of many rows as one JSON document on PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, JsonValue, TypeAdapter
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """Money stored as its exact decimal text (SQLite has no decimal type; floats would round)."""

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes, refuses naive ones."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"naive or non-datetime value {value!r}: use timezone-aware UTC")
        moment: datetime = value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


class ModelList(sa.types.TypeDecorator[list[Any]]):
    """A JSON list of pydantic models: validated when written (dicts or models) and read back as
    models, so a malformed plan or option list fails where it is written, not where it is used."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__()
        self.model = model
        self._adapter: TypeAdapter[list[Any]] = TypeAdapter(list[model])  # type: ignore[valid-type]

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[Any] | None:
        if value is None:
            return None
        items = self._adapter.validate_python(value)
        return list(self._adapter.dump_python(items, mode="json", by_alias=True))

    def process_result_value(self, value: Any, dialect: Dialect) -> list[Any] | None:
        return None if value is None else self._adapter.validate_python(value)


class ModelJSON(sa.types.TypeDecorator[BaseModel]):
    """A JSON object that is one pydantic model: validated when written (a dict or the model)
    and read back as the model; ``ModelList``'s single-value sibling."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__()
        self.model = model

    def process_bind_param(self, value: Any, dialect: Dialect) -> dict[str, JsonValue] | None:
        if value is None:
            return None
        return self.model.model_validate(value).model_dump(mode="json", by_alias=True)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseModel | None:
        return None if value is None else self.model.model_validate(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


# PostgreSQL: a batch is inserted as one JSON document (INSERT ... SELECT FROM json_to_recordset),
# so the statement has one parameter, encoded by orjson in one call (~5x the json module's C
# encoder on these rows; the same text: UTF-8, no spaces, datetimes through ``_instant``). A
# multi-row VALUES statement with ten thousand placeholders cost psycopg more to convert than the
# server took to run it, and so did one array per column (psycopg quotes each element in Python).
# The decisions' bulk inserts (alerts.decisions) and the customer import (alerts.customers) use it.
_PG: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


_ISO: dict[datetime, str] = {}  # utc_iso's answers: a batch writes a few dozen distinct instants


def utc_iso(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC (``astimezone(UTC).isoformat()``), remembered: the
    text depends only on the instant, and equal aware datetimes are the same instant. A batch of
    decisions writes a few hundred thousand times (steps, deadlines, created_at), nearly all
    equal to a few dozen, and ``isoformat`` was the largest single cost of writing them."""
    text = _ISO.get(value)
    if text is None:
        if len(_ISO) >= 8192:
            _ISO.clear()
        text = _ISO[value] = value.astimezone(UTC).isoformat()
    return text


def _instant(value: object) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return utc_iso(value)
    raise TypeError(f"{value!r} is not JSON (a row value must be JSON or an aware datetime)")


_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _encode(rows: object) -> str:
    return orjson.dumps(rows, default=_instant, option=_OPTIONS).decode()


def json_text(value: object) -> str:
    """``value`` as the JSON text the bulk writes store (orjson; aware datetimes as
    ``utc_iso``): what a JSON column of a COPY row takes."""
    return orjson.dumps(value, default=_instant, option=_OPTIONS).decode()


def recordset_insert(
    table: sa.Table, rows: Sequence[Mapping[str, Any]], *, returning: str, on_conflict: str = ""
) -> tuple[sa.TextClause, dict[str, str]]:
    """A PostgreSQL ``INSERT INTO table ... SELECT FROM json_to_recordset(:rows)`` of ``rows``
    (each with the same keys, named as ``table``'s columns, whose types the record takes) and its
    one parameter, every row in one JSON array. ``on_conflict``: what follows ``ON CONFLICT``,
    e.g. ``"(dedupe_key) DO NOTHING"``."""
    names = list(rows[0])
    columns = ", ".join(names)
    record = ", ".join(f"{n} {table.c[n].type.compile(dialect=_PG)}" for n in names)
    conflict = f" ON CONFLICT {on_conflict}" if on_conflict else ""
    sql = (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns}"
        f" FROM json_to_recordset(CAST(:rows AS json)) AS r({record})"
        f"{conflict} RETURNING {returning}"
    )
    return sa.text(sql), {"rows": _encode(rows)}


def among(dialect: str, column: Any, values: Sequence[Any] | set[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter, not one per value."""
    if dialect != "postgresql":
        return column.in_(values)
    item = sa.Integer() if isinstance(column.type, sa.Integer) else sa.String()
    return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(item)))
