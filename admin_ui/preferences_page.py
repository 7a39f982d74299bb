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

from admin_ui.customer_i18n import (
    BROKEN,
    EXPIRED,
    alert_type_name,
    browser_language,
    customer_language,
    message_page,
    sentence,
)
from admin_ui.preferences_applies import applicable
from admin_ui.preferences_form import (
    ALL_ALERTS,
    CHANNEL_LABEL,
    CHANNEL_PLURAL,
    MANDATORY,
    NO_CHANNEL,
    Loaded,
    Planned,
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
from channels.i18n import LANGUAGE_NAMES, N_, language_for, translations

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ACTOR = "customer (preferences page)"
USE_LATEST = N_(
    "To change your alert settings, please use the link in the latest alert we sent you."
)
NOTHING_CHANGED = N_("Nothing was changed")
DAYS = "Links to your settings work for %(count)d days."  # the ngettext in _problem


class Problem(Exception):
    """Why the page cannot be shown, as a page for the customer (English msgids; ``message``
    is followed by USE_LATEST)."""

    def __init__(self, status: int, heading: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message
        self.values = values


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
            raise Problem(410, EXPIRED, DAYS, count=days) from exc
        raise Problem(400, BROKEN, sentence(str(exc))) from exc


async def _load(session: AsyncSession, customer_id: int) -> Loaded:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise Problem(
            410, N_("This link is no longer valid"), N_("We could not find your details.")
        )
    contacts = await contact_points(session, customer_id)
    prefs = await stored(session, customer_id)
    language = await customer_language(session, customer)
    specs = [s for s in await load_specs(session) if s.enabled]
    applying = await applicable(session, customer_id=customer_id, specs=specs, contacts=contacts)
    return Loaded(
        customer=customer,
        contacts=contacts,
        prefs=prefs,
        specs=[s for s in specs if s.key in applying or s.key in prefs],
        choices=choices_of(contacts, language),
        language=language,
    )


def _problem(
    request: Request, deps: AlertDeps, problem: Problem, language: str | None = None
) -> HTMLResponse:
    language = language or browser_language(request)
    t = translations(language)
    if problem.message == DAYS:
        days = int(str(problem.values["count"]))
        first = t.ngettext(
            "Links to your settings work for %(count)d day.",
            "Links to your settings work for %(count)d days.",
            days,
        ) % {"count": days}
    else:
        first = t.gettext(problem.message)
    return message_page(
        request,
        deps,
        t.gettext(problem.heading),
        f"{first} {t.gettext(USE_LATEST)}",
        language=language,
        status=problem.status,
        problem=True,
        translate=False,
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
    t = loaded.t
    account_language = language_for(customer.locale)
    return page(
        request,
        "preferences.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": t.gettext("Your alert settings"),
            "first_name": first_name,
            "timezone": customer.timezone,
            "contacts": [contact_line(c, loaded.language) for c in loaded.contacts],
            "sections": sections,
            "languages": languages_of(loaded),
            "account_language": LANGUAGE_NAMES[account_language],
            "channel_plural": {k: t.gettext(v) for k, v in CHANNEL_PLURAL.items()},
            "channel_label": {k: t.gettext(v) for k, v in CHANNEL_LABEL.items()},
            "no_channel": {k: t.gettext(v) for k, v in NO_CHANNEL.items()},
            "mandatory_words": t.gettext(MANDATORY),
            "action": f"/p/{token}",
            "form_key": form_key(request, token),
            "saved": saved,
            "has_errors": any(s.errors for s in sections),
        },
        status_code=status,
        language=loaded.language,
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


def _saved_words(done: list[Planned], loaded: Loaded) -> list[tuple[str, list[str]]]:
    """What changed, as the confirmation says it, in the page's (perhaps new) language."""
    t = loaded.t
    out = []
    for step in done:
        section = step.section
        title = (
            t.gettext(ALL_ALERTS)
            if section.is_default
            else alert_type_name(
                next((s.name for s in loaded.specs if s.key == section.key), section.title),
                loaded.language,
            )
        )
        if step.data is None:
            out.append((title, [t.gettext("Back to your usual settings.")]))
            continue
        out.append(
            (
                title,
                [describe(section, n, getattr(step.data, n), loaded, t) for n in step.changed],
            )
        )
    return out


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
                NOTHING_CHANGED,
                N_("This form did not come from your settings page, so we did not accept it."),
            ),
        )
    now = utcnow()
    language: str | None = None
    try:
        async with deps.sessions() as session:
            loaded = await _load(session, customer_id)
            language = loaded.language
            sections = sections_of(loaded)
            todo = plan(form, loaded, sections)
            if any(s.errors for s in sections):
                return _render(request, deps, token, loaded, sections, status=400)
            done: list[Planned] = []
            for step in todo:
                if step.data is None:
                    await reset_preference(
                        session,
                        customer_id=customer_id,
                        alert_type=step.section.key,
                        actor=ACTOR,
                        now=now,
                    )
                    done.append(step)
                    continue
                try:
                    changed_now = await save_preference(
                        session,
                        customer_id=customer_id,
                        alert_type=step.section.key,
                        data=step.data,
                        actor=ACTOR,
                        now=now,
                    )
                except ValueError as exc:  # a contact point that is not theirs: a forged form
                    logger.warning("preferences refused customer_id=%s: %s", customer_id, exc)
                    raise Problem(
                        400, NOTHING_CHANGED, N_("Something in the form was not right.")
                    ) from exc
                if changed_now:
                    done.append(step)
            await session.commit()
            logger.info(
                "preferences saved by the customer customer_id=%s sections=%s",
                customer_id,
                len(done),
            )
            loaded = await _load(session, customer_id)  # a new language speaks at once
    except Problem as problem:
        return _problem(request, deps, problem, language)
    saved = _saved_words(done, loaded)
    return _render(request, deps, token, loaded, sections_of(loaded), saved=saved)
