"""Customers' choices counted by hand from the preference-change history, on both databases."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import JsonValue

from alerts.models import TRIAL_CUSTOMER_REF, PreferenceChange
from alerts.reports.base import DateRange
from alerts.reports.choices import customer_choices
from herald.runtime import Runtime
from tests.service.alerts.reports.seed import Seeder, day


async def test_opt_outs_opt_ins_and_consent_per_day_type_and_actor(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        c = await Seeder(session).customer("P")
        assert c.id is not None
        changes: list[tuple[datetime, str, str, dict[str, JsonValue], dict[str, JsonValue]]] = [
            (day(2), "large_debit", "customer (preferences page)", {}, {"opted_out": True}),
            (day(2), "large_debit", "customer (voice answer)", {}, {"opted_out": True}),
            (day(3), "large_debit", "ops", {"opted_out": True}, {"opted_out": False}),
            (day(3), "*", "api", {}, {"language": "nl"}),
            (
                day(4),
                "contact:7",
                "customer (sms STOP)",
                {"withdrawn_at": None},
                {"withdrawn_at": "2026-11-04T10:00:00+00:00"},
            ),
            (day(4, month=10), "large_debit", "api", {}, {"opted_out": True}),  # before the range
        ]
        for at, alert_type, actor, before, after in changes:
            session.add(
                PreferenceChange(
                    customer_id=c.id,
                    alert_type=alert_type,
                    actor=actor,
                    before=before,
                    after=after,
                    created_at=at,
                )
            )
        await session.commit()
        result = await customer_choices(
            session=session, period=DateRange(date(2026, 11, 1), date(2026, 11, 7))
        )
    assert result.totals == {"opted_out": 2, "opted_in": 1, "consent_withdrawn": 1, "changed": 1}
    days = {d["day"]: d for d in result.days}
    assert len(days) == 7 and days["2026-11-01"]["opted_out"] == 0
    assert days["2026-11-02"]["opted_out"] == 2 and days["2026-11-03"]["opted_in"] == 1
    types = {t["alert_type"]: t for t in result.alert_types}
    assert types["large_debit"]["opted_out"] == 2 and types["large_debit"]["opted_in"] == 1
    assert types["consent"]["consent_withdrawn"] == 1
    assert types["all alert types"]["changed"] == 1
    actors = {a["who"]: a for a in result.actors}
    assert actors["customer"]["opted_out"] == 2 and actors["customer"]["consent_withdrawn"] == 1
    assert actors["ops"]["opted_in"] == 1 and actors["api"]["changed"] == 1


async def test_the_studio_trial_customers_answers_are_not_customers_choices(
    runtime: Runtime,
) -> None:
    async with runtime.deps.sessions() as session:
        real, trial = (
            await Seeder(session).customer("P"),
            await Seeder(session).customer(TRIAL_CUSTOMER_REF),
        )
        for c in (real, trial):
            assert c.id is not None
            session.add(
                PreferenceChange(
                    customer_id=c.id,
                    alert_type="large_debit",
                    actor="customer (sms STOP)",
                    before={},
                    after={"opted_out": True},
                    created_at=day(2),
                )
            )
        await session.commit()
        result = await customer_choices(
            session=session, period=DateRange(date(2026, 11, 1), date(2026, 11, 7))
        )
    assert result.totals["opted_out"] == 1
