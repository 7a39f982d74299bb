"""The audit log: who changed what, when, from where, with the before/after of the change.

Entries are appended in the same transaction as the change they describe (the service adds
one with ``record`` before it commits). Who made it comes from the request's origin: the
authentication dependencies (an admin session, a personal token, the shared token) and the CLI
call ``set_origin``. A change made outside a staff request -- a customer on a signed page, the
worker, seeding the catalogue -- has no origin and is not a staff change: ``record`` skips it
(the preference change log keeps the customers' own changes).

Nothing in Herald updates or deletes an entry; on PostgreSQL a trigger refuses both (0008).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Origin:
    """Who is acting in this request (or CLI run)."""

    actor: str
    role: str = ""
    via: str = ""
    ip: str | None = None


@dataclass(slots=True)
class _Scope:
    origin: Origin | None = None
    extra: dict[str, str] = field(default_factory=dict)


_scope: ContextVar[_Scope | None] = ContextVar("herald_audit_scope", default=None)


@contextmanager
def audit_scope() -> Iterator[None]:
    """A fresh, empty origin for one request: nothing leaks from one request to the next."""
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def set_origin(origin: Origin) -> None:
    scope = _scope.get()
    if scope is None:  # outside a request (the CLI, a test): a scope for this context
        scope = _Scope()
        _scope.set(scope)
    scope.origin = origin


def current_origin() -> Origin | None:
    scope = _scope.get()
    return scope.origin if scope else None


def _plain(value: object) -> JsonValue:
    """JSON-ready: datetimes as ISO text, containers walked, other scalars as text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _object(value: Mapping[str, object]) -> dict[str, JsonValue]:
    return {str(k): _plain(v) for k, v in value.items()}


def diff(
    before: Mapping[str, object] | None, after: Mapping[str, object] | None
) -> tuple[dict[str, JsonValue] | None, dict[str, JsonValue] | None]:
    """Only the top-level fields that changed, on both sides (None for a side that is absent)."""
    if before is None or after is None:
        return (_object(before) if before is not None else None), (
            _object(after) if after is not None else None
        )
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return (
        {k: _plain(before.get(k)) for k in keys if k in before},
        {k: _plain(after.get(k)) for k in keys if k in after},
    )


def record(
    session: AsyncSession,
    *,
    kind: str,
    entity_id: str | int,
    action: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    origin: Origin | None = None,
) -> AuditEntry | None:
    """Add one entry to `session` (the caller commits it with the change); None when no staff
    member or token is acting (a customer's own change, the worker) or nothing changed."""
    who = origin or current_origin()
    if who is None:
        return None
    old, new = diff(before, after)
    if before is not None and after is not None and not old and not new:
        return None  # saved as it was: nothing changed
    entry = AuditEntry(
        at=utcnow(),
        actor=who.actor[:100],
        role=who.role[:20],
        via=who.via[:120],
        ip=who.ip,
        kind=kind[:40],
        entity_id=str(entity_id)[:200],
        action=action[:40],
        before=old,
        after=new,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor: str = ""
    kind: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    limit: int = 200
    before_id: int | None = None  # the next (older) page starts below this id


async def find_entries(*, session: AsyncSession, query: AuditQuery) -> Sequence[AuditEntry]:
    """Entries matching `query`, newest first."""
    stmt = select(AuditEntry)
    if query.actor:
        stmt = stmt.where(AuditEntry.actor == query.actor.strip().lower())
    if query.kind:
        stmt = stmt.where(AuditEntry.kind == query.kind)
    if query.since is not None:
        stmt = stmt.where(col(AuditEntry.at) >= query.since)
    if query.until is not None:
        stmt = stmt.where(col(AuditEntry.at) < query.until)
    if query.before_id is not None:
        stmt = stmt.where(col(AuditEntry.id) < query.before_id)
    stmt = stmt.order_by(col(AuditEntry.id).desc()).limit(query.limit)
    return (await session.exec(stmt)).all()


async def known_values(*, session: AsyncSession) -> tuple[list[str], list[str]]:
    """The actors and the kinds that occur, for the page's filters."""
    actors = (await session.exec(select(AuditEntry.actor).distinct())).all()
    kinds = (await session.exec(select(AuditEntry.kind).distinct())).all()
    return sorted(actors), sorted(kinds)


CSV_COLUMNS = ("id", "at", "actor", "role", "via", "ip", "kind", "entity_id", "action")


def to_csv(entries: Sequence[AuditEntry]) -> str:
    """The entries as CSV, the diff as two JSON columns; cells that a spreadsheet would run as a
    formula are prefixed with a quote."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "before", "after"])

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    for e in entries:
        row = [getattr(e, name) for name in CSV_COLUMNS]
        row[1] = e.at.isoformat()
        writer.writerow(
            [cell(v) for v in row]
            + [
                cell(json.dumps(e.before, sort_keys=True) if e.before is not None else ""),
                cell(json.dumps(e.after, sort_keys=True) if e.after is not None else ""),
            ]
        )
    return out.getvalue()
