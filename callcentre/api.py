"""Call-centre API: opening hours, real-time load pushed by the telephony platform, status."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from alerts.api.deps import DepsDep, require, require_token
from alerts.api.errors import error_responses
from alerts.columns import utcnow
from callcentre.models import LoadSnapshot
from callcentre.state import CentreStatus, HoursIn, centre_status, record_load, save_hours

router = APIRouter(
    prefix="/api/v1/callcentre",
    dependencies=[Depends(require_token)],
    tags=["call centre"],
    responses=error_responses(401, 403, 422, 500, 503),
)


class LoadIn(BaseModel):
    agents_logged_in: int = Field(ge=0)
    agents_available: int = Field(ge=0)
    queue_length: int = Field(ge=0)
    longest_wait_seconds: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _available_are_logged_in(self) -> LoadIn:
        if self.agents_available > self.agents_logged_in:
            raise ValueError("agents_available cannot exceed agents_logged_in")
        return self


class LoadReceived(BaseModel):
    received_at: str = Field(description="when Herald received it (ISO 8601, UTC)")


@router.put("/hours", dependencies=[Depends(require("call_centre"))])
async def put_hours(hours: HoursIn, deps: DepsDep) -> HoursIn:
    """Replace the opening hours: weekly openings per day, holidays."""
    async with deps.sessions() as session:
        return await save_hours(session=session, hours=hours, now=utcnow())


@router.post("/load", status_code=201, dependencies=[Depends(require("call_centre"))])
async def post_load(load: LoadIn, deps: DepsDep) -> LoadReceived:
    """The live load, as the telephony platform sees it; used while under 5 minutes old."""
    async with deps.sessions() as session:
        row = await record_load(
            session=session, load=LoadSnapshot(**load.model_dump(), received_at=utcnow())
        )
    return LoadReceived(received_at=row.received_at.isoformat())


@router.get("/status")
async def get_status(deps: DepsDep) -> CentreStatus:
    """Open now? When does it open? The latest load (marked stale after 5 minutes)."""
    async with deps.sessions() as session:
        return await centre_status(session=session, now=utcnow())
