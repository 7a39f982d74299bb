"""One-click unsubscribe from a marketing alert type (RFC 8058), and the same from a browser.

Marketing emails carry ``List-Unsubscribe: <https://.../u/{token}>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. A mail client's POST with the body
``List-Unsubscribe=One-Click`` unsubscribes at once, without cookies or a confirmation (that is
the point of the RFC). A GET only shows a page with a button: mail scanners open every link.
The change is the customer's own, recorded like any change on their preferences page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from admin_ui.customer_i18n import BROKEN, browser_language, customer_language, sentence
from admin_ui.rendering import page
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.customers.preferences import PreferenceIn, save_preference, stored
from alerts.deps import AlertDeps
from alerts.links import LinkError
from alerts.models import Alert, Customer, DeliveryAttempt
from channels.i18n import N_, translations

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


ASK = N_("Stop these messages?")
ASK_WHY = N_(
    "Press the button and we will stop sending you these offers. "
    "Your account alerts are not affected."
)
DONE = N_("You are unsubscribed")
DONE_WHY = N_(
    "We will not send you these offers again. You can change this at any time from the "
    "manage-your-alerts link in any email from us."
)
NOT_FOUND = "we could not find the message this link belongs to"  # customer_i18n.REFUSALS


def _page(
    request: Request,
    deps: AlertDeps,
    heading: str,
    message: str,
    language: str = "en",
    **extra: Any,
) -> HTMLResponse:
    """The page in ``language``: ``heading`` and ``message`` are English msgids."""
    status = int(extra.pop("status", 200))
    _ = translations(language).gettext
    heading, message = _(heading), _(message)
    return page(
        request,
        "unsubscribe.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": heading,
            "heading": heading,
            "message": message,
            **extra,
        },
        status_code=status,
        language=language,
    )


def _broken(request: Request, deps: AlertDeps, why: str) -> HTMLResponse:
    language = browser_language(request)
    return _page(request, deps, BROKEN, sentence(why), language=language, status=400)


async def _target(deps: AlertDeps, token: str) -> tuple[int, str, str] | str:
    """(customer id, alert type, the customer's language) the token unsubscribes from, or why
    it cannot."""
    try:
        attempt_id = deps.links.load_unsubscribe(token)
    except LinkError as exc:
        return str(exc)
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        customer = await session.get(Customer, alert.customer_id) if alert else None
        if alert is None:
            return NOT_FOUND
        return alert.customer_id, alert.alert_type, await customer_language(session, customer)


async def unsubscribe(deps: AlertDeps, customer_id: int, alert_type: str, actor: str) -> bool:
    async with deps.sessions() as session:
        current = (await stored(session, customer_id)).get(alert_type, PreferenceIn())
        changed = await save_preference(
            session,
            customer_id=customer_id,
            alert_type=alert_type,
            data=current.model_copy(update={"opted_out": True}),
            actor=actor,
            now=utcnow(),
        )
        await session.commit()
    logger.info("unsubscribed customer_id=%s alert_type=%s by %s", customer_id, alert_type, actor)
    return changed


@router.get("/u/{token}")
async def unsubscribe_page(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    target = await _target(deps, token)
    if isinstance(target, str):
        return _broken(request, deps, target)
    return _page(request, deps, ASK, ASK_WHY, language=target[2], action=f"/u/{token}")


@router.post("/u/{token}", response_model=None)
async def unsubscribe_post(token: str, request: Request, deps: DepsDep) -> Response:
    target = await _target(deps, token)
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if isinstance(target, str):
        if one_click:
            return PlainTextResponse(target, status_code=400)
        return _broken(request, deps, target)
    customer_id, alert_type, language = target
    actor = "customer (one-click unsubscribe)" if one_click else "customer (unsubscribe page)"
    await unsubscribe(deps, customer_id, alert_type, actor)
    if one_click:
        return PlainTextResponse("unsubscribed")
    return _page(request, deps, DONE, DONE_WHY, language=language)
