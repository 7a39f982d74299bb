"""Webhook subscriptions: a company's endpoint, the kinds it wants, its signing secret."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import WebhookDelivery, WebhookSubscription
from alerts.outbox import KINDS


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
    await session.commit()
    await session.refresh(row)
    return row


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    return list(
        await session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.id)))
    )


async def deactivate(session: AsyncSession, *, subscription_id: int) -> WebhookSubscription:
    row = await session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise KeyError(subscription_id)
    row.active = False
    session.add(row)
    await session.commit()
    return row


async def delivery_log(
    session: AsyncSession, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[WebhookDelivery]:
    """Newest first; ``status`` pending, delivered or failed."""
    query = select(WebhookDelivery).order_by(col(WebhookDelivery.id).desc())
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list((await session.exec(query.offset(offset).limit(limit))).all())
