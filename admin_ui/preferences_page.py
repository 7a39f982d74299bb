"""The customer's own preferences page (/p/{token}): a signed link, no login, every change recorded.

The signed token is the credential (alerts.links, 90 days); the form also carries an HMAC of the
token, so a form posted from another site without loading this page is refused. The page shows
the default first and then every alert type; each section's fields are compared with what the
page showed, and only the fields the customer changed are stored (an untouched field that
inherits keeps inheriting).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from fastapi import APIRouter, Request
from itsdangerous import SignatureExpired
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import HTMLResponse

from admin_ui.preferences_form import (
    CHANNEL_PLURAL,
    LANGUAGES,
    MANDATORY,
    Loaded,
    Section,
    choices_of,
    contact_line,
    describe,
    languages_of,
    plan,
    sections_of,
)
from admin_ui.rendering import page
from alerts.alert_types.store import load_specs
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.customers.preferences import contact_points, reset_preference, save_preference, stored
from alerts.deps import AlertDeps
from alerts.links import LinkError
from alerts.models import Customer

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ACTOR = "customer (preferences page)"
USE_LATEST = "To change your alert settings, please use the link in the latest alert we sent you."


class Problem(Exception):
    """Why the page cannot be shown, as a page for the customer."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message


def form_key(request: Request, token: str) -> str:
    """The per-form CSRF value: an HMAC of the token under the server's secret."""
    secret: str = request.app.state.settings.secret_key.get_secret_value()
    message = b"herald.preferences-form:" + token.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _customer_id(deps: AlertDeps, token: str) -> int:
    try:
        return deps.links.load_preferences(token)
    except LinkError as exc:
        expired = isinstance(exc.__cause__, SignatureExpired)
        logger.info("preferences link refused expired=%s", expired)
        if expired:
            days = deps.links.preferences_max_age_seconds // 86400
            raise Problem(
                410,
                "This link has expired",
                f"Links to your settings work for {days} days. {USE_LATEST}",
            ) from exc
        message = str(exc)
        raise Problem(
            400, "This link does not work", f"{message[:1].upper()}{message[1:]}. {USE_LATEST}"
        ) from exc


async def _load(session: AsyncSession, customer_id: int) -> Loaded:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise Problem(
            410, "This link is no longer valid", f"We could not find your details. {USE_LATEST}"
        )
    contacts = await contact_points(session, customer_id)
    return Loaded(
        customer=customer,
        contacts=contacts,
        prefs=await stored(session, customer_id),
        specs=await load_specs(session),
        choices=choices_of(contacts),
    )


def _problem(request: Request, deps: AlertDeps, problem: Problem) -> HTMLResponse:
    return page(
        request,
        "response_message.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": problem.heading,
            "heading": problem.heading,
            "message": problem.message,
            "problem": True,
        },
        status_code=problem.status,
    )


def _render(
    request: Request,
    deps: AlertDeps,
    token: str,
    loaded: Loaded,
    sections: list[Section],
    *,
    saved: list[tuple[str, list[str]]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    customer = loaded.customer
    first_name = customer.name.split()[0] if customer.name.strip() else ""
    account_language = customer.locale.split("-")[0].lower()
    return page(
        request,
        "preferences.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": "Your alert settings",
            "first_name": first_name,
            "timezone": customer.timezone,
            "contacts": [contact_line(c) for c in loaded.contacts],
            "sections": sections,
            "languages": languages_of(loaded),
            "account_language": LANGUAGES.get(account_language, account_language),
            "channel_plural": CHANNEL_PLURAL,
            "mandatory_words": MANDATORY,
            "action": f"/p/{token}",
            "form_key": form_key(request, token),
            "saved": saved,
            "has_errors": any(s.errors for s in sections),
        },
        status_code=status,
    )


@router.get("/p/{token}")
async def preferences_page(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    """The customer's settings as a form; showing it changes nothing."""
    try:
        customer_id = _customer_id(deps, token)
        async with deps.sessions() as session:
            loaded = await _load(session, customer_id)
    except Problem as problem:
        return _problem(request, deps, problem)
    return _render(request, deps, token, loaded, sections_of(loaded))


@router.post("/p/{token}")
async def save_preferences(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    """Store the fields the customer changed, record each change, and say what changed."""
    try:
        customer_id = _customer_id(deps, token)
    except Problem as problem:
        return _problem(request, deps, problem)
    form = await request.form()
    sent_key = form.get("form_key")
    if not isinstance(sent_key, str) or not hmac.compare_digest(
        sent_key.encode(), form_key(request, token).encode()
    ):
        logger.warning("preferences form refused: missing or wrong form key")
        return _problem(
            request,
            deps,
            Problem(
                403,
                "Nothing was changed",
                "This form did not come from your settings page, so we did not accept it. "
                f"{USE_LATEST}",
            ),
        )
    now = utcnow()
    try:
        async with deps.sessions() as session:
            loaded = await _load(session, customer_id)
            sections = sections_of(loaded)
            todo = plan(form, loaded, sections)
            if any(s.errors for s in sections):
                return _render(request, deps, token, loaded, sections, status=400)
            saved: list[tuple[str, list[str]]] = []
            for step in todo:
                section, data, changed = step.section, step.data, step.changed
                if data is None:
                    await reset_preference(
                        session,
                        customer_id=customer_id,
                        alert_type=section.key,
                        actor=ACTOR,
                        now=now,
                    )
                    saved.append((section.title, ["Back to your usual settings."]))
                    continue
                try:
                    changed_now = await save_preference(
                        session,
                        customer_id=customer_id,
                        alert_type=section.key,
                        data=data,
                        actor=ACTOR,
                        now=now,
                    )
                except ValueError as exc:  # a contact point that is not theirs: a forged form
                    logger.warning("preferences refused customer_id=%s: %s", customer_id, exc)
                    raise Problem(
                        400,
                        "Nothing was changed",
                        f"Something in the form was not right. {USE_LATEST}",
                    ) from exc
                if changed_now:
                    words = [describe(section, n, getattr(data, n), loaded) for n in changed]
                    saved.append((section.title, words))
            await session.commit()
            logger.info(
                "preferences saved by the customer customer_id=%s sections=%s",
                customer_id,
                len(saved),
            )
            loaded = await _load(session, customer_id)
    except Problem as problem:
        return _problem(request, deps, problem)
    return _render(request, deps, token, loaded, sections_of(loaded), saved=saved)
