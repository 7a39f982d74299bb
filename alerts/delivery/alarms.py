"""Channel alarms: a provider that refuses Herald itself (HTTP 401/403, SMTP authentication)
stops sending on that channel until an operator fixes the configuration.

The alarm is a row (every worker and the API see it), logged at error when raised. While it is
active, steps on that channel are held, not failed and not retried as a passing fault; at
``retry_at`` one send tries the provider again, and the first success clears the alarm.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import ChannelAlarm

logger = logging.getLogger(__name__)
RECHECK = timedelta(minutes=5)  # how long sends are held before one tries the provider again


async def active_alarm(session: AsyncSession, channel: str) -> ChannelAlarm | None:
    return (
        await session.exec(
            select(ChannelAlarm).where(
                ChannelAlarm.channel == channel, col(ChannelAlarm.cleared_at).is_(None)
            )
        )
    ).first()


async def raise_alarm(
    session: AsyncSession, *, channel: str, provider: str, message: str, now: datetime
) -> ChannelAlarm:
    """Raise (or renew) the channel's alarm; sends are held until ``retry_at``."""
    alarm = (
        await session.exec(select(ChannelAlarm).where(ChannelAlarm.channel == channel))
    ).first()
    if alarm is None:
        alarm = ChannelAlarm(channel=channel, provider=provider, message=message, raised_at=now)
    elif alarm.cleared_at is not None:
        alarm.raised_at, alarm.cleared_at, alarm.held_steps = now, None, 0
    alarm.provider = provider[:100]
    alarm.message = message[:500]
    alarm.retry_at = now + RECHECK
    session.add(alarm)
    await session.flush()
    logger.error(
        "CHANNEL ALARM %s (%s): %s; its sends are held until the configuration is fixed",
        channel,
        provider,
        message,
    )
    return alarm


async def hold_until(session: AsyncSession, channel: str, now: datetime) -> ChannelAlarm | None:
    """The active alarm a send on ``channel`` must wait for, or None (no alarm, or it is time
    for a send to try the provider again)."""
    return hold_for(session, await active_alarm(session, channel), now)


def hold_for(
    session: AsyncSession, alarm: ChannelAlarm | None, now: datetime
) -> ChannelAlarm | None:
    """``hold_until`` for an active alarm the caller has read already (or None: no alarm)."""
    if alarm is None or alarm.retry_at <= now:
        return None
    alarm.held_steps += 1
    session.add(alarm)
    return alarm


async def clear_alarm(
    session: AsyncSession, channel: str, now: datetime, alarm: ChannelAlarm | None = None
) -> None:
    """The provider accepted a send: the channel's alarm (``alarm`` when read already) ends."""
    alarm = alarm or await active_alarm(session, channel)
    if alarm is None or alarm.cleared_at is not None:
        return
    alarm.cleared_at = now
    session.add(alarm)
    logger.warning("channel alarm %s cleared: the provider accepted a send again", channel)


async def list_alarms(*, session: AsyncSession) -> list[ChannelAlarm]:
    """Every channel's alarm, active ones first (for the providers API and the admin pages)."""
    rows = (await session.exec(select(ChannelAlarm).order_by(col(ChannelAlarm.channel)))).all()
    return sorted(rows, key=lambda a: a.cleared_at is not None)
