"""HTTP API back to the CRM: webhook subscriptions, their delivery log and replay, CSV exports.

``/api/v1/crm/subscriptions`` (list, create, pause/resume), ``/api/v1/crm/deliveries`` (the log,
newest first; ``POST .../{id}/replay`` tries one again now) need the ``integrations`` permission;
``/api/v1/exports/responses.csv`` and ``/api/v1/exports/handoffs.csv`` (``?since=&until=``, UTC
days, streamed) need ``export``. The secret of a subscription is shown once, when it is created.
What a subscriber receives is described in the OpenAPI ``webhooks`` section and
docs/crm-webhooks.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from alerts import audit
from alerts.api.deps import MAX_ID, ActorDep, DepsDep, IdPath, require, require_token
from alerts.api.errors import ApiError, error_responses
from alerts.columns import utcnow
from alerts.crm import exports
from alerts.crm.deliver import replay
from alerts.crm.subscriptions import (
    STATUSES,
    LogLine,
    counts_by_status,
    create_subscription,
    list_subscriptions,
    log_lines,
    set_active,
)
from alerts.deps import AlertDeps
from alerts.models import WebhookSubscription
from alerts.outbox import KINDS

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["crm"],
    responses=error_responses(400, 401, 403, 404, 422, 500, 503),
)
CanIntegrate = Depends(require("integrations"))
CanExport = Depends(require("export"))
EXPORT_DAYS_DEFAULT = 30


class SubscriptionIn(BaseModel):
    url: str = Field(
        max_length=2000,
        description="the receiver's full http(s) address",
        examples=["https://crm.example.com/herald"],
    )
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=50,
        description="'*', an entity such as 'handoff.*', or kinds: " + ", ".join(KINDS),
        examples=[["response.recorded", "handoff.*"]],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="the signing secret; generated (whsec_...) when not given",
    )


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: datetime
    deliveries: dict[str, int] = Field(
        description="deliveries by status: pending, delivered, failed"
    )


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="shown this once: keep it in the receiver to check signatures")


class ActiveIn(BaseModel):
    active: bool


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    url: str
    event_id: int
    kind: str
    event_created_at: datetime
    status: str
    tries: int
    next_try_at: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None


def _out(row: WebhookSubscription, counts: dict[int, dict[str, int]]) -> SubscriptionOut:
    assert row.id is not None
    return SubscriptionOut(
        id=row.id,
        url=row.url,
        events=row.events,
        active=row.active,
        created_by=row.created_by,
        created_at=row.created_at,
        deliveries=counts.get(row.id, dict.fromkeys(STATUSES, 0)),
    )


def _delivery(line: LogLine) -> DeliveryOut:
    d = line.delivery
    assert d.id is not None
    return DeliveryOut(
        id=d.id,
        subscription_id=d.subscription_id,
        url=line.url,
        event_id=d.event_id,
        kind=line.kind,
        event_created_at=line.event_created_at,
        status=d.status,
        tries=d.tries,
        next_try_at=d.next_try_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
    )


def _not_found(what: str, ident: int, listing: str) -> ApiError:
    return ApiError(404, f"no {what} {ident}", hint=f"list them with GET /api/v1/crm/{listing}")


@router.get("/crm/subscriptions", dependencies=[CanIntegrate])
async def get_subscriptions(deps: DepsDep) -> list[SubscriptionOut]:
    async with deps.sessions() as session:
        rows = await list_subscriptions(session)
        counts = await counts_by_status(session)
    return [_out(r, counts) for r in rows]


@router.post("/crm/subscriptions", status_code=201, dependencies=[CanIntegrate])
async def post_subscription(
    body: SubscriptionIn, deps: DepsDep, actor: ActorDep
) -> SubscriptionCreated:
    """Subscribe a receiver; the answer carries the signing secret, this once."""
    async with deps.sessions() as session:
        try:
            row = await create_subscription(
                session,
                url=body.url,
                events=body.events,
                actor=actor,
                now=utcnow(),
                secret=body.secret,
            )
        except ValueError as exc:
            raise ApiError(422, str(exc), details=[f"body: {exc}"]) from exc
    out = _out(row, {})
    return SubscriptionCreated(**out.model_dump(), secret=row.secret)


@router.put("/crm/subscriptions/{subscription_id}/active", dependencies=[CanIntegrate])
async def put_active(subscription_id: IdPath, body: ActiveIn, deps: DepsDep) -> SubscriptionOut:
    """Pause (false) or resume (true): a paused subscription is sent nothing new."""
    async with deps.sessions() as session:
        try:
            row = await set_active(session, subscription_id=subscription_id, active=body.active)
        except KeyError as exc:
            raise _not_found("subscription", subscription_id, "subscriptions") from exc
        return _out(row, await counts_by_status(session))


@router.get("/crm/deliveries", dependencies=[CanIntegrate])
async def get_deliveries(
    deps: DepsDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    subscription_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the next (older) page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The delivery log, newest first."""
    async with deps.sessions() as session:
        lines = await log_lines(
            session,
            status=status,
            subscription_id=subscription_id,
            limit=limit,
            before_id=before_id,
        )
    return [_delivery(line) for line in lines]


@router.post("/crm/deliveries/{delivery_id}/replay", dependencies=[CanIntegrate])
async def post_replay(delivery_id: IdPath, deps: DepsDep) -> DeliveryOut:
    """Send a delivery again at the next dispatch (within seconds), with a fresh day of retries."""
    async with deps.sessions() as session:
        try:
            await replay(session, delivery_id=delivery_id, now=utcnow())
        except KeyError as exc:
            raise _not_found("delivery", delivery_id, "deliveries") from exc
        [line] = await log_lines(session, limit=1, before_id=delivery_id + 1)
    return _delivery(line)


def _range(since: date | None, until: date | None) -> tuple[date, date]:
    end = until or utcnow().date()
    start = since or end - timedelta(days=EXPORT_DAYS_DEFAULT - 1)
    if end < start:
        raise ApiError(
            422,
            f"the range ends ({end}) before it starts ({start})",
            details=[f"query.until: {end} is before since ({start})"],
            hint="give since <= until, as YYYY-MM-DD (UTC days)",
        )
    return start, end


async def _csv(
    deps: AlertDeps, body: AsyncIterator[str], name: str, start: date, end: date
) -> StreamingResponse:
    async with deps.sessions() as session:  # personal data leaves Herald: audited
        audit.record(
            session,
            kind="export",
            entity_id=name,
            action="download",
            after={"since": start.isoformat(), "until": end.isoformat()},
        )
        await session.commit()
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="herald-{name}-{start}-{end}.csv"'},
    )


_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "CSV, one row per item, UTC times",
    }
}
Since = Annotated[date | None, Query(description="first UTC day (default: 30 days before until)")]
Until = Annotated[date | None, Query(description="last UTC day, included (default: today)")]


@router.get(
    "/exports/responses.csv",
    dependencies=[CanExport],
    responses=_CSV,
    response_class=StreamingResponse,
)
async def export_responses(
    deps: DepsDep, since: Since = None, until: Until = None
) -> StreamingResponse:
    """Every customer response in the range with its alert and hand-off, streamed."""
    start, end = _range(since, until)
    return await _csv(deps, exports.responses_csv(deps, start, end), "responses", start, end)


@router.get(
    "/exports/handoffs.csv",
    dependencies=[CanExport],
    responses=_CSV,
    response_class=StreamingResponse,
)
async def export_handoffs(
    deps: DepsDep, since: Since = None, until: Until = None
) -> StreamingResponse:
    """Every hand-off created in the range with its state, streamed."""
    start, end = _range(since, until)
    return await _csv(deps, exports.handoffs_csv(deps, start, end), "handoffs", start, end)


# --- what a subscriber receives: the OpenAPI `webhooks` section --------------------------------


class WebhookCustomer(BaseModel):
    ref: str = Field(description="the company's own customer reference")


class WebhookBody(BaseModel):
    """The JSON body of every webhook POST (see docs/crm-webhooks.md)."""

    id: int = Field(description="the event id, also in Herald-Event-Id: drop one already stored")
    type: str = Field(description="the kind, e.g. handoff.completed")
    created_at: datetime = Field(description="when the change happened (UTC)")
    customer: WebhookCustomer | None
    data: dict[str, Any] = Field(description="what changed: the fields depend on the kind")


_HANDOFF = {"handoff_id": 31, "kind": "live_transfer", "alert_id": 1207}
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "response.recorded": (
        "A customer answered an alert (a keypress, an SMS reply, an email button).",
        {
            "response_id": 5120,
            "alert_id": 1207,
            "alert_type": "large_debit",
            "channel": "voice",
            "key": "1",
            "intent": "agent",
        },
    ),
    "handoff.created": (
        "A response was routed to the call centre: a live transfer, a callback or a task.",
        {**_HANDOFF, "response_id": 5120, "status": "queued"},
    ),
    **{
        f"handoff.{state}": (
            f"A hand-off moved to {state}.",
            {**_HANDOFF, "from": before, "status": state, "move": move},
        )
        for state, before, move in (
            ("queued", "offered", "release"),
            ("offered", "queued", "offer"),
            ("claimed", "queued", "claim"),
            ("connected", "offered", "connect"),
            ("completed", "connected", "complete"),
            ("abandoned", "offered", "abandon"),
            ("expired", "queued", "expire"),
            ("failed", "offered", "fail"),
        )
    },
    **{
        kind: (
            words,
            {"alert_id": 1207, "alert_type": "large_debit", "from": before, "status": status},
        )
        for kind, words, before, status in (
            ("alert.delivered", "An alert reached the customer.", "delivering", "delivered"),
            ("alert.answered", "The customer answered the alert.", "delivered", "closed"),
            ("alert.failed", "No channel could reach the customer.", "delivering", "failed"),
            ("alert.expired", "The alert ran out of time unanswered.", "delivered", "expired"),
        )
    },
    "preference.changed": (
        "Channels, language, quiet hours, opt-outs or consent changed: who, before and after.",
        {
            "alert_type": "*",
            "actor": "customer",
            "before": {"channel_order": ["voice", "sms"]},
            "after": {"channel_order": ["sms", "email"]},
        },
    ),
}
assert set(EXAMPLES) == set(KINDS), set(KINDS) ^ set(EXAMPLES)

webhooks = APIRouter()
_SIGNED = (
    "\n\nSigned: `Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>` with "
    "the subscription's secret; refuse a t more than 5 minutes away. Answer 2xx within 10 s; "
    "anything else is retried with backoff for 25 hours, in order per customer."
)


def _webhook(kind: str, words: str, data: dict[str, Any]) -> None:
    example = {
        "id": 90412,
        "type": kind,
        "created_at": "2026-03-02T09:14:05.120000+00:00",
        "customer": {"ref": "C-1001"},
        "data": data,
    }

    async def receive(body: WebhookBody) -> None:  # noqa: ARG001  # documentation only
        return None

    webhooks.post(
        kind,
        summary=kind,
        description=words + _SIGNED,
        openapi_extra={
            "requestBody": {
                "content": {"application/json": {"example": example}},
            }
        },
    )(receive)


for _kind in KINDS:
    _webhook(_kind, *EXAMPLES[_kind])
