"""The voice kill switch: a supervisor pauses voice calls for one alert type or for all.

A paused alert type places no call: the delivery worker asks ``StoredVoiceSwitch.paused`` before
each voice step (the ``alerts.ports.VoiceSwitch`` port) and moves the step on to the plan's next
channel (SMS, email) as the alert type's policy ordered them. The switch is a row in
``voice_pauses``, read on every voice step, so pausing and resuming take effect at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from callcentre.models import ALL_ALERT_TYPES, VoicePause


async def list_pauses(session: AsyncSession) -> list[VoicePause]:
    return list((await session.exec(select(VoicePause).order_by(col(VoicePause.alert_type)))).all())


async def voice_paused(session: AsyncSession, alert_type: str) -> VoicePause | None:
    """The pause that stops ``alert_type``'s calls (the all-types switch first), or None."""
    rows = (
        await session.exec(
            select(VoicePause).where(col(VoicePause.alert_type).in_([ALL_ALERT_TYPES, alert_type]))
        )
    ).all()
    return min(rows, key=lambda r: r.alert_type != ALL_ALERT_TYPES, default=None)


def describe(pause: VoicePause) -> str:
    which = "all voice calls" if pause.alert_type == ALL_ALERT_TYPES else "voice"
    why = f": {pause.reason}" if pause.reason else ""
    return f"{which} paused by {pause.paused_by} at {pause.paused_at:%H:%M} UTC{why}"


async def pause_voice(
    *, session: AsyncSession, alert_type: str, by: str, reason: str, now: datetime
) -> VoicePause:
    """Pause voice for ``alert_type`` (``*``: every alert type); audited, commits."""
    row = (
        await session.exec(select(VoicePause).where(VoicePause.alert_type == alert_type))
    ).first()
    if row is None:
        row = VoicePause(alert_type=alert_type, paused_by=by, reason=reason[:300], paused_at=now)
        session.add(row)
        audit.record(
            session,
            kind="voice_switch",
            entity_id=alert_type,
            action="pause",
            before=None,
            after={"paused_by": by, "reason": row.reason},
        )
    await session.commit()
    return row


async def resume_voice(*, session: AsyncSession, alert_type: str) -> bool:
    """Resume voice for ``alert_type``; False when it was not paused. Audited, commits."""
    row = (
        await session.exec(select(VoicePause).where(VoicePause.alert_type == alert_type))
    ).first()
    if row is None:
        return False
    audit.record(
        session,
        kind="voice_switch",
        entity_id=alert_type,
        action="resume",
        before={"paused_by": row.paused_by, "reason": row.reason},
        after=None,
    )
    await session.delete(row)
    await session.commit()
    return True


class StoredVoiceSwitch:
    """The switch as stored in this database: the ``alerts.ports.VoiceSwitch`` port."""

    async def paused(self, session: AsyncSession, alert_type: str) -> str | None:
        pause = await voice_paused(session, alert_type)
        return describe(pause) if pause else None
