"""Reading one page of a customer's history: one query per table, whatever the history holds.

The page's alerts are read with one query; their events, decisions, attempts, attempt events,
responses, hand-offs and the hand-offs' status moves with one ``IN (...)`` query each, grouped
by a dict in one pass. Every list is bounded by ``HistoryQuery.limit`` and counted in two
statements, so a customer with 10,000 alerts costs what one with 10 does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from alerts.customers.history.views import HistoryPages, HistoryQuery, PageInfo
from alerts.models import (
    Alert,
    AttemptEvent,
    Decision,
    DeliveryAttempt,
    Event,
    HandOff,
    PreferenceChange,
    Response,
    StatusChange,
)

T = TypeVar("T")


def row_id(row: Any) -> int:
    """The id of a stored row (read from the database, so it has one)."""
    assert row.id is not None
    return int(row.id)


def group(rows: Iterable[T], key: Callable[[T], int | None]) -> dict[int, list[T]]:
    """``rows`` by the id of what they belong to, each list in the order read (one pass)."""
    grouped: dict[int, list[T]] = defaultdict(list)
    for row in rows:
        if (k := key(row)) is not None:
            grouped[k].append(row)
    return grouped


async def read(
    session: AsyncSession, statement: SelectOfScalar[T], ids: Collection[int] = (0,)
) -> Sequence[T]:
    """The rows of ``statement``; no query at all when it would read ``IN ()``."""
    return (await session.exec(statement)).all() if ids else []


@dataclass(frozen=True)
class PageRows:
    """One page's rows: the page's alerts and events, and what belongs to them by owner id."""

    alerts: Sequence[Alert]
    alert_events: Sequence[Event]  # the events of the page's alerts
    skipped: Sequence[Event]  # the page of events without an alert
    decisions: dict[int, list[Decision]]  # by event id
    attempts: dict[int, list[DeliveryAttempt]]  # by alert id
    statuses: dict[int, list[AttemptEvent]]  # by attempt id
    responses: dict[int, list[Response]]  # by alert id
    handoffs: dict[int, list[HandOff]]  # by alert id
    moves: dict[int, list[StatusChange]]  # by hand-off id
    unmatched: Sequence[Response]
    loose_handoffs: Sequence[HandOff]
    changes: Sequence[PreferenceChange]


def _alerted_events(cid: int) -> Any:
    """The ids of the customer's events that raised an alert (a subquery)."""
    return select(Alert.event_id).where(Alert.customer_id == cid, col(Alert.event_id).is_not(None))


async def _alert_page(session: AsyncSession, cid: int, q: HistoryQuery) -> Sequence[Alert]:
    statement = select(Alert).where(Alert.customer_id == cid)
    if q.before is not None:
        statement = statement.where(col(Alert.id) < q.before)
    return await read(session, statement.order_by(col(Alert.id).desc()).limit(q.limit))


async def _skipped_page(session: AsyncSession, cid: int, q: HistoryQuery) -> Sequence[Event]:
    """The page of events that raised no alert (skipped, or not evaluated yet), newest first."""
    statement = select(Event).where(
        Event.customer_id == cid, col(Event.id).not_in(_alerted_events(cid))
    )
    if q.skips_before is not None:
        statement = statement.where(col(Event.id) < q.skips_before)
    return await read(session, statement.order_by(col(Event.id).desc()).limit(q.limit))


async def _change_page(
    session: AsyncSession, cid: int, q: HistoryQuery
) -> Sequence[PreferenceChange]:
    statement = select(PreferenceChange).where(PreferenceChange.customer_id == cid)
    if q.changes_before is not None:
        statement = statement.where(col(PreferenceChange.id) < q.changes_before)
    return await read(session, statement.order_by(col(PreferenceChange.id).desc()).limit(q.limit))


async def _without_alert(
    session: AsyncSession, cid: int, q: HistoryQuery
) -> tuple[Sequence[Response], Sequence[HandOff]]:
    """The newest answers and hand-offs of the customer that no alert holds."""
    responses = select(Response).where(
        Response.customer_id == cid, col(Response.alert_id).is_(None)
    )
    handoffs = select(HandOff).where(HandOff.customer_id == cid, col(HandOff.alert_id).is_(None))
    return (
        await read(session, responses.order_by(col(Response.id).desc()).limit(q.limit)),
        await read(session, handoffs.order_by(col(HandOff.id).desc()).limit(q.limit)),
    )


async def load_page(session: AsyncSession, cid: int, q: HistoryQuery) -> PageRows:
    """The page's rows: one query per table, whatever the number of alerts."""
    alerts = await _alert_page(session, cid, q)
    alert_ids = [row_id(a) for a in alerts]
    event_ids = {a.event_id for a in alerts if a.event_id is not None}
    events = await read(session, select(Event).where(col(Event.id).in_(event_ids)), event_ids)
    skipped = await _skipped_page(session, cid, q)
    every_event = [row_id(e) for e in [*events, *skipped]]
    decisions = await read(
        session,
        select(Decision).where(col(Decision.event_id).in_(every_event)).order_by(col(Decision.id)),
        every_event,
    )
    attempts = await read(
        session,
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.alert_id).in_(alert_ids))
        .order_by(col(DeliveryAttempt.alert_id), col(DeliveryAttempt.step_index)),
        alert_ids,
    )
    attempt_ids = [row_id(t) for t in attempts]
    statuses = await read(
        session,
        select(AttemptEvent)
        .where(col(AttemptEvent.attempt_id).in_(attempt_ids))
        .order_by(col(AttemptEvent.id)),
        attempt_ids,
    )
    responses = await read(
        session,
        select(Response).where(col(Response.alert_id).in_(alert_ids)).order_by(col(Response.id)),
        alert_ids,
    )
    handoffs = await read(
        session,
        select(HandOff).where(col(HandOff.alert_id).in_(alert_ids)).order_by(col(HandOff.id)),
        alert_ids,
    )
    unmatched, loose = await _without_alert(session, cid, q)
    return PageRows(
        alerts=alerts,
        alert_events=events,
        skipped=skipped,
        decisions=group(decisions, lambda d: d.event_id),
        attempts=group(attempts, lambda t: t.alert_id),
        statuses=group(statuses, lambda s: s.attempt_id),
        responses=group(responses, lambda r: r.alert_id),
        handoffs=group(handoffs, lambda h: h.alert_id),
        moves=await _handoff_moves(session, [row_id(h) for h in [*handoffs, *loose]]),
        unmatched=unmatched,
        loose_handoffs=loose,
        changes=await _change_page(session, cid, q),
    )


async def _handoff_moves(session: AsyncSession, ids: list[int]) -> dict[int, list[StatusChange]]:
    """The status moves of these hand-offs (alerts.lifecycle.move_handoff), oldest first."""
    moves = await read(
        session,
        select(StatusChange)
        .where(StatusChange.entity == "handoff", col(StatusChange.entity_id).in_(ids))
        .order_by(col(StatusChange.id)),
        ids,
    )
    return group(moves, lambda m: m.entity_id)


# --- counting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListCounts:
    """How many of each list there are, and how many are newer than the page's cursor."""

    alerts: int
    alerts_newer: int
    skipped: int
    skipped_newer: int
    changes: int
    changes_newer: int
    unmatched: int
    loose_handoffs: int


def _count(model: Any, *where: Any) -> Any:
    """``(SELECT count(*) FROM model WHERE ...)`` to read beside other counts."""
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def _newer(model: Any, cursor: int | None, *where: Any) -> Any:
    """How many rows are at or after ``cursor`` (on the pages before it); 0 on the first page."""
    return _count(model, *where, col(model.id) >= cursor) if cursor else literal(0)


async def count_lists(session: AsyncSession, cid: int, q: HistoryQuery) -> ListCounts:
    """Every list's size in two statements (scalar subqueries, four to a statement)."""
    mine = (Alert.customer_id == cid,)
    skipped = (Event.customer_id == cid, col(Event.id).not_in(_alerted_events(cid)))
    changes = (PreferenceChange.customer_id == cid,)
    alerts, alerts_newer, skips, skips_newer = (
        await session.exec(
            select(
                _count(Alert, *mine),
                _newer(Alert, q.before, *mine),
                _count(Event, *skipped),
                _newer(Event, q.skips_before, *skipped),
            )
        )
    ).one()
    changed, changed_newer, unmatched, loose = (
        await session.exec(
            select(
                _count(PreferenceChange, *changes),
                _newer(PreferenceChange, q.changes_before, *changes),
                _count(Response, Response.customer_id == cid, col(Response.alert_id).is_(None)),
                _count(HandOff, HandOff.customer_id == cid, col(HandOff.alert_id).is_(None)),
            )
        )
    ).one()
    return ListCounts(
        *(int(n) for n in (alerts, alerts_newer, skips, skips_newer)),
        *(int(n) for n in (changed, changed_newer, unmatched, loose)),
    )


def _page(noun: str, total: int, newer: int, rows: Sequence[Any]) -> PageInfo:
    """Where ``rows`` (newest first) sit: the next page starts below the last of them."""
    more = newer + len(rows) < total
    return PageInfo(
        noun=noun,
        total=total,
        shown=len(rows),
        newer=newer,
        older=row_id(rows[-1]) if rows and more else None,
    )


def page_infos(q: HistoryQuery, n: ListCounts, rows: PageRows) -> HistoryPages:
    return HistoryPages(
        limit=q.limit,
        alerts=_page("alerts", n.alerts, n.alerts_newer, rows.alerts),
        events_without_alert=_page(
            "events without an alert", n.skipped, n.skipped_newer, rows.skipped
        ),
        preference_changes=_page("preference changes", n.changes, n.changes_newer, rows.changes),
        unmatched_responses=PageInfo(
            noun="answers not matched to an alert",
            total=n.unmatched,
            shown=len(rows.unmatched),
            newer=0,
            older=None,
        ),
        handoffs_without_alert=PageInfo(
            noun="hand-offs not linked to an alert",
            total=n.loose_handoffs,
            shown=len(rows.loose_handoffs),
            newer=0,
            older=None,
        ),
    )
