"""Old studio trials removed: a trial alert (a made-up customer's, never delivered) is kept a
week for the administrator to look back at, then deleted with its attempts, their status
history, the answers and the hand-offs it made. Each new trial removes a bounded batch, so the
tables hold only the last week of trials whatever the studio's use."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, AttemptEvent, DeliveryAttempt, HandOff, Response

TRIAL_KEPT = timedelta(days=7)
PURGE_BATCH = 200  # trial alerts removed at most per call


async def purge_old_trials(session: AsyncSession, *, now: datetime) -> int:
    """Delete (in ``session``, not committed) up to ``PURGE_BATCH`` trial alerts older than
    ``TRIAL_KEPT`` and everything that refers to them; how many alerts were removed."""
    old = list(
        (
            await session.exec(
                select(Alert.id)
                .where(col(Alert.trial), col(Alert.created_at) < now - TRIAL_KEPT)
                .order_by(col(Alert.id))
                .limit(PURGE_BATCH)
            )
        ).all()
    )
    if not old:
        return 0
    attempts = sa.select(col(DeliveryAttempt.id)).where(col(DeliveryAttempt.alert_id).in_(old))
    answers = sa.select(col(Response.id)).where(
        sa.or_(col(Response.alert_id).in_(old), col(Response.attempt_id).in_(attempts))
    )
    await session.exec(
        sa.delete(HandOff).where(
            sa.or_(col(HandOff.alert_id).in_(old), col(HandOff.response_id).in_(answers))
        )
    )
    await session.exec(
        sa.delete(Response).where(
            sa.or_(col(Response.alert_id).in_(old), col(Response.attempt_id).in_(attempts))
        )
    )
    await session.exec(sa.delete(AttemptEvent).where(col(AttemptEvent.attempt_id).in_(attempts)))
    await session.exec(sa.delete(DeliveryAttempt).where(col(DeliveryAttempt.alert_id).in_(old)))
    await session.exec(sa.delete(Alert).where(col(Alert.id).in_(old)))
    return len(old)
