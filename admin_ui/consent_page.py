"""The customer's confirmation page for marketing consent (/c/{token}): GET asks, POST acts.

The page speaks the language of the customer who owns the contact point (their choice on the
preferences page, else their account's locale); a link that names nobody, the browser's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from admin_ui.customer_i18n import BROKEN, browser_language, language_of, sentence
from admin_ui.rendering import page
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.links import LinkError
from alerts.models import ContactPoint
from alerts.responses.consent import confirm
from channels.i18n import N_, translations

router = APIRouter(include_in_schema=False)

ASK = N_("Receive our offers?")
ASK_WHY = N_(
    "Press the button to confirm that we may send you offers here. You can stop them at any "
    "time from the link in every offer."
)
YES = N_("Yes, send me offers")
THANKS = N_("Thank you")
DONE = N_("You have confirmed. You can change this at any time.")
NOT_FOUND = N_("We could not find it.")


def _page(
    request: Request,
    deps: AlertDeps,
    heading: str,
    message: str,
    language: str,
    **extra: object,
) -> HTMLResponse:
    """``heading``, ``message`` and ``button`` are English msgids, shown in ``language``."""
    status = int(str(extra.pop("status", 200)))
    _ = translations(language).gettext
    if isinstance(extra.get("button"), str):
        extra["button"] = _(str(extra["button"]))
    values = {"brand": deps.brand, "callcentre_number": deps.callcentre_number}
    return page(
        request,
        "unsubscribe.html",
        {**values, "title": _(heading), "heading": _(heading), "message": _(message), **extra},
        status_code=status,
        language=language,
    )


async def _owner_language(deps: AlertDeps, contact_id: int) -> str:
    async with deps.sessions() as session:
        contact = await session.get(ContactPoint, contact_id)
    return await language_of(deps, contact.customer_id if contact else None)


@router.get("/c/{token}")
async def consent_page(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    try:
        contact_id, _tag = deps.links.load_consent(token)
    except LinkError as exc:
        language = browser_language(request)
        return _page(request, deps, BROKEN, sentence(str(exc)), language, status=400)
    language = await _owner_language(deps, contact_id)
    return _page(request, deps, ASK, ASK_WHY, language, action=f"/c/{token}", button=YES)


@router.post("/c/{token}")
async def consent_post(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    try:
        contact_id, tag = deps.links.load_consent(token)
    except LinkError as exc:
        language = browser_language(request)
        return _page(request, deps, BROKEN, sentence(str(exc)), language, status=400)
    language = await _owner_language(deps, contact_id)
    if not await confirm(deps=deps, contact_id=contact_id, tag=tag, now=utcnow()):
        return _page(request, deps, BROKEN, NOT_FOUND, language, status=410)
    return _page(request, deps, THANKS, DONE, language)
