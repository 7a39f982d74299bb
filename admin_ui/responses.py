"""Customer pages behind email links: GET only shows a confirm page, POST records the answer."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from itsdangerous import SignatureExpired
from sqlmodel import select
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.links import LinkError, ResponseLink
from alerts.models import Alert, DeliveryAttempt, Response
from alerts.responses.actions import perform
from alerts.responses.record import record_response
from alerts.responses.values import option_for, options_of
from callcentre.calls import call_customer_now

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# The answers an email link may carry (its intent was signed into the link).
EMAIL_INTENTS = frozenset(
    {"agent", "confirm", "call_me", "callback", "opt_out", "transaction", "sms_copy"}
)
OPTION_WORDS = {
    "agent": "Speak to an agent",
    "confirm": "Yes, I confirm",
    "call_me": "Call me now",
    "callback": "Call me back",
    "opt_out": "Stop these alerts",
    "transaction": "Go ahead",
    "sms_copy": "Send it to me by text",
}
NEXT_STEPS = {
    "agent": "An agent will call you back shortly. You do not need to do anything else.",
    "callback": "We will call you back as soon as an agent is free.",
    "confirm": "Thank you for confirming. No further action is needed.",
    "call_me": "We are calling you now; an agent will be on the line.",
    "opt_out": "You will no longer receive these alerts. You can turn them back on from the "
    "manage-your-alerts link in any email from us.",
}
ANSWER_WORDS = {
    "agent": "you asked to speak to an agent",
    "callback": "you asked us to call you back",
    "confirm": "you confirmed",
    "call_me": "you asked us to call you",
    "opt_out": "you stopped these alerts",
    "transaction": "you asked us to go ahead",
    "sms_copy": "you asked for a copy by text",
}


class Problem(Exception):
    """Why the link cannot be used, as a page for the customer."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.heading = heading
        self.message = message


def dedupe_key(attempt_id: int) -> str:
    return f"email:{attempt_id}"


def _base(deps: AlertDeps, **values: Any) -> dict[str, Any]:
    return {"brand": deps.brand, "callcentre_number": deps.callcentre_number, **values}


def _problem_page(request: Request, deps: AlertDeps, problem: Problem) -> HTMLResponse:
    return page(
        request,
        "response_message.html",
        _base(
            deps,
            title=problem.heading,
            heading=problem.heading,
            message=problem.message,
            problem=True,
        ),
        status_code=problem.status,
    )


def _load(deps: AlertDeps, token: str) -> ResponseLink:
    """The link in the token, or a Problem the customer can understand."""
    try:
        link = deps.links.load(token)
    except LinkError as exc:
        expired = isinstance(exc.__cause__, SignatureExpired)
        logger.info("response link refused expired=%s", expired)
        message = str(exc)
        raise Problem(
            410 if expired else 400,
            "This link has expired" if expired else "This link does not work",
            message[:1].upper() + message[1:] + ".",
        ) from exc
    if link.option not in EMAIL_INTENTS:
        raise Problem(
            400,
            "This link does not work",
            "This link is not valid; it may have been altered or cut short.",
        )
    return link


async def _alert_summary(deps: AlertDeps, link: ResponseLink) -> tuple[dict[str, str], str | None]:
    """What the alert was about (no account numbers), and the earlier answer to it if any."""
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, link.attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        if attempt is None or alert is None:
            raise Problem(
                410,
                "This alert is no longer available",
                "We could not find the alert this link belongs to.",
            )
        earlier = (
            await session.exec(
                select(Response).where(Response.dedupe_key == dedupe_key(link.attempt_id))
            )
        ).first()
    context = alert.context or {}
    summary = {
        key: str(context.get(key, "")) for key in ("amount", "currency", "merchant", "booking_date")
    }
    chosen = option_for(options_of(alert), link.option)
    summary["option_words"] = chosen.label if chosen else OPTION_WORDS.get(link.option, link.option)
    return summary, earlier.intent if earlier else None


def _thanks(request: Request, deps: AlertDeps, message: str) -> HTMLResponse:
    return page(
        request,
        "response_message.html",
        _base(
            deps,
            title="Thank you",
            heading="Thank you, we have your answer",
            message=message,
            problem=False,
        ),
    )


@router.get("/r/{token}")
async def response_page(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    """Show what the link would do; never act here (mail scanners follow every link)."""
    try:
        link = _load(deps, token)
        summary, earlier = await _alert_summary(deps, link)
    except Problem as problem:
        return _problem_page(request, deps, problem)
    if earlier is not None:
        return page(
            request,
            "response_message.html",
            _base(
                deps,
                title="We already have your answer",
                heading="We already have your answer",
                message=f"Thank you: {ANSWER_WORDS.get(earlier, 'you have already answered')}. "
                "There is nothing more to do.",
                problem=False,
            ),
        )
    return page(
        request,
        "response_confirm.html",
        _base(
            deps,
            title="Please confirm your answer",
            summary=summary,
            option_words=summary["option_words"],
            action=f"/r/{token}",
        ),
    )


@router.post("/r/{token}")
async def respond(
    token: str, request: Request, deps: DepsDep, confirm: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """Record the answer once; the signed token is the capability, `confirm=yes` the intent."""
    try:
        link = _load(deps, token)
        if confirm != "yes":
            raise Problem(
                400,
                "Please use the button on the page",
                "Nothing was recorded. Open the link from your email again and press "
                "the button to send your answer.",
            )
        await _alert_summary(deps, link)
    except Problem as problem:
        return _problem_page(request, deps, problem)
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
        if not placed.called:
            return _thanks(request, deps, placed.message)
    if outcome.late and not outcome.duplicate:
        return page(
            request,
            "response_message.html",
            _base(
                deps,
                title="We already have your answer",
                heading="We already have your answer",
                message="This alert was already answered, so nothing was changed. If you still "
                f"need help, call us on {deps.callcentre_number}.",
                problem=False,
            ),
        )
    if outcome.duplicate:
        return page(
            request,
            "response_message.html",
            _base(
                deps,
                title="Already answered",
                heading="You have already answered",
                message=f"Thank you: {ANSWER_WORDS.get(outcome.intent, 'we have your answer')}. "
                "Your earlier answer stands; nothing was changed.",
                problem=False,
            ),
        )
    logger.info(
        "email response recorded attempt_id=%s response_id=%s intent=%s",
        link.attempt_id,
        outcome.response.id,
        outcome.intent,
    )
    if outcome.intent in ("transaction", "sms_copy"):
        done = await perform(deps=deps, response_id=outcome.response.id or 0, now=utcnow())
        if done.text:
            return _thanks(request, deps, done.text)
    return _thanks(
        request,
        deps,
        NEXT_STEPS.get(outcome.intent, "We will be in touch if anything else is needed."),
    )
