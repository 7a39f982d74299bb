"""Call-centre API: opening hours, real-time load pushed by the telephony platform, status;
queues, agents' skills and the outcomes agents choose from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, Field, model_validator

from alerts.api.deps import DepsDep, UsernamePath, require, require_token
from alerts.api.errors import ApiError, error_responses
from alerts.columns import utcnow
from callcentre.models import LoadSnapshot
from callcentre.queues import (
    QUEUE_KEY,
    OutcomeIn,
    QueueIn,
    UnknownAgent,
    UnknownCentre,
    UnknownQueues,
    list_outcomes,
    list_queues,
    queue_loads,
    save_outcomes,
    save_queue,
    set_skills_of,
)
from callcentre.state import (
    CentreIn,
    CentreOut,
    CentreStatus,
    HoursIn,
    centre_status,
    list_centres,
    record_load,
    save_centre,
    save_hours,
)

router = APIRouter(
    prefix="/api/v1/callcentre",
    dependencies=[Depends(require_token)],
    tags=["call centre"],
    responses=error_responses(400, 401, 403, 422, 500, 503),
)


class LoadIn(BaseModel):
    agents_logged_in: int = Field(ge=0, le=100_000)
    agents_available: int = Field(ge=0, le=100_000)
    queue_length: int = Field(ge=0, le=1_000_000)
    longest_wait_seconds: float = Field(default=0.0, ge=0, le=7 * 86400)

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


# --- queues, agents' skills, outcomes -------------------------------------------------------------


class QueueOut(BaseModel):
    key: str
    name: str
    centre: str = Field(description="the centre it belongs to: its hours apply")
    priority: int = Field(description="higher is served first")
    target_answer_seconds: int = Field(description="unclaimed work waiting longer is escalated")
    default: bool = Field(description="serves hand-offs routed to no queue, or to an unknown one")
    agents_present: int = Field(description="agents with this skill whose console is open")
    agents_available: int
    waiting: int = Field(description="hand-offs nobody has claimed yet")
    longest_wait_seconds: float


@router.get("/queues")
async def get_queues(deps: DepsDep) -> list[QueueOut]:
    """The queues, highest priority first, with the load the agents' consoles give."""
    async with deps.sessions() as session:
        queues = await list_queues(session)
        loads = await queue_loads(session, utcnow())
    return [
        QueueOut(
            key=q.key,
            name=q.name,
            centre=q.centre,
            priority=q.priority,
            target_answer_seconds=q.target_answer_seconds,
            default=q.default,
            agents_present=loads[q.key].logged_in,
            agents_available=loads[q.key].available,
            waiting=loads[q.key].waiting,
            longest_wait_seconds=round(loads[q.key].longest_wait_seconds, 1),
        )
        for q in queues
    ]


@router.put("/queues/{key}", dependencies=[Depends(require("call_centre"))])
async def put_queue(
    key: Annotated[str, Path(pattern=QUEUE_KEY, max_length=40)], queue: QueueIn, deps: DepsDep
) -> QueueIn:
    """Create or change a queue; a response option routes to it with ``"queue": "<key>"``."""
    async with deps.sessions() as session:
        try:
            await save_queue(session=session, key=key, queue=queue)
        except UnknownCentre as exc:
            raise ApiError(422, str(exc), hint="create it first: PUT /centres/{key}") from exc
    return queue


@router.get("/centres")
async def get_centres(deps: DepsDep) -> list[CentreOut]:
    """The call centres with their hours and queues (the first serves unrouted work)."""
    async with deps.sessions() as session:
        return await list_centres(session)


@router.put("/centres/{key}", dependencies=[Depends(require("call_centre"))])
async def put_centre(
    key: Annotated[str, Path(pattern=QUEUE_KEY, max_length=40)], centre: CentreIn, deps: DepsDep
) -> CentreIn:
    """Create or change a call centre: its name and opening hours (zone, weekly, holidays)."""
    async with deps.sessions() as session:
        await save_centre(session=session, key=key, centre=centre, now=utcnow())
    return centre


class SkillsIn(BaseModel):
    queues: list[Annotated[str, Field(max_length=40)]] = Field(
        max_length=100, description="the keys of the queues the agent serves"
    )


@router.put(
    "/agents/{username}/skills",
    dependencies=[Depends(require("call_centre"))],
    responses=error_responses(404),
)
async def put_skills(username: UsernamePath, skills: SkillsIn, deps: DepsDep) -> SkillsIn:
    """Replace the queues an agent serves."""
    async with deps.sessions() as session:
        try:
            return SkillsIn(
                queues=await set_skills_of(session=session, username=username, queues=skills.queues)
            )
        except UnknownAgent as exc:
            raise ApiError(404, str(exc)) from exc
        except UnknownQueues as exc:
            raise ApiError(422, str(exc), hint="create the queue first: PUT /queues/{key}") from exc


@router.get("/outcomes")
async def get_outcomes(deps: DepsDep) -> list[OutcomeIn]:
    """The outcomes agents close a hand-off with, in order (switched-off ones included)."""
    async with deps.sessions() as session:
        rows = await list_outcomes(session, active_only=False)
    return [OutcomeIn(key=o.key, label=o.label, active=o.active) for o in rows]


@router.put("/outcomes", dependencies=[Depends(require("call_centre"))])
async def put_outcomes(
    outcomes: Annotated[list[OutcomeIn], Body(max_length=100)], deps: DepsDep
) -> list[OutcomeIn]:
    """Replace the list, in this order; one left out is switched off, not deleted."""
    async with deps.sessions() as session:
        rows = await save_outcomes(session=session, outcomes=outcomes)
    return [OutcomeIn(key=o.key, label=o.label, active=o.active) for o in rows]
