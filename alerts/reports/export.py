"""Every report by name, from the filters a person or a script sent, as JSON and each of its
tables as CSV; the CSV rows are read from the same JSON, so their numbers are the same."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.reports.base import DateRange, ReportInputError, date_range
from alerts.reports.calls import calls_avoided, cost_per_call
from alerts.reports.choices import customer_choices
from alerts.reports.delivery import delivery_health
from alerts.reports.funnel import STEPS, FunnelFilters, funnel
from alerts.reports.handoffs import SERVICE_LEVEL_TARGET, TARGET_ANSWER_SECONDS, handoff_report
from alerts.reports.responses import response_rates
from alerts.reports.rollup import READ_BUDGET_DAYS, refresh_rollups

logger = logging.getLogger(__name__)
REPORTS = {
    "funnel": "Funnel per alert type",
    "response-rates": "Response rates per channel",
    "delivery": "Delivery health",
    "calls-avoided": "Calls avoided",
    "choices": "Customers' choices",
    "handoffs": "Hand-offs and service level",
}
# Agents needed for a service level (arrival rate per s, handle time s, target s, level): the
# call centre's Erlang C, handed in by the composition root (alerts does not import callcentre).
Staffing = Callable[[float, float, float, float], int | None]


class ReportQuery(BaseModel):
    """The filters every report reads (each report uses the ones it has); all optional."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    since: str = Field(
        "", max_length=10, description="first day, YYYY-MM-DD (default: 30 days ago)"
    )
    until: str = Field("", max_length=10, description="last day, YYYY-MM-DD (default: today, UTC)")
    alert_type: str = Field("", max_length=64, description="one alert type's key")
    channel: str = Field("", max_length=10, description="funnel: voice, sms or email (first tried)")
    language: str = Field("", max_length=20, description="funnel: the customer's language")
    segment: str = Field("", max_length=40, description="funnel: the customer segment")
    group_by: str = Field("", max_length=10, description="funnel: channel, language or segment")
    cost_per_call: str = Field("", max_length=12, description="calls avoided: e.g. 4.50")

    def period(self, today: date) -> DateRange:
        return date_range(self.since, self.until, today=today)


async def build(
    *,
    session: AsyncSession,
    name: str,
    query: ReportQuery,
    today: date,
    staffing: Staffing | None = None,
) -> dict[str, Any]:
    """The report ``name`` as JSON; ``ReportInputError`` for a filter it cannot use. The
    rollups are brought up to date first (a few days at most: see ``refresh_on_read``)."""
    period = query.period(today)
    await refresh_on_read(session, today)
    if name == "funnel":
        filters = FunnelFilters(
            alert_type=query.alert_type,
            channel=query.channel,
            language=query.language,
            segment=query.segment,
            group_by=query.group_by,
        )
        return (
            await funnel(session=session, period=period, filters=filters, today=today)
        ).as_json()
    if name == "response-rates":
        rates = await response_rates(
            session=session, period=period, alert_type=query.alert_type, today=today
        )
        return rates.as_json()
    if name == "delivery":
        health = await delivery_health(
            session=session, period=period, alert_type=query.alert_type, today=today
        )
        return health.as_json()
    if name == "calls-avoided":
        try:
            cost = cost_per_call(query.cost_per_call)
        except ValueError as exc:
            raise ReportInputError(str(exc)) from None
        calls = await calls_avoided(session=session, period=period, cost=cost, today=today)
        return calls.as_json()
    if name == "choices":
        return (await customer_choices(session=session, period=period)).as_json()
    if name == "handoffs":
        report = (await handoff_report(session=session, period=period, today=today)).as_json()
        for queue in report["queues"]:
            queue["agents_needed_in_busiest_hour"] = _agents(queue, staffing)
        return report
    raise KeyError(name)


async def refresh_on_read(session: AsyncSession, today: date) -> None:
    """Roll up what changed since the last refresh (at most ``READ_BUDGET_DAYS`` days rebuilt;
    the rest are read raw). A refresh that fails leaves the rollup as it was: the report is
    still exact, from the raw tables for the days not rolled up."""
    try:
        await refresh_rollups(session=session, today=today, budget_days=READ_BUDGET_DAYS)
    except SQLAlchemyError:
        logger.exception("report rollups: the refresh before a report failed")
        await session.rollback()


def _agents(queue: dict[str, Any], staffing: Staffing | None) -> int | None:
    """Erlang C agents for the busiest hour's live calls, at the measured handle time."""
    handle = queue["mean_handle_seconds"]
    if staffing is None or queue["queue"] not in LIVE_QUEUES or not handle:
        return None
    rate = queue["busiest_hour_handoffs"] / 3600
    return staffing(rate, float(handle), TARGET_ANSWER_SECONDS, SERVICE_LEVEL_TARGET)


LIVE_QUEUES = ("live_transfer", "call_now")  # an agent must answer while the customer waits
Rows = list[dict[str, Any]]


def _funnel_steps(data: dict[str, Any]) -> Rows:
    out = []
    for row in [*data["rows"], data["total"]]:
        flat = {k: row[k] for k in ("alert_type", "group", *STEPS, "skipped", "expired", "failed")}
        flat.update({f"share_{k}": v for k, v in row["share_of_previous_step"].items()})
        out.append(flat)
    return out


def _funnel_skips(data: dict[str, Any]) -> Rows:
    return [
        {"alert_type": row["alert_type"], "group": row["group"], "reason": reason, "events": n}
        for row in data["rows"]
        for reason, n in row["skip_reasons"].items()
    ]


def _calls(data: dict[str, Any]) -> Rows:
    out = []
    for row in data["alert_types"]:
        flat = {k: v for k, v in row.items() if not isinstance(v, dict | list)}
        for side in ("before", "after"):
            flat.update({f"{side}_{k}": v for k, v in row[side].items()})
        for key in ("calls_avoided_95", "saving_95"):
            low, high = row[key] or (None, None)
            flat[f"{key}_low"], flat[f"{key}_high"] = low, high
        out.append(flat)
    return out


TABLES: dict[str, dict[str, Callable[[dict[str, Any]], Rows]]] = {
    "funnel": {"steps": _funnel_steps, "skip_reasons": _funnel_skips},
    "response-rates": {
        "channels": lambda d: list(d["channels"]),
        "alert_types": lambda d: list(d["rows"]),
    },
    "delivery": {
        "outcomes": lambda d: list(d["outcomes"]),
        "failures": lambda d: list(d["failures"]),
        "time_to_first_attempt": lambda d: list(d["seconds_from_event_to_first_attempt"]),
        "alerts": lambda d: list(d["alerts"]),
    },
    "calls-avoided": {"alert_types": _calls},
    "choices": {
        "by_day": lambda d: list(d["days"]),
        "by_alert_type": lambda d: list(d["alert_types"]),
        "by_actor": lambda d: list(d["actors"]),
    },
    "handoffs": {"queues": lambda d: list(d["queues"])},
}


def table_names(name: str) -> list[str]:
    return list(TABLES[name])


def to_csv(name: str, table: str, data: dict[str, Any]) -> str:
    """One table of a report as CSV (header first; an empty value for "not shown")."""
    try:
        rows = TABLES[name][table](data)
    except KeyError:
        raise ReportInputError(
            f"the {name} report has no table “{table}”: use one of "
            + ", ".join(TABLES.get(name, {}))
        ) from None
    out = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Numbers as they are; text a spreadsheet would run as a formula (a provider's error, a
    segment name) behind a quote, as the audit log's CSV does."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
