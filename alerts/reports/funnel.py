"""The funnel per alert type: events decided, alerts raised (and why the rest were skipped),
sent, delivered, responded, routed to the call centre, resolved; by channel, language or
customer segment.

Over 400 lines: the raw queries and the readers of the rollup for the same figures are kept
side by side (the rollup's build, alerts.reports.rollup_build, uses the same expressions), so a
change to one is seen beside the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import (
    Alert,
    Customer,
    Decision,
    DeliveryAttempt,
    HandOff,
    Response,
    StatusChange,
)
from alerts.reports.base import DateRange, ReportInputError, fetch, share
from alerts.reports.coverage import Coverage, coverage
from alerts.reports.models import RollupAlertDay, RollupDecisionDay
from alerts.reports.timings import NOT_ANSWERS

GroupBy = Literal["", "channel", "language", "segment"]
GROUPS: dict[str, str] = {
    "": "alert type only",
    "channel": "first channel tried",
    "language": "customer's language",
    "segment": "customer segment",
}
NO_TYPE = "*"  # the decisions.alert_type of an event no alert type applies to
# Answers that are not an answer to the alert: carrier keywords, and answers after the alert
# already had one.
# Answers that meet the customer's need without an agent: "it was me" (confirm), and a keypress
# that runs an automated transaction (its task completes once the bank's endpoint has done it).
SELF_SERVED_INTENTS = ("confirm", "transaction")
STEPS = ("events", "alerts", "sent", "delivered", "responded", "routed", "resolved")
STEP_WORDS = {
    "events": "Events decided",
    "alerts": "Alerts raised",
    "sent": "Sent (provider accepted)",
    "delivered": "Delivered (customer reached)",
    "responded": "Responded",
    "routed": "Routed to the call centre",
    "resolved": "Resolved",
}
# Skip reasons as the rules engine words them (rules.engine.decide), in the engine's order of
# checks; the first pattern that matches names the category.
SKIP_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("alert type disabled", ("%: the alert type is disabled",)),
    ("event type does not trigger it", ("% is not one of %",)),
    ("duplicate within the dedupe window", ("%: duplicate of the alert %",)),
    ("no channel may be used", ("%: no channel may be used%",)),
    ("customer opted out", ("%: the customer opted out of %",)),
    ("frequency cap reached", ("%: frequency cap reached%",)),
    ("call centre closed or overloaded", ("%: centre closed%", "%: centre overloaded%")),
    ("would expire before it could be sent", ("%expires before then%", "%no step can start%")),
)
STEP_SHORT = {
    "events": "Events",
    "alerts": "Alerts",
    "sent": "Sent",
    "delivered": "Delivered",
    "responded": "Responded",
    "routed": "Routed",
    "resolved": "Resolved",
}
CONDITION_NOT_MET = "condition not met"


@dataclass(frozen=True, slots=True)
class FunnelFilters:
    alert_type: str = ""
    channel: str = ""
    language: str = ""
    segment: str = ""
    group_by: str = ""

    def __post_init__(self) -> None:
        if self.group_by not in GROUPS:
            raise ReportInputError(
                f"group by “{self.group_by}” is not known: use one of "
                + ", ".join(g for g in GROUPS if g)
            )


@dataclass(slots=True)
class FunnelRow:
    alert_type: str
    group: str
    events: int | None  # None by channel: an event has no channel until an alert is sent
    skipped: int | None
    alerts: int = 0
    sent: int = 0
    delivered: int = 0
    responded: int = 0
    routed: int = 0
    resolved: int = 0
    expired: int = 0
    failed: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def count(self, step: str) -> int | None:
        value: int | None = getattr(self, step)
        return value

    @property
    def shares(self) -> dict[str, float | None]:
        """Each step as a share of the step before it (events: of nothing, so None)."""
        out: dict[str, float | None] = {}
        before: int | None = None
        for step in STEPS:
            now = self.count(step)
            out[step] = None if now is None or before is None else share(now, before)
            if now is not None:
                before = now
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "alert_type": self.alert_type,
            "group": self.group,
            **{step: self.count(step) for step in STEPS},
            "skipped": self.skipped,
            "expired": self.expired,
            "failed": self.failed,
            "share_of_previous_step": self.shares,
            "skip_reasons": self.skip_reasons,
        }


@dataclass(slots=True)
class Funnel:
    range: DateRange
    filters: FunnelFilters
    rows: list[FunnelRow]

    @property
    def total(self) -> FunnelRow:
        """Every row added up (events stay None when the rows have none)."""
        has_events = any(r.events is not None for r in self.rows) or not self.rows
        total = FunnelRow(
            "all", "", events=0 if has_events else None, skipped=0 if has_events else None
        )
        for row in self.rows:
            for name in ("alerts", "sent", "delivered", "responded", "routed", "resolved"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.expired += row.expired
            total.failed += row.failed
            if total.events is not None and row.events is not None and row.skipped is not None:
                total.events += row.events
                total.skipped = (total.skipped or 0) + row.skipped
            for reason, n in row.skip_reasons.items():
                total.skip_reasons[reason] = total.skip_reasons.get(reason, 0) + n
        return total

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "filters": {
                "alert_type": self.filters.alert_type,
                "channel": self.filters.channel,
                "language": self.filters.language,
                "segment": self.filters.segment,
                "group_by": self.filters.group_by,
            },
            "steps": list(STEPS),
            "rows": [r.as_json() for r in self.rows],
            "total": self.total.as_json(),
        }


def skip_category() -> ColumnElement[str]:
    reason = col(Decision.reason)
    whens = [
        (sa.or_(*(reason.like(p) for p in patterns)), sa.literal(name))
        for name, patterns in SKIP_CATEGORIES
    ]
    return sa.case(*whens, else_=sa.literal(CONDITION_NOT_MET))


def first_channel() -> Any:
    """The channel of an alert's first attempt (None before any attempt)."""
    return (
        sa.select(col(DeliveryAttempt.channel))
        .where(col(DeliveryAttempt.alert_id) == col(Alert.id))
        .order_by(col(DeliveryAttempt.step_index))
        .limit(1)
        .correlate(Alert)
        .scalar_subquery()
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def alert_flags() -> dict[str, ColumnElement[int]]:
    """Per alert, 1 or 0 for each step it reached (correlated EXISTS over indexed alert ids)."""
    answered = sa.exists().where(
        col(Response.alert_id) == col(Alert.id), col(Response.intent).not_in(NOT_ANSWERS)
    )
    reached = sa.exists().where(
        col(StatusChange.entity) == "alert",
        col(StatusChange.entity_id) == col(Alert.id),
        col(StatusChange.event) == "reach",
        col(StatusChange.applied).is_(True),
    )
    sent = sa.exists().where(
        col(DeliveryAttempt.alert_id) == col(Alert.id),
        col(DeliveryAttempt.provider_sid).isnot(None),
    )
    # A transaction the bank's endpoint completed is self-service, not work for an agent.
    automated = sa.and_(col(Response.intent) == "transaction", col(HandOff.status) == "completed")
    routed = sa.exists().where(
        col(HandOff.alert_id) == col(Alert.id),
        col(Response.id) == col(HandOff.response_id),
        sa.not_(automated),
    )
    completed = sa.exists().where(
        col(HandOff.alert_id) == col(Alert.id), col(HandOff.status) == "completed"
    )
    confirmed = sa.exists().where(
        col(Response.alert_id) == col(Alert.id), col(Response.intent) == "confirm"
    )
    return {
        "sent": _flag(sent),
        "delivered": _flag(sa.or_(reached, answered)),
        "responded": _flag(answered),
        "routed": _flag(routed),
        "resolved": _flag(sa.or_(completed, confirmed)),
        "expired": _flag(col(Alert.status) == "expired"),
        "failed": _flag(col(Alert.status) == "failed"),
    }


def _customer_filters(
    filters: FunnelFilters, locale: Any = None, segment: Any = None
) -> list[ColumnElement[bool]]:
    locale = col(Customer.locale) if locale is None else locale
    segment = col(Customer.segment) if segment is None else segment
    where: list[ColumnElement[bool]] = []
    if filters.language:
        where.append(locale == filters.language)
    if filters.segment:
        where.append(segment == filters.segment)
    return where


def _group_of(filters: FunnelFilters, channel: Any, locale: Any = None, segment: Any = None) -> Any:
    locale = col(Customer.locale) if locale is None else locale
    segment = col(Customer.segment) if segment is None else segment
    if filters.group_by == "channel":
        return sa.func.coalesce(channel, "not sent")
    if filters.group_by == "language":
        return sa.func.coalesce(locale, "unknown")
    if filters.group_by == "segment":
        return sa.func.coalesce(sa.func.nullif(segment, ""), "no segment")
    return sa.literal("")


Steps = dict[tuple[str, str], dict[str, int]]
Decided = dict[tuple[str, str], tuple[int, dict[str, int]]]


async def _rolled_steps(session: AsyncSession, cover: Coverage, filters: FunnelFilters) -> Steps:
    r = RollupAlertDay
    where = [
        cover.rolled_days(col(r.day)),
        *_customer_filters(filters, col(r.language), col(r.segment)),
    ]
    if filters.alert_type:
        where.append(col(r.alert_type) == filters.alert_type)
    if filters.channel:
        where.append(col(r.channel) == filters.channel)
    group = _group_of(filters, col(r.channel), col(r.language), col(r.segment)).label("grp")
    names = ["alerts", *alert_flags()]
    stmt = (
        sa.select(col(r.alert_type), group, *(sa.func.sum(getattr(r, n)) for n in names))
        .where(*where)
        .group_by(col(r.alert_type), sa.text("grp"))
    )
    out: Steps = {}
    for row in await fetch(session, stmt):
        out[(str(row[0]), str(row[1] or ""))] = {
            n: int(v or 0) for n, v in zip(names, row[2:], strict=True)
        }
    return out


async def _rolled_decided(
    session: AsyncSession, cover: Coverage, filters: FunnelFilters
) -> Decided:
    r = RollupDecisionDay
    where = [
        cover.rolled_days(col(r.day)),
        *_customer_filters(filters, col(r.language), col(r.segment)),
    ]
    if filters.alert_type:
        where.append(col(r.alert_type) == filters.alert_type)
    group = _group_of(filters, None, col(r.language), col(r.segment)).label("grp")
    stmt = (
        sa.select(col(r.alert_type), group, col(r.why), sa.func.sum(col(r.decisions)))
        .where(*where)
        .group_by(col(r.alert_type), sa.text("grp"), col(r.why))
    )
    return _decided_rows(await fetch(session, stmt))


def _add_steps(into: Steps, more: Steps) -> None:
    for key, counts in more.items():
        have = into.setdefault(key, {})
        for name, n in counts.items():
            have[name] = have.get(name, 0) + n


def _add_decided(into: Decided, more: Decided) -> None:
    for key, (events, reasons) in more.items():
        have_events, have = into.get(key, (0, {}))
        for reason, n in reasons.items():
            have[reason] = have.get(reason, 0) + n
        into[key] = (have_events + events, have)


async def _alert_steps(
    session: AsyncSession, period: DateRange, filters: FunnelFilters
) -> dict[tuple[str, str], dict[str, int]]:
    channel = first_channel()
    flags = alert_flags()
    where: list[ColumnElement[bool]] = [
        col(Alert.created_at) >= period.start,
        col(Alert.created_at) < period.end,
        sa.not_(col(Alert.trial)),
        *_customer_filters(filters),
    ]
    if filters.alert_type:
        where.append(col(Alert.alert_type) == filters.alert_type)
    if filters.channel:
        where.append(channel == filters.channel)
    per_alert = (
        sa.select(
            col(Alert.alert_type).label("alert_type"),
            _group_of(filters, channel).label("grp"),
            *(flag.label(name) for name, flag in flags.items()),
        )
        .select_from(Alert)
        .join(Customer, col(Customer.id) == col(Alert.customer_id))
        .where(*where)
        .subquery()
    )
    stmt = sa.select(
        per_alert.c.alert_type,
        per_alert.c.grp,
        sa.func.count(),
        *(sa.func.sum(per_alert.c[name]) for name in flags),
    ).group_by(per_alert.c.alert_type, per_alert.c.grp)
    out: dict[tuple[str, str], dict[str, int]] = {}
    for row in await fetch(session, stmt):
        counts = {"alerts": int(row[2])}
        counts.update({name: int(v or 0) for name, v in zip(flags, row[3:], strict=True)})
        out[(str(row[0]), str(row[1] or ""))] = counts
    return out


async def _decided(
    session: AsyncSession, period: DateRange, filters: FunnelFilters
) -> dict[tuple[str, str], tuple[int, dict[str, int]]]:
    """(events, {skip category: count}) per alert type and group (no channel grouping)."""
    category = skip_category()
    group = _group_of(filters, None)
    where: list[ColumnElement[bool]] = [
        col(Decision.created_at) >= period.start,
        col(Decision.created_at) < period.end,
        col(Decision.alert_type) != NO_TYPE,
        *_customer_filters(filters),
    ]
    if filters.alert_type:
        where.append(col(Decision.alert_type) == filters.alert_type)
    outcome_or_reason = sa.case(
        (col(Decision.outcome) == "alert", sa.literal("")), else_=category
    ).label("why")
    stmt = (
        sa.select(col(Decision.alert_type), group.label("grp"), outcome_or_reason, sa.func.count())
        .select_from(Decision)
        .outerjoin(Customer, col(Customer.id) == col(Decision.customer_id))
        .where(*where)
        .group_by(col(Decision.alert_type), sa.text("grp"), sa.text("why"))
    )
    return _decided_rows(await fetch(session, stmt))


def _decided_rows(rows: list[tuple[Any, ...]]) -> Decided:
    out: Decided = {}
    for alert_type, grp, why, n in rows:
        key = (str(alert_type), str(grp or ""))
        events, reasons = out.get(key, (0, {}))
        if why:
            reasons[str(why)] = reasons.get(str(why), 0) + int(n)
        out[key] = (events + int(n), reasons)
    return out


async def funnel(
    *,
    session: AsyncSession,
    period: DateRange,
    filters: FunnelFilters,
    today: date | None = None,
    rollup: bool = True,
) -> Funnel:
    """The funnel of every alert type (or the one filtered) over ``period`` (by the time each
    event was decided and each alert raised): whole days from the rollup, the rest raw."""
    by_channel = filters.group_by == "channel" or bool(filters.channel)
    cover = await coverage(session, period, today=today, rollup=rollup)
    steps = await _rolled_steps(session, cover, filters) if cover.rolled else {}
    decided = (
        {} if by_channel or not cover.rolled else await _rolled_decided(session, cover, filters)
    )
    for part in cover.raw:
        _add_steps(steps, await _alert_steps(session, part, filters))
        if not by_channel:
            _add_decided(decided, await _decided(session, part, filters))
    rows = []
    for key in sorted(set(steps) | set(decided)):
        alert_type, group = key
        events, reasons = decided.get(key, (0, {}))
        row = FunnelRow(
            alert_type,
            group,
            events=None if by_channel else events,
            skipped=None if by_channel else sum(reasons.values()),
            skip_reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
        for name, value in steps.get(key, {}).items():
            setattr(row, name, value)
        rows.append(row)
    return Funnel(range=period, filters=filters, rows=rows)
