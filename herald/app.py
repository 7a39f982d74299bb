"""FastAPI app factory: API, webhooks, response pages, admin UI; runtime built in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from admin_ui.preferences_page import router as preferences_page_router
from admin_ui.rendering import STATIC_DIR
from admin_ui.routes import PAGE_HANDLERS
from admin_ui.routes import router as admin_router
from admin_ui.studio.access import StudioForbidden, forbidden_page
from admin_ui.studio.routes import router as studio_router
from alerts.api.alert_types import router as alert_types_router
from alerts.api.channels import router as channels_router
from alerts.api.crm import router as crm_router
from alerts.api.crm import webhooks as crm_webhooks
from alerts.api.customers import router as api_router
from alerts.api.errors import HANDLERS
from alerts.api.ingest import router as ingest_router
from alerts.api.preferences import router as preferences_router
from alerts.api.recordings import media_router as recordings_media_router
from alerts.api.recordings import router as recordings_router
from alerts.api.reports import router as reports_api_router
from alerts.api.webhooks import router as webhook_router
from alerts.audit import audit_scope
from callcentre.api import router as callcentre_router
from callcentre.staffing import agents_needed
from herald.api_docs import add_docs
from herald.config import Settings
from herald.metrics import WebhookTimer
from herald.migrate import SchemaNotCurrentError, ensure_schema
from herald.operations import add_operations_routes
from herald.runtime import Runtime
from herald.webhook_gate import SessionsOutsideWebhooks, WebhookGate


class AuditScope:
    """Each request starts with no one acting (alerts.audit): the authentication dependencies
    say who is, so nothing carries over from one request to the next."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with audit_scope():
            await self.app(scope, receive, send)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The web app. With `runtime` given (tests, `herald up`), the caller owns its lifecycle."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        rt = runtime or await Runtime.start(settings)
        if own:
            try:
                await ensure_schema(rt.engine, embedded=settings.database_url is None)
            except SchemaNotCurrentError:
                await rt.close()
                raise
        app.state.deps = rt.deps
        app.state.runtime = rt
        try:
            yield
        finally:
            if app.state.background:  # let running ingestions finish their current file
                await asyncio.wait(app.state.background, timeout=60)
            if own:
                await rt.close()

    app = FastAPI(
        title="Herald",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by add_docs, with assets from Herald itself (no CDN)
        redoc_url=None,
        description="Proactive alerts by voice, SMS and email, with answers routed to "
        "the call centre.",
    )
    for exception, handler in HANDLERS.items():  # the error envelope, under /api/ only
        app.add_exception_handler(exception, handler)
    for exception, handler in PAGE_HANDLERS.items():  # the admin pages' 403s
        app.add_exception_handler(exception, handler)
    app.state.settings = settings
    app.state.background = set()  # running background ingestions (strong references)
    app.state.api_token = settings.api_token.get_secret_value()
    app.state.report_staffing = agents_needed  # the reports' Erlang C (alerts.reports.export)
    if runtime is not None:
        app.state.deps = runtime.deps
        app.state.runtime = runtime
    app.add_middleware(
        SessionsOutsideWebhooks,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="herald_session",
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    app.add_middleware(AuditScope)
    # At most this many provider webhooks at once; beyond, a fast 503 (herald.webhook_gate).
    app.add_middleware(WebhookGate, limit=settings.webhook_max_in_flight)
    app.add_middleware(WebhookTimer)
    # The provider webhooks first: the router tries routes in order, and they are the hot path.
    app.include_router(webhook_router)
    app.include_router(api_router)
    app.include_router(alert_types_router)
    app.include_router(channels_router)
    app.include_router(recordings_router)
    app.include_router(recordings_media_router)  # public: Twilio fetches the audio
    app.include_router(preferences_router)
    app.include_router(preferences_page_router)
    app.include_router(ingest_router)
    app.include_router(callcentre_router)
    app.include_router(crm_router)
    app.webhooks.include_router(crm_webhooks)  # documented in the OpenAPI, sent by Herald
    app.include_router(reports_api_router)
    app.include_router(admin_router)
    app.include_router(studio_router)
    app.add_exception_handler(StudioForbidden, forbidden_page)
    # Herald's own browser scripts (the studio's), served by Herald: nothing from a CDN.
    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")

    add_docs(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    add_operations_routes(app, settings)  # /readyz and /metrics (docs/operations.md)

    return app
