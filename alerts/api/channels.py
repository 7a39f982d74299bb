"""The channels' health under /api/v1: alarms raised when a provider refuses Herald itself."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from alerts.api.deps import DepsDep, require_token
from alerts.api.errors import error_responses
from alerts.delivery.alarms import list_alarms

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["channels"],
    responses=error_responses(401, 403, 422, 500, 503),
)


class ChannelAlarmOut(BaseModel):
    """A channel whose sends are held until an operator fixes its provider's configuration."""

    channel: str
    provider: str
    message: str
    active: bool
    raised_at: datetime
    next_check_at: datetime | None
    cleared_at: datetime | None
    held_steps: int


@router.get("/channels/alarms")
async def channel_alarms(deps: DepsDep) -> list[ChannelAlarmOut]:
    """Each channel's configuration alarm, active ones first (an empty list: all is well)."""
    async with deps.sessions() as session:
        alarms = await list_alarms(session=session)
    return [
        ChannelAlarmOut(
            channel=a.channel,
            provider=a.provider,
            message=a.message,
            active=a.cleared_at is None,
            raised_at=a.raised_at,
            next_check_at=a.retry_at if a.cleared_at is None else None,
            cleared_at=a.cleared_at,
            held_steps=a.held_steps,
        )
        for a in alarms
    ]
