"""What the alert services need from the outside world, handed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.links import LinkSigner
from channels.base import Channel


class StepQueue(Protocol):
    """Enqueues a delivery step; must be idempotent for the same (alert, step)."""

    async def enqueue_step(
        self, *, alert_id: int, step_index: int, channel: str, defer_seconds: float = 0
    ) -> bool:
        """True when queued now; False when that step's job is already queued or running."""
        ...


@dataclass
class AlertDeps:
    sessions: async_sessionmaker[AsyncSession]
    channels: dict[str, Channel]  # by kind: "voice", "sms", "email"
    queue: StepQueue
    links: LinkSigner
    public_url: str
    callcentre_number: str
    brand: str = "Herald Bank"
    default_threshold: Decimal = Decimal("500.00")
    default_wait_seconds: int = 300
    reply_window_hours: int = 72
    max_transient_tries: int = 5
