"""The measured times the percentiles are taken of, as ``(day, alert type, key, seconds)``
selects over a run of days of the raw tables: answers (attempt start to answer), first attempts
(event to first attempt) and hand-off waits (created to taken). The rollup stores their rows;
a report takes its percentiles over the stored rows of rolled-up days and these selects for the
rest, so both give the same values."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, DeliveryAttempt, Event, HandOff, Response, StatusChange
from alerts.reports.base import DateRange
from alerts.reports.coverage import Coverage
from alerts.reports.models import RollupTiming

CHANNELS = ("voice", "sms", "email")
ANSWERED = ("claimed", "connected")  # an agent took the hand-off
# Answers that are not an answer to the alert (alerts.reports.funnel says why).
NOT_ANSWERS = ("late", "stop", "start", "help")


def day_of(dialect: str, moment: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", moment), sa.Date)
    return sa.func.date(moment)


def hour_of(dialect: str, moment: Any) -> ColumnElement[int]:
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("hour", sa.func.timezone("UTC", moment)), sa.Integer)
    return sa.cast(sa.func.strftime("%H", moment), sa.Integer)


def seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[float]:
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", later - earlier), sa.Float)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def alerts_in(span: DateRange) -> list[ColumnElement[bool]]:
    return [
        col(Alert.created_at) >= span.start,
        col(Alert.created_at) < span.end,
        sa.not_(col(Alert.trial)),
    ]


def not_trial_handoff() -> ColumnElement[bool]:
    """A hand-off of no alert, or of an alert that is not a studio trial."""
    trials = sa.select(col(Alert.id)).where(col(Alert.trial))
    return sa.or_(col(HandOff.alert_id).is_(None), col(HandOff.alert_id).not_in(trials))


def respond_seconds(dialect: str, span: DateRange) -> sa.Select[Any]:
    """(day, alert type, channel, seconds) of every answer to an alert raised in ``span``: from
    the start of the attempt it answered to the answer (the response-rates report's times)."""
    started = sa.func.coalesce(
        col(DeliveryAttempt.sending_started_at), col(DeliveryAttempt.created_at)
    )
    return (
        sa.select(
            day_of(dialect, col(Alert.created_at)).label("day"),
            col(Alert.alert_type).label("alert_type"),
            col(Response.channel).label("key"),
            seconds(dialect, col(Response.created_at), started).label("seconds"),
        )
        .select_from(
            sa.join(
                Response, DeliveryAttempt, col(Response.attempt_id) == col(DeliveryAttempt.id)
            ).join(Alert, col(Alert.id) == col(Response.alert_id))
        )
        .where(
            *alerts_in(span),
            col(Response.channel).in_(CHANNELS),
            col(Response.intent).not_in(NOT_ANSWERS),
        )
    )


def first_attempt_seconds(dialect: str, span: DateRange) -> sa.Select[Any]:
    """(day, alert type, "", seconds) from each alert's event arriving to its first attempt."""
    first = (
        sa.select(
            sa.func.min(
                sa.func.coalesce(
                    col(DeliveryAttempt.sending_started_at), col(DeliveryAttempt.created_at)
                )
            )
        )
        .where(col(DeliveryAttempt.alert_id) == col(Alert.id))
        .correlate(Alert)
        .scalar_subquery()
    )
    return (
        sa.select(
            day_of(dialect, col(Alert.created_at)).label("day"),
            col(Alert.alert_type).label("alert_type"),
            sa.literal("").label("key"),
            seconds(dialect, first, col(Event.created_at)).label("seconds"),
        )
        .select_from(sa.join(Alert, Event, col(Event.id) == col(Alert.event_id)))
        .where(*alerts_in(span))
    )


def handoffs_in(span: DateRange) -> list[ColumnElement[bool]]:
    return [
        col(HandOff.created_at) >= span.start,
        col(HandOff.created_at) < span.end,
        not_trial_handoff(),
    ]


def wait_seconds(dialect: str, span: DateRange) -> sa.Select[Any]:
    """(day, "", kind, seconds) from each hand-off's creation to an agent first taking it."""
    taken = (
        sa.select(sa.func.min(col(StatusChange.created_at)))
        .where(
            col(StatusChange.entity) == "handoff",
            col(StatusChange.entity_id) == col(HandOff.id),
            col(StatusChange.applied).is_(True),
            col(StatusChange.to_status).in_(ANSWERED),
        )
        .correlate(HandOff)
        .scalar_subquery()
    )
    return sa.select(
        day_of(dialect, col(HandOff.created_at)).label("day"),
        sa.literal("").label("alert_type"),
        col(HandOff.kind).label("key"),
        seconds(dialect, taken, col(HandOff.created_at)).label("seconds"),
    ).where(*handoffs_in(span))


TIMINGS = {
    "respond": respond_seconds,
    "first_attempt": first_attempt_seconds,
    "handoff_wait": wait_seconds,
}


TIMINGS = {
    "respond": respond_seconds,
    "first_attempt": first_attempt_seconds,
    "handoff_wait": wait_seconds,
}


def _rolled(cover: Coverage, kind: str, alert_type: str) -> Any:
    r = RollupTiming
    where = [col(r.kind) == kind, cover.rolled_days(col(r.day))]
    if alert_type:
        where.append(col(r.alert_type) == alert_type)
    return sa.select(col(r.alert_type), col(r.key), col(r.seconds)).where(*where)


def timing_parts(session: AsyncSession, cover: Coverage, kind: str, alert_type: str = "") -> Any:
    """One subquery ``(alert_type, key, seconds)`` of the rolled-up days' stored times and the
    raw days' measured ones."""
    dialect = str(session.get_bind().dialect.name)
    parts: list[sa.Select[Any]] = [_rolled(cover, kind, alert_type)] if cover.rolled else []
    for run in cover.raw:
        raw = TIMINGS[kind](dialect, run).subquery()
        where = [raw.c.alert_type == alert_type] if alert_type else []
        parts.append(sa.select(raw.c.alert_type, raw.c.key, raw.c.seconds).where(*where))
    return sa.union_all(*parts).subquery()
