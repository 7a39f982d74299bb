"""Customer pages behind email links: GET only shows a confirm page, POST records the answer."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from itsdangerous import SignatureExpired
from sqlmodel import select
from starlette.responses import HTMLResponse

from admin_ui.customer_i18n import (
    BROKEN,
    EXPIRED,
    GONE,
    browser_language,
    customer_language,
    message_page,
    money,
    sentence,
)
from admin_ui.rendering import page
from alerts.alert_types.store import get_spec
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.links import LinkError, ResponseLink
from alerts.models import Alert, Customer, DeliveryAttempt, Response
from alerts.responses.actions import perform
from alerts.responses.record import record_response
from alerts.responses.values import option_for, options_of
from callcentre.calls import call_customer_now
from channels.i18n import N_, language_for, translations

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# The answers an email link may carry (its intent was signed into the link).
EMAIL_INTENTS = frozenset(
    {"agent", "confirm", "call_me", "callback", "opt_out", "transaction", "sms_copy"}
)
OPTION_WORDS = {
    "agent": N_("Speak to an agent"),
    "confirm": N_("Yes, I confirm"),
    "call_me": N_("Call me now"),
    "callback": N_("Call me back"),
    "opt_out": N_("Stop these alerts"),
    "transaction": N_("Go ahead"),
    "sms_copy": N_("Send it to me by text"),
}
NEXT_STEPS = {
    "agent": N_("An agent will call you back shortly. You do not need to do anything else."),
    "callback": N_("We will call you back as soon as an agent is free."),
    "confirm": N_("Thank you for confirming. No further action is needed."),
    "call_me": N_("We are calling you now; an agent will be on the line."),
    "opt_out": N_(
        "You will no longer receive these alerts. You can turn them back on from the "
        "manage-your-alerts link in any email from us."
    ),
}
NEXT_STEP = N_("We will be in touch if anything else is needed.")
# "Thank you: you confirmed. ..." — what the customer answered before.
ALREADY = {
    "agent": N_("Thank you: you asked to speak to an agent. There is nothing more to do."),
    "callback": N_("Thank you: you asked us to call you back. There is nothing more to do."),
    "confirm": N_("Thank you: you confirmed. There is nothing more to do."),
    "call_me": N_("Thank you: you asked us to call you. There is nothing more to do."),
    "opt_out": N_("Thank you: you stopped these alerts. There is nothing more to do."),
    "transaction": N_("Thank you: you asked us to go ahead. There is nothing more to do."),
    "sms_copy": N_("Thank you: you asked for a copy by text. There is nothing more to do."),
}
ALREADY_OTHER = N_("Thank you: you have already answered. There is nothing more to do.")
HAVE_IT = N_("We already have your answer")
LATE = N_(
    "This alert was already answered, so nothing was changed. If you still need help, "
    "call us on %(number)s."
)
USE_BUTTON = N_("Please use the button on the page")
USE_BUTTON_WHY = N_(
    "Nothing was recorded. Open the link from your email again and press the button to send "
    "your answer."
)


class Problem(Exception):
    """Why the link cannot be used, as a page for the customer (English msgids)."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.heading = heading
        self.message = message


def dedupe_key(attempt_id: int) -> str:
    return f"email:{attempt_id}"


def _problem_page(
    request: Request, deps: AlertDeps, problem: Problem, language: str
) -> HTMLResponse:
    return message_page(
        request,
        deps,
        problem.heading,
        problem.message,
        language=language,
        status=problem.status,
        problem=True,
    )


def _load(deps: AlertDeps, token: str) -> ResponseLink:
    """The link in the token, or a Problem the customer can understand."""
    try:
        link = deps.links.load(token)
    except LinkError as exc:
        expired = isinstance(exc.__cause__, SignatureExpired)
        logger.info("response link refused expired=%s", expired)
        raise Problem(
            410 if expired else 400, EXPIRED if expired else BROKEN, sentence(str(exc))
        ) from exc
    if link.option not in EMAIL_INTENTS:
        raise Problem(
            400, BROKEN, sentence("this link is not valid; it may have been altered or cut short")
        )
    return link


async def _alert_summary(
    deps: AlertDeps, link: ResponseLink
) -> tuple[dict[str, str], str | None, str]:
    """What the alert was about (no account numbers), the earlier answer to it if any, and the
    customer's language."""
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, link.attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        if attempt is None or alert is None:
            raise Problem(410, GONE, sentence("we could not find the alert this link belongs to"))
        earlier = (
            await session.exec(
                select(Response).where(Response.dedupe_key == dedupe_key(link.attempt_id))
            )
        ).first()
        language = await customer_language(session, await session.get(Customer, alert.customer_id))
        spec = await get_spec(session, alert.alert_type)
    context = alert.context or {}
    summary = {
        key: str(context.get(key, "")) for key in ("amount", "currency", "merchant", "booking_date")
    }
    summary["money"] = money(summary["amount"], summary["currency"], language)
    chosen = option_for(options_of(alert), link.option)
    # The option's label as the alert type writes it in this language (its ``labels``), or in
    # its own language when that is the page's; otherwise the page says what the answer does in
    # Herald's words.
    labels_language = language_for(spec.fallback_locale if spec else None)
    offered = next((o for o in spec.options if o.intent == link.option), None) if spec else None
    own = offered.labels.get(language) if offered is not None else None
    if own:
        summary["option_words"] = own
    elif chosen is not None and chosen.label and language == labels_language:
        summary["option_words"] = chosen.label
    else:
        words = translations(language).gettext
        summary["option_words"] = words(OPTION_WORDS.get(link.option, link.option))
    return summary, earlier.intent if earlier else None, language


def _thanks(
    request: Request, deps: AlertDeps, message: str, language: str, translate: bool = True
) -> HTMLResponse:
    return message_page(
        request,
        deps,
        N_("Thank you, we have your answer"),
        message,
        language=language,
        translate=translate,
    )


def _already(request: Request, deps: AlertDeps, message: str, language: str) -> HTMLResponse:
    return message_page(request, deps, HAVE_IT, message, language=language, translate=False)


@router.get("/r/{token}")
async def response_page(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    """Show what the link would do; never act here (mail scanners follow every link)."""
    language = browser_language(request)
    try:
        link = _load(deps, token)
        summary, earlier, language = await _alert_summary(deps, link)
    except Problem as problem:
        return _problem_page(request, deps, problem, language)
    _ = translations(language).gettext
    if earlier is not None:
        return _already(request, deps, _(ALREADY.get(earlier, ALREADY_OTHER)), language)
    return page(
        request,
        "response_confirm.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": _("Please confirm your answer"),
            "summary": summary,
            "option_words": summary["option_words"],
            "action": f"/r/{token}",
        },
        language=language,
    )


@router.post("/r/{token}")
async def respond(
    token: str, request: Request, deps: DepsDep, confirm: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """Record the answer once; the signed token is the capability, `confirm=yes` the intent."""
    language = browser_language(request)
    try:
        link = _load(deps, token)
        _summary, _earlier, language = await _alert_summary(deps, link)
        if confirm != "yes":
            raise Problem(400, USE_BUTTON, USE_BUTTON_WHY)
    except Problem as problem:
        return _problem_page(request, deps, problem, language)
    _ = translations(language).gettext
    outcome = await record_response(
        deps=deps,
        dedupe_key=dedupe_key(link.attempt_id),
        attempt_id=link.attempt_id,
        channel="email",
        key=link.option,
        text=None,
        now=utcnow(),
    )
    if outcome.intent == "call_me" and not outcome.duplicate and outcome.handoff is not None:
        assert outcome.handoff.id is not None
        placed = await call_customer_now(deps=deps, handoff_id=outcome.handoff.id)
        if not placed.called:  # the call centre's own words (callcentre.calls)
            words = placed.in_language(language)
            return _thanks(request, deps, words, language, translate=False)
    if outcome.late and not outcome.duplicate:
        return _already(request, deps, _(LATE) % {"number": deps.callcentre_number}, language)
    if outcome.duplicate:
        return message_page(
            request,
            deps,
            _("You have already answered"),
            _(ALREADY.get(outcome.intent or "", ALREADY_OTHER)),
            language=language,
            translate=False,
        )
    logger.info(
        "email response recorded attempt_id=%s response_id=%s intent=%s",
        link.attempt_id,
        outcome.response.id,
        outcome.intent,
    )
    if outcome.intent in ("transaction", "sms_copy"):
        done = await perform(deps=deps, response_id=outcome.response.id or 0, now=utcnow())
        if done.text:  # the transaction endpoint's own words
            return _thanks(request, deps, done.text, language, translate=False)
    return _thanks(request, deps, NEXT_STEPS.get(outcome.intent or "", NEXT_STEP), language)
