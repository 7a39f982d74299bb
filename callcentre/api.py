"""Call-centre API: opening hours, real-time load pushed by the telephony platform, status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import col, select

from alerts.api.deps import DepsDep, require_token
from alerts.columns import utcnow
from alerts.deps import AlertDeps
from callcentre.models import CentreConfig, LoadSnapshot
from callcentre.state import STALE_AFTER, HoursIn, load_hours

router = APIRouter(
    prefix="/api/v1/callcentre", dependencies=[Depends(require_token)], tags=["call centre"]
)


class LoadIn(BaseModel):
    agents_logged_in: int = Field(ge=0)
    agents_available: int = Field(ge=0)
    queue_length: int = Field(ge=0)
    longest_wait_seconds: float = Field(default=0.0, ge=0)


async def current_hours(deps: AlertDeps) -> HoursIn:
    async with deps.sessions() as session:
        return await load_hours(session)


@router.put("/hours")
async def put_hours(hours: HoursIn, deps: DepsDep) -> dict[str, Any]:
    async with deps.sessions() as session:
        row = (await session.exec(select(CentreConfig).order_by(col(CentreConfig.id)))).first()
        row = row or CentreConfig()
        row.hours = hours.model_dump(mode="json")
        row.updated_at = utcnow()
        session.add(row)
        await session.commit()
    return hours.model_dump(mode="json")


@router.post("/load", status_code=201)
async def post_load(load: LoadIn, deps: DepsDep) -> dict[str, Any]:
    if load.agents_available > load.agents_logged_in:
        raise HTTPException(422, "agents_available cannot exceed agents_logged_in")
    async with deps.sessions() as session:
        row = LoadSnapshot(**load.model_dump(), received_at=utcnow())
        session.add(row)
        await session.commit()
    return {"received_at": row.received_at.isoformat()}


async def centre_status(deps: AlertDeps, now: datetime) -> dict[str, Any]:
    hours = await current_hours(deps)
    rules_hours = hours.to_hours()
    async with deps.sessions() as session:
        load = (
            await session.exec(select(LoadSnapshot).order_by(col(LoadSnapshot.received_at).desc()))
        ).first()
    is_open = rules_hours.is_open(now)
    nxt = None if is_open else rules_hours.next_opening(now)
    body: dict[str, Any] = {
        "open": is_open,
        "next_opening": nxt.isoformat() if nxt else None,
        "hours": hours.model_dump(mode="json"),
        "load": None,
    }
    if load is not None:
        age = now - load.received_at
        body["load"] = {
            **load.model_dump(mode="json", exclude={"id"}),
            "age_seconds": round(age.total_seconds(), 1),
            "stale": age > STALE_AFTER,
        }
    return body


@router.get("/status")
async def get_status(deps: DepsDep) -> dict[str, Any]:
    """Open now? When does it open? The latest load (marked stale after 5 minutes)."""
    return await centre_status(deps, utcnow())
