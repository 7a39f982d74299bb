"""HTTP API under /api/v1: ingest, customers, alert types, alerts, hand-offs (token auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from alerts.api.deps import DepsDep, require_token
from alerts.customers.history import customer_history
from alerts.customers.records import CustomerIn, upsert_customer
from alerts.models import Alert, HandOff

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)], tags=["api"])


@router.post("/customers", status_code=201)
async def create_customer(data: CustomerIn, deps: DepsDep) -> dict[str, Any]:
    async with deps.sessions() as session:
        try:
            customer, created = await upsert_customer(session=session, data=data)
            await session.commit()
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
    return {"ref": customer.external_ref, "id": customer.id, "created": created}


@router.get("/customers/{ref}/history")
async def history(ref: str, deps: DepsDep) -> dict[str, Any]:
    async with deps.sessions() as session:
        data = await customer_history(session=session, external_ref=ref)
    if data is None:
        raise HTTPException(404, f"no customer {ref!r}")
    return data


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: int, deps: DepsDep) -> dict[str, Any]:
    async with deps.sessions() as session:
        alert = await session.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert.model_dump(mode="json")


@router.get("/handoffs")
async def list_handoffs(deps: DepsDep, state: str = "open") -> list[dict[str, Any]]:
    try:
        async with deps.sessions() as session:
            rows = (
                await session.exec(
                    select(HandOff).where(HandOff.status == state).order_by(col(HandOff.id))
                )
            ).all()
    except SQLAlchemyError as exc:  # pragma: no cover - database down
        raise HTTPException(503, "database unavailable") from exc
    return [r.model_dump(mode="json") for r in rows]


@router.get("/providers")
async def providers(deps: DepsDep) -> dict[str, list[dict[str, object]]]:
    """Each channel's providers in priority order with their health (failover state)."""
    out: dict[str, list[dict[str, object]]] = {}
    for kind, channel in deps.channels.items():
        status = getattr(channel, "status", None)
        out[kind] = (
            status()
            if callable(status)
            else [{"provider": f"{channel.key}#1", "priority": 1, "state": "healthy", "share": 1.0}]
        )
    return out
