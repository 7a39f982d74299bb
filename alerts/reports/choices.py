"""Customers' choices over time: opt-outs, opt-ins, consent withdrawn and other preference
changes, per day, per alert type and by who made them (the preference-change history)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import JsonValue
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import TRIAL_CUSTOMER_REF, Customer, PreferenceChange
from alerts.reports.base import DateRange, fetch

KINDS = ("opted_out", "opted_in", "consent_withdrawn", "changed")
KIND_WORDS = {
    "opted_out": "Opted out",
    "opted_in": "Opted back in",
    "consent_withdrawn": "Consent withdrawn",
    "changed": "Other changes (channels, quiet hours, language)",
}
CONTACT = "contact:"  # a consent change on a contact point, not an alert type's preference


def kind_of(alert_type: str, before: dict[str, JsonValue], after: dict[str, JsonValue]) -> str:
    """What one change did, in the customer's terms."""
    if alert_type.startswith(CONTACT):
        if after.get("withdrawn_at") and not before.get("withdrawn_at"):
            return "consent_withdrawn"
        return "changed"
    was, now = bool(before.get("opted_out")), bool(after.get("opted_out"))
    if now and not was:
        return "opted_out"
    if was and not now:
        return "opted_in"
    return "changed"


def actor_group(actor: str) -> str:
    """``customer (preferences page)`` and ``customer (sms answer)`` are customers; the rest
    (staff usernames, ``api``, ``provider``) as they are."""
    return "customer" if actor.startswith("customer") else actor or "unknown"


@dataclass(frozen=True, slots=True)
class CustomerChoices:
    range: DateRange
    days: list[dict[str, Any]]  # {"day", opted_out, opted_in, consent_withdrawn, changed}
    alert_types: list[dict[str, Any]]
    actors: list[dict[str, Any]]

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(int(d[k]) for d in self.days) for k in KINDS}

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "totals": self.totals,
            "days": self.days,
            "alert_types": self.alert_types,
            "actors": self.actors,
        }


def _day(value: object) -> date:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.date()


async def customer_choices(*, session: AsyncSession, period: DateRange) -> CustomerChoices:
    """Every preference and consent change in ``period``, counted by what it did (the JSON
    before/after is read here, the same way on both databases)."""
    stmt = (
        sa.select(
            col(PreferenceChange.created_at),
            col(PreferenceChange.alert_type),
            col(PreferenceChange.actor),
            col(PreferenceChange.before),
            col(PreferenceChange.after),
        )
        .where(
            col(PreferenceChange.created_at) >= period.start,
            col(PreferenceChange.created_at) < period.end,
            # The studio's made-up trial customer answering a trial SMS is not a customer's choice.
            col(PreferenceChange.customer_id).not_in(
                sa.select(col(Customer.id)).where(col(Customer.external_ref) == TRIAL_CUSTOMER_REF)
            ),
        )
        .order_by(col(PreferenceChange.created_at))
    )
    by_day: dict[date, Counter[str]] = {}
    by_type: dict[str, Counter[str]] = {}
    by_actor: dict[str, Counter[str]] = {}
    for at, alert_type, actor, before, after in await fetch(session, stmt):
        kind = kind_of(str(alert_type), dict(before or {}), dict(after or {}))
        by_day.setdefault(_day(at), Counter())[kind] += 1
        key = "consent" if str(alert_type).startswith(CONTACT) else str(alert_type)
        key = "all alert types" if key == "*" else key
        by_type.setdefault(key, Counter())[kind] += 1
        by_actor.setdefault(actor_group(str(actor)), Counter())[kind] += 1
    days = []
    day = period.first
    while day <= period.last:  # every day, zeros included, so a chart has no gaps
        counts = by_day.get(day, Counter())
        days.append({"day": day.isoformat(), **{k: counts[k] for k in KINDS}})
        day += timedelta(days=1)
    return CustomerChoices(
        range=period,
        days=days,
        alert_types=[
            {"alert_type": t, **{k: c[k] for k in KINDS}} for t, c in sorted(by_type.items())
        ],
        actors=[{"who": a, **{k: c[k] for k in KINDS}} for a, c in sorted(by_actor.items())],
    )
