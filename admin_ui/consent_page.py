"""The customer's confirmation page for marketing consent (/c/{token}): GET asks, POST acts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.links import LinkError
from alerts.responses.consent import confirm

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, deps: AlertDeps, heading: str, message: str, **extra: object
) -> HTMLResponse:
    status = int(str(extra.pop("status", 200)))
    values = {"brand": deps.brand, "callcentre_number": deps.callcentre_number}
    return page(
        request,
        "unsubscribe.html",
        {**values, "title": heading, "heading": heading, "message": message, **extra},
        status_code=status,
    )


@router.get("/c/{token}")
async def consent_page(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    try:
        deps.links.load_consent(token)
    except LinkError as exc:
        return _page(request, deps, "This link does not work", f"{exc}.", status=400)
    return _page(
        request,
        deps,
        "Receive our offers?",
        "Press the button to confirm that we may send you offers here. You can stop them at "
        "any time from the link in every offer.",
        action=f"/c/{token}",
        button="Yes, send me offers",
    )


@router.post("/c/{token}")
async def consent_post(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    try:
        contact_id, tag = deps.links.load_consent(token)
    except LinkError as exc:
        return _page(request, deps, "This link does not work", f"{exc}.", status=400)
    if not await confirm(deps=deps, contact_id=contact_id, tag=tag, now=utcnow()):
        return _page(request, deps, "This link does not work", "We could not find it.", status=410)
    return _page(request, deps, "Thank you", "You have confirmed. You can change this at any time.")
