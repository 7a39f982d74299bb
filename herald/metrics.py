"""Metrics exposition: `/metrics` on the API, each worker's own metrics port, who may scrape.

The metrics themselves are defined in ``channels.metrics`` and counted where things happen.
Each process keeps its own counters (no multiprocess mode): the API's ``/metrics`` shows what
the API process counted (webhooks, uploads) plus the figures read from Redis and the database on
each scrape (queue depth, age of the oldest due job, jobs in progress, open quarantine); each
``herald worker`` serves what it counted (sends, outcomes, retries, decisions, pacing) on
``HERALD_METRICS__WORKER_PORT``. Prometheus adds the ``instance`` label, so sums over
instances are the totals. ``herald up`` runs API and workers in one process: one ``/metrics``.

Access: with ``HERALD_METRICS__TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``;
without one, only loopback clients may scrape (``alerts.access`` lists the route as public
because this check, not a staff login, guards it).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import func
from sqlmodel import col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts.models import QuarantinedRecord
from channels import metrics
from herald.runtime import DEFAULT_QUEUE, QUEUES

if TYPE_CHECKING:
    from aiohttp import web

    from herald.config import Settings
    from herald.runtime import Runtime

logger = logging.getLogger(__name__)
QUEUE_NAMES = [*QUEUES.values(), DEFAULT_QUEUE]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def may_scrape(settings: Settings, *, client_host: str | None, authorization: str | None) -> str:
    """ "" when this scrape is allowed, else why not (the 403 body says what to do)."""
    token = settings.metrics.token.get_secret_value() if settings.metrics.token else ""
    if token:
        sent = (authorization or "").removeprefix("Bearer ").strip()
        if sent and secrets.compare_digest(sent.encode(), token.encode()):
            return ""
        return "send Authorization: Bearer <HERALD_METRICS__TOKEN> to read the metrics"
    if is_loopback(client_host):
        return ""
    return (
        "metrics are served to loopback clients only: scrape from this machine, or set "
        "HERALD_METRICS__TOKEN and send it as a Bearer token"
    )


async def refresh_from_stores(runtime: Runtime) -> None:
    """Set the gauges that describe shared state: the arq queues in Redis, open quarantine."""
    pool = runtime.pool
    now_ms = time.time() * 1000
    for name in QUEUE_NAMES:
        due = int(await pool.zcount(name, "-inf", now_ms))
        total = int(await pool.zcard(name))
        metrics.QUEUE_DEPTH.labels(queue=name, due="yes").set(due)
        metrics.QUEUE_DEPTH.labels(queue=name, due="no").set(total - due)
        oldest = await pool.zrangebyscore(name, "-inf", now_ms, start=0, num=1, withscores=True)
        age = (now_ms - float(oldest[0][1])) / 1000 if oldest else 0.0
        metrics.QUEUE_OLDEST_SECONDS.labels(queue=name).set(max(age, 0.0))
    running = 0
    async for _ in pool.scan_iter(match="arq:in-progress:*", count=500):
        running += 1
    metrics.JOBS_IN_PROGRESS.set(running)
    async with runtime.deps.sessions() as session:
        query = select(func.count()).where(col(QuarantinedRecord.status) == "open")
        metrics.QUARANTINE_OPEN.set(int((await session.exec(query)).one()))


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class WebhookTimer:
    """Observes how long each provider webhook (``/webhooks/...``) takes, by route and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.WEBHOOK_SECONDS.labels(route=route, status=str(status)).observe(
                time.perf_counter() - started
            )


async def serve_worker_metrics(settings: Settings) -> web.AppRunner | None:
    """Start the worker's own `/metrics` (HERALD_METRICS__WORKER_PORT); None when unset."""
    port = settings.metrics.worker_port
    if port is None:
        return None
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        why = may_scrape(
            settings,
            client_host=request.remote,
            authorization=request.headers.get("Authorization"),
        )
        if why:
            return web.Response(status=403, text=why + "\n")
        body, content_type = exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.metrics.worker_host, port).start()
    logger.info("worker metrics at http://%s:%s/metrics", settings.metrics.worker_host, port)
    return runner
