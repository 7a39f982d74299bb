"""Webhook subscriptions: a company's endpoint, the kinds it wants, its signing secret."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from alerts.outbox import KINDS

STATUSES = ("pending", "delivered", "failed")


def check_events(events: list[str]) -> list[str]:
    """The kinds asked for, each known (``*``, ``<entity>.*`` or a kind); ValueError says which."""
    entities = {k.split(".", 1)[0] for k in KINDS}
    bad = [
        e
        for e in events
        if e != "*" and e not in KINDS and not (e.endswith(".*") and e[:-2] in entities)
    ]
    if bad or not events:
        what = "unknown event kind(s) " + ", ".join(map(repr, bad)) if bad else "no event kind"
        raise ValueError(
            f"{what}; use '*', an entity such as 'handoff.*', or one of: {', '.join(KINDS)}"
        )
    return list(dict.fromkeys(events))


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL: give the receiver's full address")
    return url


async def create_subscription(
    session: AsyncSession,
    *,
    url: str,
    events: list[str],
    actor: str,
    now: datetime,
    secret: str | None = None,
) -> WebhookSubscription:
    """Store and commit a subscription; the secret (generated unless given) signs its posts."""
    row = WebhookSubscription(
        url=check_url(url),
        events=check_events(events),
        secret=secret or f"whsec_{secrets.token_urlsafe(32)}",
        created_by=actor[:100],
        created_at=now,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    audit.record(  # never the secret
        session,
        kind="webhook_subscription",
        entity_id=row.id,
        action="create",
        after={"url": row.url, "events": row.events},
    )
    await session.commit()
    await session.refresh(row)
    return row


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    return list(
        await session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.id)))
    )


async def set_active(
    session: AsyncSession, *, subscription_id: int, active: bool
) -> WebhookSubscription:
    """Pause (``active`` False) or resume a subscription; KeyError if unknown. While paused,
    events it wants are not fanned out to it; resumed, it gets the events from then on."""
    row = await session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise KeyError(subscription_id)
    if row.active != active:
        audit.record(
            session,
            kind="webhook_subscription",
            entity_id=subscription_id,
            action="resume" if active else "pause",
            before={"active": row.active},
            after={"active": active},
        )
    row.active = active
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def delivery_log(
    session: AsyncSession,
    *,
    status: str | None = None,
    subscription_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[WebhookDelivery]:
    """Newest first; ``status`` pending, delivered or failed."""
    query = select(WebhookDelivery).order_by(col(WebhookDelivery.id).desc())
    if status:
        query = query.where(WebhookDelivery.status == status)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    return list((await session.exec(query.offset(offset).limit(limit))).all())


@dataclass(frozen=True, slots=True)
class LogLine:
    """A delivery with what it carried, for the delivery log."""

    delivery: WebhookDelivery
    kind: str
    event_created_at: datetime
    url: str


async def log_lines(
    session: AsyncSession,
    *,
    status: str | None = None,
    subscription_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[LogLine]:
    """The delivery log, newest first, each line with its event's kind and the receiver."""
    query = (
        select(WebhookDelivery, OutboxEvent.kind, OutboxEvent.created_at, WebhookSubscription.url)
        .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.event_id))
        .join(
            WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id)
        )
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    if status:
        query = query.where(WebhookDelivery.status == status)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if before_id is not None:
        query = query.where(col(WebhookDelivery.id) < before_id)
    rows = (await session.exec(query)).all()
    return [LogLine(d, kind, at, url) for d, kind, at, url in rows]


async def counts_by_status(session: AsyncSession) -> dict[int, dict[str, int]]:
    """subscription id -> {status: deliveries}, every status present (0 when none)."""
    query = select(
        WebhookDelivery.subscription_id, WebhookDelivery.status, sa.func.count()
    ).group_by(col(WebhookDelivery.subscription_id), col(WebhookDelivery.status))
    found: dict[int, dict[str, int]] = {}
    for sub_id, status, n in (await session.exec(query)).all():
        found.setdefault(sub_id, dict.fromkeys(STATUSES, 0))[status] = n
    return found
