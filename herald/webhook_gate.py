"""Load shedding for provider webhooks: a bounded number in flight, a fast 503 beyond it.

A process that takes more webhooks than it can answer queues them all (for a pooled database
connection, then for the CPU) until every one is late and some fail after the pool's 30 s
timeout. The gate answers the webhook that would exceed ``limit`` at once with a 503 and
``Retry-After``, before reading its body or touching the database: the ones admitted keep their
latency, and the refused one was not applied, so the provider's retry (or, for a status, the
sweep's provider lookup) applies it later, once. Signatures are still checked for every
request admitted; a refused request does nothing, so it needs none.
"""

from __future__ import annotations

import logging

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

WEBHOOKS = "/webhooks/"
RETRY_AFTER_SECONDS = 1


def is_webhook(scope: Scope) -> bool:
    return scope["type"] == "http" and str(scope.get("path", "")).startswith(WEBHOOKS)


class WebhookGate:
    """At most ``limit`` provider webhooks in this process at once (0: no limit)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.shed = 0  # refused since start (herald_webhook_seconds counts them as status 503)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.limit or not is_webhook(scope):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.shed += 1
            if self.shed % 100 == 1:
                logger.warning(
                    "webhook refused with 503: %s already in flight (shed so far: %s) path=%s",
                    self.in_flight,
                    self.shed,
                    scope.get("path"),
                )
            await _busy(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _busy(send: Send) -> None:
    body = b"busy: retry later\n"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SessionsOutsideWebhooks(SessionMiddleware):
    """The admin session cookie, for everything but the provider webhooks (they carry none)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_webhook(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
