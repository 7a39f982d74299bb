"""The API's documentation pages (/docs, /redoc) with their assets served by Herald itself.

FastAPI's defaults load Swagger UI and ReDoc from a CDN, so the pages are blank without internet.
The same assets come here from an installed Python package (``fastapi-offline`` ships them) and
are mounted under ``/docs/assets``. The pages also carry a Content-Security-Policy allowing
only Herald's own origin, so nothing a bundle would fetch from elsewhere (ReDoc's footer shows
Redocly's logo from their CDN) leaves the browser.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
PREFIX = "/docs/assets"
# Swagger UI starts from an inline script; both style inline; ReDoc runs a worker from a blob.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _own_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def add_docs(app: FastAPI) -> None:
    """Mount the assets and the two pages; create the app with docs_url=None, redoc_url=None."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _own_origin_only(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                oauth2_redirect_url="/docs/oauth2-redirect",
                swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
                swagger_css_url=f"{PREFIX}/swagger-ui.css",
                swagger_favicon_url=f"{PREFIX}/favicon.png",
            )
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _own_origin_only(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                redoc_favicon_url=f"{PREFIX}/favicon.png",
                with_google_fonts=False,
            )
        )
