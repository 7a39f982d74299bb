"""Outbox events to the subscriptions: fan out, post signed, retry with backoff, replay.

Delivery is at least once (a receiver drops repeats by ``Herald-Event-Id``) and in order per
customer and subscription: while a customer's earlier event waits for its retry, their later
events wait behind it. A delivery is retried with doubling waits (10 s up to an hour) for
``GIVE_UP_AFTER`` (a day and a bit), then marked failed and shown in the delivery log, where it
can be replayed; a failed one no longer holds the customer's later events back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from pydantic import JsonValue
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.crm.signing import EVENT_HEADER, HEADER, sign
from alerts.deps import AlertDeps
from alerts.models import (
    TRIAL_CUSTOMER_REF,
    Customer,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

FIRST_WAIT_S = 10
MAX_WAIT_S = 3600
GIVE_UP_AFTER = timedelta(hours=25)
TIMEOUT_S = 10.0
BATCH = 200


def wants(subscription: WebhookSubscription, kind: str) -> bool:
    """``*`` is every kind, ``handoff.*`` every kind of an entity, else the exact kind."""
    for wanted in subscription.events:
        if wanted in ("*", kind) or (wanted.endswith(".*") and kind.startswith(wanted[:-1])):
            return True
    return False


def wait_after(tries: int) -> timedelta:
    """How long to wait after the ``tries``-th failed try."""
    return timedelta(seconds=min(FIRST_WAIT_S * 2 ** max(tries - 1, 0), MAX_WAIT_S))


async def fan_out(session: AsyncSession, *, now: datetime, limit: int = 1000) -> int:
    """One delivery row per (new outbox event, active subscription that wants it)."""
    events = (
        await session.exec(
            select(OutboxEvent)
            .where(col(OutboxEvent.fanned_out_at).is_(None))
            .order_by(col(OutboxEvent.id))
            .limit(limit)
        )
    ).all()
    if not events:
        return 0
    subscriptions = (
        await session.exec(select(WebhookSubscription).where(col(WebhookSubscription.active)))
    ).all()
    # The studio's trials happen to a made-up customer: the CRM hears nothing of them.
    trial = set(
        (
            await session.exec(
                select(Customer.id).where(Customer.external_ref == TRIAL_CUSTOMER_REF)
            )
        ).all()
    )
    made = 0
    for event in events:
        assert event.id is not None
        for sub in subscriptions if event.customer_id not in trial else ():
            if sub.id is not None and wants(sub, event.kind):
                session.add(
                    WebhookDelivery(
                        subscription_id=sub.id,
                        event_id=event.id,
                        customer_id=event.customer_id,
                        next_try_at=now,
                        created_at=now,
                    )
                )
                made += 1
        event.fanned_out_at = now
        session.add(event)
    await session.commit()
    return made


def payload(event: OutboxEvent, customer_ref: str | None) -> bytes:
    """The body a subscriber receives (documented in docs/crm-webhooks.md)."""
    body: dict[str, JsonValue] = {
        "id": event.id,
        "type": event.kind,
        "created_at": event.created_at.isoformat(),
        "customer": {"ref": customer_ref} if customer_ref else None,
        "data": event.data,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class Run:
    """What one pass of ``deliver_due`` did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0  # waiting behind an earlier event of the same customer
    errors: list[str] = field(default_factory=list)


async def _post(
    client: httpx.AsyncClient, sub: WebhookSubscription, event_id: int, body: bytes
) -> tuple[int | None, str]:
    headers = {
        "Content-Type": "application/json",
        HEADER: sign(sub.secret, body),
        EVENT_HEADER: str(event_id),
        "User-Agent": "Herald-Webhooks/1",
    }
    try:
        reply = await client.post(sub.url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    if 200 <= reply.status_code < 300:
        return reply.status_code, ""
    return reply.status_code, f"HTTP {reply.status_code}: {reply.text[:200]}"


async def deliver_due(
    *, deps: AlertDeps, now: datetime, client: httpx.AsyncClient | None = None
) -> Run:
    """Post every pending delivery that is due, oldest first, keeping each customer's order."""
    run = Run()
    own = client is None
    http = client or httpx.AsyncClient()
    try:
        async with deps.sessions() as session:
            rows = (
                await session.exec(
                    select(WebhookDelivery, OutboxEvent, WebhookSubscription, Customer.external_ref)
                    .join(OutboxEvent, col(OutboxEvent.id) == WebhookDelivery.event_id)
                    .join(
                        WebhookSubscription,
                        col(WebhookSubscription.id) == WebhookDelivery.subscription_id,
                    )
                    .outerjoin(Customer, col(Customer.id) == WebhookDelivery.customer_id)
                    .where(WebhookDelivery.status == "pending")
                    .order_by(col(WebhookDelivery.id))
                    .limit(BATCH)
                )
            ).all()
            held: set[tuple[int, int]] = set()
            for delivery, event, sub, ref in rows:
                key = (delivery.subscription_id, delivery.customer_id or -(delivery.id or 0))
                if key in held or delivery.next_try_at > now or not sub.active:
                    held.add(key)
                    run.held += 1
                    continue
                assert event.id is not None
                code, error = await _post(http, sub, event.id, payload(event, ref))
                delivery.tries += 1
                delivery.last_status_code = code
                delivery.last_error = error
                if not error:
                    delivery.status, delivery.delivered_at = "delivered", now
                    run.delivered += 1
                elif now - delivery.created_at >= GIVE_UP_AFTER:
                    delivery.status = "failed"
                    run.failed += 1
                    logger.error(
                        "webhook delivery %s gave up after %s tries: %s",
                        delivery.id,
                        delivery.tries,
                        error,
                    )
                else:
                    delivery.next_try_at = now + wait_after(delivery.tries)
                    held.add(key)
                    run.retrying += 1
                    run.errors.append(error)
                    logger.warning(
                        "webhook delivery %s to subscription %s failed (%s), retry at %s",
                        delivery.id,
                        sub.id,
                        error,
                        delivery.next_try_at.isoformat(),
                    )
                session.add(delivery)
                await session.commit()  # each outcome is kept, whatever happens next
    finally:
        if own:
            await http.aclose()
    return run


async def dispatch(*, deps: AlertDeps, now: datetime) -> Run:
    """Fan new events out, then deliver what is due (the arq cron job's body)."""
    async with deps.sessions() as session:
        await fan_out(session, now=now)
    return await deliver_due(deps=deps, now=now)


async def replay(session: AsyncSession, *, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Try a delivery again now (a failed one, or one a receiver lost); KeyError if unknown."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise KeyError(delivery_id)
    audit.record(
        session,
        kind="webhook_delivery",
        entity_id=delivery_id,
        action="replay",
        before={"status": delivery.status, "tries": delivery.tries},
        after={"status": "pending", "tries": delivery.tries},
    )
    delivery.status, delivery.next_try_at = "pending", now
    delivery.created_at = now  # a fresh day of retries
    session.add(delivery)
    await session.commit()
    return delivery


async def dispatch_job(ctx: dict[str, AlertDeps]) -> str:
    """arq cron entry point (default queue, every few seconds)."""
    from alerts.columns import utcnow

    run = await dispatch(deps=ctx["deps"], now=utcnow())
    return f"delivered {run.delivered}, retrying {run.retrying}, failed {run.failed}"
