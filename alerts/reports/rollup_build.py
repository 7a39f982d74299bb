"""The statements that build the daily rollups of a run of whole UTC days from the raw tables:
each an ``INSERT ... SELECT`` with the same expressions the raw reports use (``alert_flags``,
``first_channel``, the skip categories, ...), so a rolled-up day sums to exactly the figures
the raw query gives for it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from alerts.models import Alert, Customer, Decision, DeliveryAttempt, HandOff, StatusChange
from alerts.reports.base import DateRange
from alerts.reports.delivery import error_of, retry_flags
from alerts.reports.funnel import NO_TYPE, alert_flags, first_channel, skip_category
from alerts.reports.models import (
    RollupAlertDay,
    RollupAttemptDay,
    RollupDecisionDay,
    RollupHandOffHour,
    RollupTiming,
)
from alerts.reports.responses import answered_on, reached_on
from alerts.reports.timings import (
    CHANNELS,
    TIMINGS,
    alerts_in,
    day_of,
    handoffs_in,
    hour_of,
    seconds,
)

ROLLUP_TABLES = (
    RollupAlertDay,
    RollupDecisionDay,
    RollupAttemptDay,
    RollupTiming,
    RollupHandOffHour,
)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def alert_days(dialect: str, span: DateRange) -> sa.Insert:
    flags = alert_flags()
    per_channel: dict[str, ColumnElement[int]] = {}
    for channel in CHANNELS:
        reached = reached_on(channel)
        per_channel[f"reached_{channel}"] = _flag(reached)
        per_channel[f"answered_{channel}"] = _flag(sa.and_(reached, answered_on(channel)))
    per_alert = (
        sa.select(
            day_of(dialect, col(Alert.created_at)).label("day"),
            col(Alert.alert_type).label("alert_type"),
            first_channel().label("channel"),
            col(Customer.locale).label("language"),
            col(Customer.segment).label("segment"),
            col(Alert.provider_retries).label("provider_retries"),
            *(flag.label(name) for name, flag in flags.items()),
            *(flag.label(name) for name, flag in per_channel.items()),
        )
        .select_from(Alert)
        .join(Customer, col(Customer.id) == col(Alert.customer_id))
        .where(*alerts_in(span))
        .subquery()
    )
    p = per_alert.c
    keys = [p.day, p.alert_type, p.channel, p.language, p.segment]
    sums = {name: sa.func.sum(p[name]) for name in (*flags, "provider_retries", *per_channel)}
    sums["self_served"] = sa.func.sum(sa.case(((p.resolved == 1) & (p.routed == 0), 1), else_=0))
    names = ["day", "alert_type", "channel", "language", "segment", "alerts", *sums]
    select = sa.select(*keys, sa.func.count(), *sums.values()).group_by(*keys)
    return sa.insert(RollupAlertDay).from_select(names, select)


def decision_days(dialect: str, span: DateRange) -> sa.Insert:
    why = sa.case((col(Decision.outcome) == "alert", sa.literal("")), else_=skip_category())
    keys = [
        day_of(dialect, col(Decision.created_at)),
        col(Decision.alert_type),
        col(Customer.locale),
        col(Customer.segment),
        why,
    ]
    select = (
        sa.select(*keys, sa.func.count())
        .select_from(Decision)
        .outerjoin(Customer, col(Customer.id) == col(Decision.customer_id))
        .where(
            col(Decision.created_at) >= span.start,
            col(Decision.created_at) < span.end,
            col(Decision.alert_type) != NO_TYPE,
        )
        .group_by(*keys)
    )
    names = ["day", "alert_type", "language", "segment", "why", "decisions"]
    return sa.insert(RollupDecisionDay).from_select(names, select)


def attempt_days(dialect: str, span: DateRange) -> sa.Insert:
    retry, fallback = retry_flags()
    error = error_of()
    keys = [
        day_of(dialect, col(DeliveryAttempt.created_at)),
        col(Alert.alert_type),
        col(DeliveryAttempt.channel),
        col(DeliveryAttempt.status),
        error,
    ]
    select = (
        sa.select(*keys, sa.func.count(), sa.func.sum(retry), sa.func.sum(fallback))
        .select_from(
            sa.join(DeliveryAttempt, Alert, col(Alert.id) == col(DeliveryAttempt.alert_id))
        )
        .where(
            col(DeliveryAttempt.created_at) >= span.start,
            col(DeliveryAttempt.created_at) < span.end,
            sa.not_(col(Alert.trial)),
        )
        .group_by(*keys)
    )
    names = ["day", "alert_type", "channel", "status", "error", "attempts", "retries", "fallbacks"]
    return sa.insert(RollupAttemptDay).from_select(names, select)


def timings(dialect: str, span: DateRange, kind: str) -> sa.Insert:
    inner = TIMINGS[kind](dialect, span).subquery()
    select = sa.select(
        sa.literal(kind), inner.c.day, inner.c.alert_type, inner.c.key, inner.c.seconds
    ).where(inner.c.seconds.isnot(None))
    names = ["kind", "day", "alert_type", "key", "seconds"]
    return sa.insert(RollupTiming).from_select(names, select)


def handoff_hours(dialect: str, span: DateRange) -> list[sa.Insert]:
    """Two statements: the hand-offs per hour, kind and status; and their handle times (the
    raw report's join of the connected and completed moves, summed and counted)."""
    keys = [
        day_of(dialect, col(HandOff.created_at)),
        hour_of(dialect, col(HandOff.created_at)),
        col(HandOff.kind),
        col(HandOff.status),
    ]
    counts = sa.select(*keys, sa.func.count()).where(*handoffs_in(span)).group_by(*keys)
    done, connected = aliased(StatusChange), aliased(StatusChange)
    handle = seconds(dialect, col(done.created_at), col(connected.created_at))
    handles = (
        sa.select(*keys, sa.func.count(handle), sa.func.coalesce(sa.func.sum(handle), 0.0))
        .select_from(HandOff)
        .join(connected, _moved_to(connected, "connected"))
        .join(done, _moved_to(done, "completed"))
        .where(*handoffs_in(span))
        .group_by(*keys)
    )
    base = ["day", "hour", "kind", "status"]
    return [
        sa.insert(RollupHandOffHour).from_select([*base, "handoffs"], counts),
        sa.insert(RollupHandOffHour).from_select(
            [*base, "handle_count", "handle_seconds"], handles
        ),
    ]


def _moved_to(alias: Any, status: str) -> ColumnElement[bool]:
    return sa.and_(
        col(alias.entity) == "handoff",
        col(alias.entity_id) == col(HandOff.id),
        col(alias.to_status) == status,
        col(alias.applied).is_(True),
    )


def statements(dialect: str, span: DateRange) -> list[sa.Insert]:
    """Everything that builds the rollups of the days of ``span`` (already emptied)."""
    return [
        alert_days(dialect, span),
        decision_days(dialect, span),
        attempt_days(dialect, span),
        *(timings(dialect, span, kind) for kind in TIMINGS),
        *handoff_hours(dialect, span),
    ]
