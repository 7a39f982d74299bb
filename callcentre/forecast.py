"""The forecast before a launch: the simulated day (callcentre.simulation) for a campaign of one
alert type, with today's agents, pacing off vs on; the figures the supervisor board shows and
the points of its chart. ``herald simulate-centre --recipients N --agents A --seed S`` runs the
same simulation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, AttemptEvent, DeliveryAttempt, HandOff
from callcentre.models import AgentState
from callcentre.queues import PRESENT_FOR
from callcentre.simulation import Scenario, compare

SEED = 2026  # the CLI's default seed: the same inputs give the same day
LEARN_DAYS = 30  # the history the rates are learned from
MIN_CALLS = 50  # fewer finished calls than this: Herald's defaults are used instead
MIN_HANDLED = 10  # fewer handled transfers than this: the default handling time is used
FINISHED = ("completed", "busy", "no_answer", "failed", "canceled")


@dataclass(frozen=True, slots=True)
class Rates:
    """What one alert type's calls do, learned from its last days of calls (or the defaults)."""

    p_human: float  # a finished call answered by a person
    p_agent: float  # an answered call where the customer asked for an agent
    aht_s: float  # an agent's handling time of a transfer
    calls: int  # the finished calls they were learned from (0: the defaults)
    handled: int  # the handled transfers the handling time was learned from

    @property
    def learned(self) -> bool:
        return self.calls > 0


_USUAL = Scenario()
DEFAULT_RATES = Rates(
    p_human=_USUAL.p_human, p_agent=_USUAL.p_agent, aht_s=_USUAL.aht_s, calls=0, handled=0
)


class ForecastIn(BaseModel):
    """The forecast form."""

    alert_type: str = Field(min_length=1, max_length=100)
    recipients: int = Field(ge=1, le=200_000)
    agents: int = Field(ge=0, le=5000)
    start: time


async def agents_today(session: AsyncSession, now: datetime) -> int:
    """Agents whose console is open now and who are not away."""
    return int(
        (
            await session.exec(
                select(func.count())
                .select_from(AgentState)
                .where(col(AgentState.seen_at) >= now - PRESENT_FOR, AgentState.state != "away")
            )
        ).one()
    )


async def learned_rates(session: AsyncSession, alert_type: str, now: datetime) -> Rates:
    """``alert_type``'s answer and ask-for-an-agent rates and handling time over the last
    ``LEARN_DAYS`` days of real (not trial) calls; the defaults when there are too few."""
    since = now - timedelta(days=LEARN_DAYS)
    calls = (
        select(DeliveryAttempt.id, DeliveryAttempt.status, DeliveryAttempt.alert_id)
        .join(Alert, col(Alert.id) == col(DeliveryAttempt.alert_id))
        .where(
            Alert.alert_type == alert_type,
            col(Alert.trial).is_(False),
            DeliveryAttempt.channel == "voice",
            col(DeliveryAttempt.status).in_(FINISHED),
            col(DeliveryAttempt.created_at) >= since,
        )
    )
    rows = (await session.exec(calls)).all()
    if len(rows) < MIN_CALLS:
        return DEFAULT_RATES
    completed = {r[0] for r in rows if r[1] == "completed"}
    machines = set(
        (
            await session.exec(
                select(AttemptEvent.attempt_id).where(
                    col(AttemptEvent.attempt_id).in_(completed),
                    col(AttemptEvent.detail).like("answered by machine%"),
                )
            )
        ).all()
    )
    humans = completed - machines
    alerts = {r[2] for r in rows if r[0] in humans}
    transfers = (
        await session.exec(
            select(HandOff.alert_id, HandOff.claimed_at, HandOff.closed_at, HandOff.status).where(
                col(HandOff.alert_id).in_(alerts), HandOff.kind == "live_transfer"
            )
        )
    ).all()
    asked = {t[0] for t in transfers}
    handled = [
        (t[2] - t[1]).total_seconds()
        for t in transfers
        if t[3] == "completed" and t[1] is not None and t[2] is not None and t[2] > t[1]
    ]
    return Rates(
        p_human=len(humans) / len(rows),
        p_agent=len(asked) / len(humans) if humans else 0.0,
        aht_s=sum(handled) / len(handled) if len(handled) >= MIN_HANDLED else _USUAL.aht_s,
        calls=len(rows),
        handled=len(handled) if len(handled) >= MIN_HANDLED else 0,
    )


def simulate(
    recipients: int, agents: int, seed: int = SEED, rates: Rates = DEFAULT_RATES
) -> dict[str, dict[str, Any]]:
    """``compare`` for the campaign: what ``herald simulate-centre`` prints as JSON (with the
    default rates; learned ones replace them)."""
    return compare(
        replace(
            Scenario(),
            recipients=recipients,
            agents=agents,
            seed=seed,
            p_human=rates.p_human,
            p_agent=rates.p_agent,
            aht_s=rates.aht_s,
        )
    )


@dataclass(frozen=True, slots=True)
class Side:
    label: str
    abandoned_share: float
    occupancy: float
    transfers: int
    peak_transfers_per_hour: int
    finished_at: datetime
    points: str  # SVG polyline points of transfers per hour


@dataclass(frozen=True, slots=True)
class Forecast:
    sides: list[Side]
    hours: int
    peak: int
    rates: Rates
    width: int = 600
    height: int = 200


def _points(series: list[float], hours: int, peak: int, width: int, height: int) -> str:
    step = width / max(1, hours - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / peak) * height if peak else height:.1f}"
        for i, v in enumerate(series)
    )


def forecast(form: ForecastIn, day: datetime, rates: Rates = DEFAULT_RATES) -> Forecast:
    """The campaign started at ``form.start`` on ``day`` (UTC), pacing off and on, with the
    alert type's ``rates``."""
    result = simulate(form.recipients, form.agents, rates=rates)
    start = datetime.combine(day.date(), form.start, tzinfo=day.tzinfo)
    series = {
        k: [float(x) for x in result[k]["transfers_per_hour"]] for k in ("pacing_off", "pacing_on")
    }
    hours = max(len(s) for s in series.values())
    peak = int(max((max(s, default=0.0) for s in series.values()), default=0.0)) or 1
    sides = []
    for key, label in (("pacing_off", "Pacing off"), ("pacing_on", "Pacing on")):
        r = result[key]
        finished = max(
            float(r["batch_delivered_after_s"] or 0), float(r["last_transfer_handled_at_s"] or 0)
        )
        sides.append(
            Side(
                label=label,
                abandoned_share=float(r["abandoned_share"] or 0),
                occupancy=float(r["occupancy"] or 0),
                transfers=int(r["transfers"]),
                peak_transfers_per_hour=int(max(series[key], default=0)),
                finished_at=start + timedelta(seconds=finished),
                points=_points(series[key], hours, peak, 600, 200),
            )
        )
    return Forecast(sides=sides, hours=hours, peak=peak, rates=rates)
