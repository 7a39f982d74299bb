"""HTTP API under /api/v1: ingest, customers, alert types, alerts, hand-offs (token auth)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from alerts.api.webhooks import get_deps
from alerts.customers.history import customer_history
from alerts.customers.records import CustomerIn, upsert_customer
from alerts.deps import AlertDeps
from alerts.lifecycle import HANDOFF_OPEN
from alerts.models import Alert, HandOff

bearer = HTTPBearer(auto_error=False)


def require_token(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    expected: str = request.app.state.api_token
    if creds is None or not secrets.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong API token: send `Authorization: Bearer <token>` "
            "with the value of HERALD_API_TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )


DepsDep = Annotated[AlertDeps, Depends(get_deps)]
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
                    select(HandOff)
                    .where(col(HandOff.status).in_(HANDOFF_OPEN if state == "open" else {state}))
                    .order_by(col(HandOff.id))
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
