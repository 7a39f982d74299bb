"""The forecast's rates learned per alert type from its last 30 days of real calls: answered by
a person (not a machine), asked for an agent, handling time; the defaults with too few calls."""

from __future__ import annotations

from datetime import timedelta

from alerts.columns import utcnow
from alerts.models import Alert, AttemptEvent, DeliveryAttempt
from callcentre.forecast import DEFAULT_RATES, MIN_CALLS, ForecastIn, forecast, learned_rates
from herald.runtime import Runtime
from tests.factories import add_transfer, make_customer


async def _calls(runtime: Runtime, *, alert_type: str, n: int, trial: bool = False) -> None:
    """``n`` finished calls: 60 % completed by a person, 20 % by a machine, 20 % no answer;
    every second person asks for an agent, and each transfer takes 100 s to handle."""
    deps = runtime.deps
    customer = await make_customer(deps, ref=f"R-{alert_type}-{trial}", account=f"NL{n}{trial}")
    now = utcnow()
    async with deps.sessions() as session:
        for i in range(n):
            alert = Alert(
                dedupe_key=f"{alert_type}:{trial}:{i}",
                alert_type=alert_type,
                customer_id=customer.id or 0,
                status="closed",
                trial=trial,
            )
            session.add(alert)
            await session.flush()
            kind = ("human", "human", "human", "machine", "none")[i % 5]
            attempt = DeliveryAttempt(
                alert_id=alert.id or 0,
                step_index=0,
                channel="voice",
                address="+15550001111",
                status="no_answer" if kind == "none" else "completed",
            )
            session.add(attempt)
            await session.flush()
            if kind == "machine":
                session.add(
                    AttemptEvent(
                        attempt_id=attempt.id or 0,
                        status="completed",
                        detail="answered by machine_start",
                    )
                )
            if kind == "human" and i % 2 == 0:
                claimed = now - timedelta(hours=1)
                await add_transfer(
                    session,
                    alert.id or 0,
                    attempt.id or 0,
                    claimed_at=claimed,
                    closed_at=claimed + timedelta(seconds=100),
                )
        await session.commit()


async def test_rates_are_learned_from_the_alert_types_own_calls(runtime: Runtime) -> None:
    await _calls(runtime, alert_type="large_debit", n=100)
    await _calls(runtime, alert_type="large_debit", n=60, trial=True)  # left out
    async with runtime.deps.sessions() as session:
        rates = await learned_rates(session, "large_debit", utcnow())
        fewer = await learned_rates(session, "low_balance", utcnow())
    assert rates.calls == 100 and rates.learned
    assert rates.p_human == 0.6  # machines are not people
    assert abs(rates.p_agent - 30 / 60) < 1e-9
    assert rates.aht_s == 100.0 and rates.handled == 30
    assert fewer == DEFAULT_RATES and not fewer.learned and MIN_CALLS > 0
    form = ForecastIn(alert_type="large_debit", recipients=500, agents=2, start="09:00")
    learned, usual = forecast(form, utcnow(), rates), forecast(form, utcnow())
    assert learned.rates == rates and usual.rates == DEFAULT_RATES
    assert learned.sides[0].transfers != usual.sides[0].transfers
