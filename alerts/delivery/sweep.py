"""The outbox sweep: find work stranded between a commit and its enqueue, and enqueue it again."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import col, select

from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN
from alerts.models import Alert, DeliveryAttempt

logger = logging.getLogger(__name__)


async def sweep(*, deps: AlertDeps, now: datetime, grace_seconds: int = 5) -> int:
    """Evaluate stranded events; re-enqueue due steps whose attempt has not reached the provider."""
    created = await evaluate_pending(deps=deps, now=now)
    count = len(created)
    async with deps.sessions() as session:
        alerts = (
            await session.exec(
                select(Alert).where(
                    col(Alert.status).in_(ALERT_OPEN),
                    col(Alert.next_step_at).is_not(None),
                    col(Alert.next_step_at) <= now - timedelta(seconds=grace_seconds),
                )
            )
        ).all()
        for alert in alerts:
            assert alert.id is not None
            attempt = (
                await session.exec(
                    select(DeliveryAttempt).where(
                        DeliveryAttempt.alert_id == alert.id,
                        DeliveryAttempt.step_index == alert.current_step,
                    )
                )
            ).first()
            if attempt is not None and attempt.status not in ("queued", "sending"):
                continue
            if (
                attempt is not None
                and attempt.status == "sending"
                and attempt.sending_started_at
                and attempt.sending_started_at > now - timedelta(seconds=60)
            ):
                continue  # probably still in flight
            if await deps.queue.enqueue_step(
                alert_id=alert.id,
                step_index=alert.current_step,
                channel=alert.plan[alert.current_step].channel,
            ):
                count += 1
    if count:
        logger.info("sweep re-enqueued %s item(s)", count)
    return count
