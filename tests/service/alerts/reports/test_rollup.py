"""The daily rollups give exactly the raw tables' figures, on SQLite and PostgreSQL: after the
first build, after more data arrives (late answers, a new alert, a hand-off completed, a
customer's segment changed) and a refresh, with today read raw, and with days left over the
refresh's budget read raw too. A refresh with nothing new changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, Customer, HandOff, Response, StatusChange
from alerts.reports.calls import calls_avoided
from alerts.reports.coverage import coverage
from alerts.reports.delivery import delivery_health
from alerts.reports.funnel import FunnelFilters, funnel
from alerts.reports.handoffs import handoff_report
from alerts.reports.jobs import refresh_reports_job
from alerts.reports.models import RollupAlertDay, RollupMark
from alerts.reports.responses import response_rates
from alerts.reports.rollup import GRACE, refresh_rollups
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import NOVEMBER, seed_november
from tests.service.alerts.reports.seed import Answer, Seeder, Try, day
from tests.service.alerts.reports.test_handoffs import seed_handoffs

FUNNELS = (
    FunnelFilters(),
    FunnelFilters(group_by="channel"),
    FunnelFilters(group_by="language"),
    FunnelFilters(group_by="segment"),
    FunnelFilters(channel="voice"),
    FunnelFilters(language="nl", group_by="segment"),
    FunnelFilters(segment="retail", alert_type="large_debit"),
)


async def reports(session: AsyncSession, today: date, *, rollup: bool) -> dict[str, Any]:
    """Every report over November (and the two months around it), as JSON."""
    out: dict[str, Any] = {}
    wide = NOVEMBER.__class__(date(2026, 10, 1), date(2026, 12, 31))
    for period in (NOVEMBER, wide):
        key = f"{period.first}..{period.last}"
        for i, filters in enumerate(FUNNELS):
            out[f"funnel {i} {key}"] = (
                await funnel(
                    session=session, period=period, filters=filters, today=today, rollup=rollup
                )
            ).as_json()
        for name, report in (
            ("rates", response_rates),
            ("delivery", delivery_health),
            ("calls", calls_avoided),
            ("handoffs", handoff_report),
        ):
            result = await report(session=session, period=period, today=today, rollup=rollup)
            out[f"{name} {key}"] = json.loads(json.dumps(result.as_json(), default=str))
    return out


async def assert_same(runtime: Runtime, today: date) -> dict[str, Any]:
    async with runtime.deps.sessions() as session:
        raw = await reports(session, today, rollup=False)
        rolled = await reports(session, today, rollup=True)
        cover = await coverage(session, NOVEMBER, today=today)
    assert cover.rolled, "the rollup was not read at all"
    for key in raw:
        assert rolled[key] == raw[key], key
    return raw


async def refresh(runtime: Runtime, today: date, budget: int | None = None) -> Any:
    async with runtime.deps.sessions() as session:
        return await refresh_rollups(session=session, today=today, budget_days=budget)


async def more_data(runtime: Runtime) -> None:
    """What arrives after the first build: it changes days 3, 5, 7, 12 and customer B's."""
    async with runtime.deps.sessions() as session:
        seeder = Seeder(session)
        alerts = (
            await session.exec(
                select(Alert).where(col(Alert.alert_type) == "large_debit").order_by(col(Alert.id))
            )
        ).all()
        november = [a for a in alerts if a.created_at >= NOVEMBER.start]
        failed = november[5]  # alert 6 (day 7): the customer answers after all
        session.add(
            Response(
                dedupe_key="late-6",
                alert_id=failed.id,
                customer_id=failed.customer_id,
                channel="sms",
                intent="confirm",
                created_at=day(7, 18),
            )
        )
        queued = (
            await session.exec(select(HandOff).where(col(HandOff.alert_id) == november[3].id))
        ).one()  # alert 4's hand-off (day 5) completes
        queued.status = "completed"
        session.add(queued)
        session.add(
            StatusChange(
                entity="handoff",
                entity_id=queued.id or 0,
                from_status="queued",
                event="complete",
                to_status="completed",
                created_at=day(6),
            )
        )
        b = (await session.exec(select(Customer).where(Customer.external_ref == "B"))).one()
        b.segment = "private"  # alert 3 (day 4) and 4 (day 5) regroup
        session.add(b)
        a = (await session.exec(select(Customer).where(Customer.external_ref == "A"))).one()
        await seeder.alert(
            a,
            "large_debit",
            day(12),
            Try("voice", "completed", after=12),
            answers=(Answer("agent", after=30, handoff="queued", kind="live_transfer"),),
        )
        await session.commit()


async def test_the_rollup_gives_the_raw_figures_and_follows_new_data(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        await seed_november(session)
        await session.commit()
    await seed_handoffs(runtime)
    today = date(2026, 12, 7)
    first = await refresh(runtime, today)
    assert first.built_days[0] == date(2026, 10, 4)  # the first day with data
    assert first.built_days[-1] == today - timedelta(days=1) and first.left_days == 0
    before = await assert_same(runtime, today)

    await more_data(runtime)
    async with runtime.deps.sessions() as session:  # not refreshed yet: the rollup is behind
        stale = await reports(session, today, rollup=True)
        now_raw = await reports(session, today, rollup=False)
    assert stale == before and now_raw != before
    again = await refresh(runtime, today)
    assert {day(4).date(), day(5).date(), day(7).date(), day(12).date()} <= set(again.changed_days)
    assert again.built_days == again.changed_days
    after = await assert_same(runtime, today)
    assert after != before
    nov = "2026-11-01..2026-11-30"
    assert (
        after[f"funnel 0 {nov}"]["total"]["alerts"]
        == before[f"funnel 0 {nov}"]["total"]["alerts"] + 1
    )

    idle = await refresh(runtime, today)
    assert idle.changed_days == [] and idle.built_days == []
    assert await assert_same(runtime, today) == after


async def test_today_and_days_over_the_budget_are_read_raw(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        await seed_november(session)
        await session.commit()
    await seed_handoffs(runtime)
    today = day(5).date()  # mid-month: days 1-4 rolled up, the 5th (today) and later raw
    report = await refresh(runtime, today, budget=3)
    assert report.built_days == [day(2).date(), day(3).date(), day(4).date()]
    assert report.left_days > 0
    await assert_same(runtime, today)
    async with runtime.deps.sessions() as session:
        cover = await coverage(session, NOVEMBER, today=today)
        rows = (await session.exec(select(RollupAlertDay))).all()
    assert [(r.first, r.last) for r in cover.rolled] == [(day(2).date(), day(4).date())]
    assert {r.day for r in rows} <= {day(2).date(), day(3).date(), day(4).date()}
    await refresh(runtime, day(20).date())  # the rest, up to the 19th
    await assert_same(runtime, day(20).date())


async def test_a_watermark_waits_for_rows_younger_than_the_grace(runtime: Runtime) -> None:
    """An id is handed out before its transaction commits: the watermark stops below rows of
    the last few minutes, so one committed a little later with a lower id is still read."""
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    async with runtime.deps.sessions() as session:
        await seed_november(session)
        await session.commit()
        await refresh_rollups(session=session, today=now.date(), now=now)
        alert = (await session.exec(select(Alert).order_by(col(Alert.id)))).first()
        assert alert is not None
        session.add(
            Response(
                dedupe_key="young",
                alert_id=alert.id,
                channel="voice",
                intent="confirm",
                created_at=now - GRACE / 2,
            )
        )
        await session.commit()
        mark = (
            await session.exec(select(RollupMark).where(RollupMark.source == "responses"))
        ).one()
        before = mark.last_id
        await refresh_rollups(session=session, today=now.date(), now=now)
        await session.refresh(mark)
        assert mark.last_id == before  # not past the young row yet
        later = await refresh_rollups(session=session, today=now.date(), now=now + GRACE)
        await session.refresh(mark)
        assert mark.last_id > before
        assert later.changed_days == [alert.created_at.date()]


async def test_the_workers_job_rolls_up_what_changed(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        await seed_november(session)
        await session.commit()
    # From the first alert (15 October) to yesterday: a month a run, newest first.
    days = (datetime.now(UTC).date() - date(2026, 10, 15)).days
    said = await refresh_reports_job({"deps": runtime.deps})
    assert said == f"rolled up 31 days (0 changed), {days - 31} left"
    while days > 31:  # each run another month, until none is left
        days -= 31
        said = await refresh_reports_job({"deps": runtime.deps})
        assert said == f"rolled up {min(days, 31)} days (0 changed), {max(days - 31, 0)} left"
    async with runtime.deps.sessions() as session:
        cover = await coverage(session, NOVEMBER)
    assert [(r.first, r.last) for r in cover.rolled] == [(NOVEMBER.first, NOVEMBER.last)]
    assert (
        await refresh_reports_job({"deps": runtime.deps}) == "rolled up 0 days (0 changed), 0 left"
    )


async def test_a_refresh_with_nothing_new_stops_at_one_check_but_misses_nothing(
    runtime: Runtime,
) -> None:
    """The quick check before a refresh (watermarks, customers, built days) lets through a
    change that adds no row (a customer's segment) and a day that has ended since."""
    async with runtime.deps.sessions() as session:
        await seed_november(session)
        await session.commit()
    today = date(2026, 12, 7)
    await refresh(runtime, today)
    idle = await refresh(runtime, today)
    assert idle.changed_days == [] and idle.built_days == []
    async with runtime.deps.sessions() as session:
        alert = (await session.exec(select(Alert).order_by(col(Alert.id)))).first()
        assert alert is not None
        customer = await session.get(Customer, alert.customer_id)
        assert customer is not None
        customer.segment = "private banking"
        session.add(customer)
        await session.commit()
    moved = await refresh(runtime, today)
    assert alert.created_at.date() in moved.changed_days
    await assert_same(runtime, today)
    tomorrow = await refresh(runtime, today + timedelta(days=1))
    assert tomorrow.built_days == [today] and tomorrow.changed_days == []
    await assert_same(runtime, today + timedelta(days=1))
