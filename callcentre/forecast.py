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

from callcentre.models import AgentState
from callcentre.queues import PRESENT_FOR
from callcentre.simulation import Scenario, compare

SEED = 2026  # the CLI's default seed: the same inputs give the same day


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


def simulate(recipients: int, agents: int, seed: int = SEED) -> dict[str, dict[str, Any]]:
    """``compare`` for the campaign: what ``herald simulate-centre`` prints as JSON."""
    return compare(replace(Scenario(), recipients=recipients, agents=agents, seed=seed))


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
    width: int = 600
    height: int = 200


def _points(series: list[float], hours: int, peak: int, width: int, height: int) -> str:
    step = width / max(1, hours - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / peak) * height if peak else height:.1f}"
        for i, v in enumerate(series)
    )


def forecast(form: ForecastIn, day: datetime) -> Forecast:
    """The campaign started at ``form.start`` on ``day`` (UTC), pacing off and on."""
    result = simulate(form.recipients, form.agents)
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
    return Forecast(sides=sides, hours=hours, peak=peak)
