"""Response rates per channel and delivery health, counted by hand (scenario.py), on SQLite and
PostgreSQL; a rate appears only from MIN_ALERTS_FOR_RATE alerts."""

from __future__ import annotations

import pytest

from alerts.reports.base import MIN_ALERTS_FOR_RATE, interpolate
from alerts.reports.delivery import delivery_health
from alerts.reports.responses import response_rates
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import NOVEMBER
from tests.service.alerts.reports.seed import Answer, Seeder, Try, day


async def test_response_rates_and_times_per_channel(november: Runtime) -> None:
    async with november.deps.sessions() as session:
        rates = await response_rates(session=session, period=NOVEMBER)
    totals = {r.channel: r for r in rates.totals}
    assert {c: (r.reached, r.responded) for c, r in totals.items()} == {
        "voice": (1, 1),  # alert 1; alerts 2, 4 and 6 never reached anyone by voice
        "sms": (2, 1),  # alerts 2 and 3; alert 3's late reply is not an answer
        "email": (2, 1),  # alert 4 and payment_received
    }
    assert all(r.rate is None and r.too_few for r in rates.totals)  # fewer than 20 each
    assert (totals["voice"].median_seconds or 0) == pytest.approx(40, abs=0.01)
    assert (totals["sms"].median_seconds or 0) == pytest.approx(300, abs=0.01)
    assert (totals["email"].p90_seconds or 0) == pytest.approx(3600, abs=0.01)
    by_type = {(r.alert_type, r.channel): (r.reached, r.responded) for r in rates.rows}
    assert by_type == {
        ("large_debit", "voice"): (1, 1),
        ("large_debit", "sms"): (2, 1),
        ("large_debit", "email"): (1, 1),
        ("payment_received", "email"): (1, 0),
    }


async def test_a_rate_is_shown_from_enough_alerts(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        s = Seeder(session)
        c = await s.customer("R")
        for i in range(25):  # 25 SMS reached, 5 answered after 60, 120, ... 300 s
            answers = (Answer("confirm", channel="sms", after=60 * (i + 1)),) if i < 5 else ()
            await s.alert(c, "low_balance", day(1 + i), Try("sms", "delivered"), answers=answers)
        for i in range(MIN_ALERTS_FOR_RATE - 1):  # one email short of a rate
            await s.alert(c, "low_balance", day(1 + i, hour=12), Try("email", "sent"))
        await session.commit()
        rates = await response_rates(session=session, period=NOVEMBER, alert_type="low_balance")
    totals = {r.channel: r for r in rates.totals}
    assert totals["sms"].rate == pytest.approx(5 / 25)
    assert (totals["sms"].median_seconds or 0) == pytest.approx(180, abs=0.01)
    assert (totals["sms"].p90_seconds or 0) == pytest.approx(
        interpolate([60, 120, 180, 240, 300], 0.9), abs=0.01
    )
    assert totals["email"].reached == MIN_ALERTS_FOR_RATE - 1 and totals["email"].rate is None
    assert totals["voice"].reached == 0 and totals["voice"].rate is None


async def test_delivery_health(november: Runtime) -> None:
    async with november.deps.sessions() as session:
        health = await delivery_health(session=session, period=NOVEMBER)
    outcomes = {(r.channel, r.status): r.attempts for r in health.outcomes}
    assert outcomes == {
        ("voice", "completed"): 1,
        ("voice", "no_answer"): 2,
        ("voice", "failed"): 1,
        ("voice", "busy"): 1,
        ("sms", "delivered"): 2,
        ("email", "sent"): 2,
    }
    assert health.attempts == 9 and health.failed_attempts == 1
    assert [(r.channel, r.error, r.attempts) for r in health.failures] == [("voice", "21211", 1)]
    assert (health.retries, health.fallbacks) == (1, 2)  # alert 6's second call; 2's SMS, 4's email
    latency = {r.alert_type: r for r in health.latency}
    large = latency["large_debit"]  # 65, 70, 75, 80, 85 s from the event to the first attempt
    assert large.alerts == 5
    assert (large.p50, large.p95, large.p99) == pytest.approx((75, 84, 84.8), abs=0.01)
    assert latency["all"].alerts == 6 and latency["all"].p50 == pytest.approx(72.5, abs=0.01)
    endings = {r.alert_type: r for r in health.endings}
    assert (endings["large_debit"].alerts, endings["large_debit"].expired) == (6, 1)
    assert endings["large_debit"].failed == 1 and endings["large_debit"].provider_retries == 2
    assert health.as_json()["provider_retries"] == 2
    async with november.deps.sessions() as session:
        only = await delivery_health(
            session=session, period=NOVEMBER, alert_type="payment_received"
        )
    assert only.attempts == 1 and only.retries == 0 and only.fallbacks == 0
    assert [r.alert_type for r in only.latency] == ["payment_received"]
