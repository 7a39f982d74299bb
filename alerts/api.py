"""HTTP API under /api/v1: ingest, customers, alert types, alerts, hand-offs (token auth)."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from alerts.alert_types import update_params
from alerts.columns import utcnow
from alerts.customers import CustomerIn, upsert_customer
from alerts.deps import AlertDeps
from alerts.evaluate import evaluate_pending
from alerts.history import customer_history
from alerts.ingest import ingest_file
from alerts.models import Alert, AlertType
from alerts.webhooks import get_deps
from callcentre.models import HandOff

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
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


@router.post("/ingest/{adapter}")
async def ingest(adapter: str, request: Request, deps: DepsDep) -> dict[str, Any]:
    """Ingest one XML document sent as the request body (streamed to disk, size-limited)."""
    size = 0
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as tmp:
        path = Path(tmp.name)
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise HTTPException(
                        413,
                        f"body larger than {MAX_UPLOAD_BYTES} bytes; "
                        "use `herald ingest` for very large files",
                    )
                tmp.write(chunk)
        except HTTPException:
            path.unlink(missing_ok=True)
            raise
    try:
        name = request.headers.get("X-Filename") or f"upload-{path.name}"
        async with deps.sessions() as session:
            report = await ingest_file(
                session=session,
                path=path,
                adapter_key=None if adapter == "auto" else adapter,
                display_name=name,
            )
    finally:
        path.unlink(missing_ok=True)
    alerts = await evaluate_pending(deps=deps, now=utcnow())
    body = {**report.as_dict(), "alerts_created": len(alerts)}
    if report.status == "failed" and report.records == 0:
        raise HTTPException(422, body)
    return body


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


@router.get("/alert-types")
async def list_alert_types(deps: DepsDep) -> list[dict[str, Any]]:
    async with deps.sessions() as session:
        rows = (await session.exec(select(AlertType).order_by(col(AlertType.key)))).all()
    return [{"key": r.key, "name": r.name, "enabled": r.enabled, "params": r.params} for r in rows]


class AlertTypePatch(BaseModel):
    enabled: bool | None = None
    params: dict[str, Any] = {}


@router.patch("/alert-types/{key}")
async def patch_alert_type(key: str, patch: AlertTypePatch, deps: DepsDep) -> dict[str, Any]:
    async with deps.sessions() as session:
        try:
            row = await update_params(session=session, key=key, changes=patch.params)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(422, f"invalid params: {exc}") from exc
        if patch.enabled is not None:
            row.enabled = patch.enabled
            session.add(row)
            await session.commit()
    return {"key": row.key, "name": row.name, "enabled": row.enabled, "params": row.params}


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
