"""HTTP API under /api/v1: customers, their history, alerts, hand-offs, providers (token auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from alerts.api.deps import MAX_ID, DepsDep, IdPath, RefPath, require, require_token
from alerts.api.errors import ApiError, error_responses
from alerts.customers.history import CustomerHistory, HistoryQuery, customer_history, find_alert
from alerts.customers.records import CustomerIn, save_customer
from alerts.plans import AlertOption, PlannedStep, StoredWindows
from alerts.responses.handoffs import list_handoffs

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["api"],
    responses=error_responses(400, 401, 403, 422, 500, 503),
)


class CustomerSaved(BaseModel):
    ref: str = Field(description="the customer's external reference")
    id: int
    created: bool = Field(description="False when an existing customer was updated")


class AlertOut(BaseModel):
    """An alert as stored: its plan, where it is in it, and its status."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    dedupe_key: str
    alert_type: str
    customer_id: int
    event_id: int | None
    decision_id: int | None
    status: str
    alert_type_version: int
    plan: list[PlannedStep] = Field(description="ordered delivery steps")
    options: list[AlertOption] = Field(description="what the customer may answer")
    windows: StoredWindows = Field(description="quiet hours and legal windows")
    locale: str
    priority: int
    category: str
    expires_at: datetime | None
    provider_retries: int
    current_step: int
    next_step_at: datetime | None
    # The template context: open by design (an alert type's templates may use any key).
    context: dict[str, JsonValue] = Field(description="what the content is rendered with")
    closed_reason: str | None
    created_at: datetime
    updated_at: datetime


class HandOffOut(BaseModel):
    """A customer's answer routed to the call centre, with the agent's context."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    response_id: int
    alert_id: int | None
    customer_id: int | None
    kind: str = Field(description="live_transfer or callback")
    status: str
    context: dict[str, JsonValue] = Field(description="everything the agent needs on screen")
    created_at: datetime


class ProviderState(BaseModel):
    provider: str = Field(description="provider key and its place in the order, e.g. twilio#1")
    priority: int
    state: str = Field(description="healthy, demoted or recovering")
    share: float = Field(description="share of the traffic it gets now (0 to 1)")
    demoted_until: str | None = None
    last_problem: str | None = None


@router.post(
    "/customers",
    status_code=201,
    responses=error_responses(409),
    dependencies=[Depends(require("edit_customers"))],
)
async def create_customer(data: CustomerIn, deps: DepsDep) -> CustomerSaved:
    """Create a customer, or update the one with this ``external_ref``."""
    async with deps.sessions() as session:
        try:
            customer, created = await save_customer(session=session, data=data)
        except ValueError as exc:
            raise ApiError(409, str(exc), hint="each account belongs to one customer") from exc
    assert customer.id is not None
    return CustomerSaved(ref=customer.external_ref, id=customer.id, created=created)


@router.get("/customers/{ref}/history", responses=error_responses(404))
async def history(
    ref: RefPath, deps: DepsDep, page: Annotated[HistoryQuery, Query()]
) -> CustomerHistory:
    """The single view, one page: the newest ``limit`` alerts with their events, decisions,
    attempts, answers and hand-offs, the newest events without an alert and the newest
    preference changes; ``pages`` counts each list and gives the cursor of its next, older
    page (``before``, ``skips_before``, ``changes_before``)."""
    async with deps.sessions() as session:
        data = await customer_history(session=session, external_ref=ref, query=page)
    if data is None:
        raise ApiError(404, f"no customer {ref!r}")
    return data


@router.get("/alerts/{alert_id}", responses=error_responses(404))
async def get_alert(alert_id: IdPath, deps: DepsDep) -> AlertOut:
    async with deps.sessions() as session:
        alert = await find_alert(session=session, alert_id=alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id}")
    return AlertOut.model_validate(alert)


@router.get("/handoffs")
async def handoffs(
    deps: DepsDep,
    state: Annotated[
        str, Query(max_length=20, description="only hand-offs in this status")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[HandOffOut]:
    """Hand-offs in one status, oldest first."""
    async with deps.sessions() as session:
        rows = await list_handoffs(session=session, status=state, limit=limit, offset=offset)
    return [HandOffOut.model_validate(r) for r in rows]


@router.get("/providers")
async def providers(deps: DepsDep) -> dict[str, list[ProviderState]]:
    """Each channel's providers in priority order with their health (failover state)."""
    out: dict[str, list[ProviderState]] = {}
    for kind, channel in deps.channels.items():
        status = getattr(channel, "status", None)
        rows = (
            status()
            if callable(status)
            else [{"provider": f"{channel.key}#1", "priority": 1, "state": "healthy", "share": 1.0}]
        )
        out[kind] = [ProviderState.model_validate(r) for r in rows]
    return out
