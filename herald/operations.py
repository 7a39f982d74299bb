"""The operations routes: readiness (`/readyz`) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from herald.config import Settings
from herald.health import readiness
from herald.metrics import exposition, may_scrape, refresh_from_stores

logger = logging.getLogger(__name__)


def add_operations_routes(app: FastAPI, settings: Settings) -> None:
    """Both public in alerts.access: `/metrics` checks its own token or loopback client."""

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """200 when the database, Redis and the schema are ready; 503 with the reasons."""
        checks = await readiness(request.app.state.runtime)
        ready = all(c.ok for c in checks)
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (herald.metrics): bearer token, or loopback clients only."""
        why = may_scrape(
            settings,
            client_host=request.client.host if request.client else None,
            authorization=request.headers.get("Authorization"),
        )
        if why:
            return Response(why + "\n", status_code=403, media_type="text/plain")
        try:
            await asyncio.wait_for(refresh_from_stores(request.app.state.runtime), 5)
        except Exception as exc:  # Redis or the database away: still serve what we counted
            logger.warning("metrics: queue and quarantine figures not refreshed: %s", exc)
        body, content_type = exposition()
        return Response(body, media_type=content_type)
