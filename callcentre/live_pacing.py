"""Pacing in the voice queue: the live side of ``callcentre.pacing``.

Before a voice alert that offers an agent is placed, the worker asks ``VoicePacer.release`` for
a slot. The release rate comes from ``decide_release_rate`` with the centre's latest pushed load
(agents logged in and available, queue, longest wait) or, without a fresh push, the load the
agents' consoles give for the queue the alert type's agent option routes to; its opening hours,
the configured average handle time and answer-time target, the provider's calls-per-second
limit, and the probabilities learned from this alert type's recent outcomes (answered by a
person, asked for an agent). Slots are reserved in a token bucket, so waiting calls get
distinct, evenly spaced release instants instead of waking together.

The bucket lives in the worker process: run one voice worker per Twilio account, or divide
``calls_per_second`` between them (README, "Pacing").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, AlertType, AttemptEvent, DeliveryAttempt, Response
from callcentre.outcomes import OutcomeStats
from callcentre.pacing import CentreState, Pacer, PacingDecision, PacingPolicy, decide_release_rate
from callcentre.state import current_load, load_hours
from channels import metrics

logger = logging.getLogger(__name__)

PAUSED_RECHECK_S = 60.0  # a paused alert type looks again after this long
FINISHED = ("completed", "no_answer", "busy", "failed", "canceled")


async def recent_stats(
    session: AsyncSession, alert_type: str, now: datetime, window: timedelta
) -> OutcomeStats:
    """Finished calls of ``alert_type`` in ``window``: placed, answered by a person, chose agent."""
    machine = exists().where(
        col(AttemptEvent.attempt_id) == col(DeliveryAttempt.id),
        col(AttemptEvent.detail).like("answered by machine%"),
    )
    agent = exists().where(
        col(Response.attempt_id) == col(DeliveryAttempt.id), col(Response.intent) == "agent"
    )
    base = (
        select(func.count())
        .select_from(DeliveryAttempt)
        .join(Alert, col(Alert.id) == DeliveryAttempt.alert_id)
        .where(
            Alert.alert_type == alert_type,
            DeliveryAttempt.channel == "voice",
            col(DeliveryAttempt.status).in_(FINISHED),
            col(DeliveryAttempt.updated_at) >= now - window,
        )
    )
    calls = (await session.exec(base)).one()
    human = (
        await session.exec(base.where(col(DeliveryAttempt.status) == "completed", ~machine))
    ).one()
    chose = (
        await session.exec(base.where(col(DeliveryAttempt.status) == "completed", ~machine, agent))
    ).one()
    return OutcomeStats(int(calls), int(human), int(chose))


async def agent_queue_of(session: AsyncSession, alert_type: str) -> str | None:
    """The queue the alert type's "speak to an agent" option routes to (None: the default),
    read leniently from the stored specification."""
    row = (await session.exec(select(AlertType).where(AlertType.key == alert_type))).first()
    options = row.spec.get("options") if row else None
    for option in options if isinstance(options, list) else []:
        if isinstance(option, dict) and option.get("intent") == "agent":
            queue = option.get("queue")
            return queue if isinstance(queue, str) else None
    return None


@dataclass
class VoicePacer:
    policy: PacingPolicy
    aht_s: float = 300.0
    window: timedelta = timedelta(hours=2)
    refresh_s: float = 5.0
    _buckets: dict[str, Pacer] = field(default_factory=dict)
    _rates: dict[str, tuple[PacingDecision, datetime]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def rate(self, session: AsyncSession, alert_type: str, now: datetime) -> PacingDecision:
        cached = self._rates.get(alert_type)
        if cached and (now - cached[1]).total_seconds() < self.refresh_s:
            return cached[0]
        queue = await agent_queue_of(session, alert_type)
        hours = (await load_hours(session, queue=queue)).to_hours()
        load = await current_load(session, now, queue=queue)
        if load is None:
            decision = PacingDecision(
                self.policy.calls_per_second if hours.is_open(now) else 0.0,
                "no fresh call-centre load: limited to the provider's calls per second"
                if hours.is_open(now)
                else "paused: the call centre is closed",
                "calls_per_second" if hours.is_open(now) else "closed",
                now,
            )
        else:
            state = CentreState(
                agents_available=min(load.agents_available, load.agents_logged_in),
                agents_logged_in=load.agents_logged_in,
                queue_length=load.queue_length,
                longest_wait_s=load.longest_wait_seconds,
                aht_s=self.aht_s,
                open=hours.is_open(now),
            )
            stats = await recent_stats(session, alert_type, now, self.window)
            decision = decide_release_rate(state=state, stats=stats, policy=self.policy, now=now)
        self._rates[alert_type] = (decision, now)
        metrics.PACING_RATE.labels(alert_type=alert_type).set(decision.rate_per_s)
        return decision

    async def release(
        self, *, session: AsyncSession, alert_type: str, now: datetime
    ) -> tuple[float, str, bool]:
        """Seconds until this call may go (0: now), why, and whether that slot is reserved
        (False when paused: ask again after the wait)."""
        async with self._lock:
            decision = await self.rate(session, alert_type, now)
            if decision.rate_per_s <= 0:
                return PAUSED_RECHECK_S, decision.reason, False
            bucket = self._buckets.get(alert_type, Pacer())
            # Slots already handed out lie after `now`: the next one follows the last of them.
            start = max(now, bucket.updated_at or now)
            instants, bucket = bucket.next_release_times(
                count=1, rate_per_s=decision.rate_per_s, now=start
            )
            self._buckets[alert_type] = bucket
        wait = max(0.0, (instants[0] - now).total_seconds())
        return wait, decision.reason, True
