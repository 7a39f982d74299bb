"""Forward an alert with a personal note: the copy informs, it cannot act on the account."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.delivery.direct import direct_alert, direct_step, enqueue_current
from alerts.deps import AlertDeps
from alerts.links import LinkError
from alerts.models import Alert, Customer, DeliveryAttempt, Response
from alerts.plans import StepContent
from channels.masking import mask

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FORWARDS = 3
MAX_NOTE = 500


def _message(
    request: Request, deps: AlertDeps, heading: str, message: str, status: int, problem: bool = True
) -> HTMLResponse:
    return page(
        request,
        "response_message.html",
        {
            "brand": deps.brand,
            "callcentre_number": deps.callcentre_number,
            "title": heading,
            "heading": heading,
            "message": message,
            "problem": problem,
        },
        status_code=status,
    )


async def _context(deps: AlertDeps, token: str) -> tuple[DeliveryAttempt, Alert, str, int]:
    """(attempt, alert, customer's first name, forwards so far) or LookupError/LinkError."""
    link = deps.links.load(token)
    if link.option != "forward":
        raise LinkError("this link is not valid; it may have been altered or cut short")
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, link.attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        if attempt is None or alert is None:
            raise LookupError("we could not find the alert this link belongs to")
        customer = await session.get(Customer, alert.customer_id)
        done = (
            await session.exec(
                select(func.count())
                .select_from(Response)
                .where(col(Response.dedupe_key).startswith(f"forward:{attempt.id}:"))
            )
        ).one()
    first_name = customer.name.split()[0] if customer and customer.name else "A customer"
    return attempt, alert, first_name, int(done)


async def _load(
    request: Request, deps: AlertDeps, token: str
) -> tuple[DeliveryAttempt, Alert, str, int] | HTMLResponse:
    try:
        return await _context(deps, token)
    except LinkError as exc:
        return _message(request, deps, "This link does not work", str(exc).capitalize() + ".", 400)
    except LookupError as exc:
        return _message(
            request, deps, "This alert is no longer available", str(exc).capitalize() + ".", 410
        )


def forwarded_copy(
    *, alert: Alert, first_name: str, note: str, brand: str, callcentre_number: str
) -> tuple[str, str, str]:
    """(subject, text, html) of the copy: the payment and the note, no account data, no links."""
    ctx = alert.context or {}
    what = (
        f"a payment of {ctx.get('amount', '')} {ctx.get('currency', '')} to "
        f"{ctx.get('merchant', 'a payee')}"
    ).replace("  ", " ")
    subject = f"{first_name} shared an alert from {brand} with you"
    text = (
        f"{first_name} asked {brand} to share this alert with you: {what}"
        f"{' on ' + ctx['booking_date'] if ctx.get('booking_date') else ''}.\n\n"
        + (f"Their note: {note}\n\n" if note else "")
        + "This copy is for your information only: it cannot be used to act on any "
        f"account. If {first_name} needs help, they can call {brand} on "
        f"{callcentre_number}.\n"
    )
    from html import escape

    html = (
        '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">'
        + "".join(f"<p>{escape(p)}</p>" for p in text.strip().split("\n\n"))
        + "</body></html>"
    )
    return subject, text, html


def _form(
    request: Request,
    deps: AlertDeps,
    token: str,
    alert: Alert,
    done: int,
    *,
    error: str | None = None,
    to: str = "",
    note: str = "",
) -> HTMLResponse:
    values: dict[str, Any] = {
        "brand": deps.brand,
        "callcentre_number": deps.callcentre_number,
        "title": "Forward this alert",
        "summary": alert.context or {},
        "action": f"/r/f/{token}",
        "left": MAX_FORWARDS - done,
        "max_note": MAX_NOTE,
        "error": error,
        "to": to,
        "note": note,
    }
    return page(request, "forward.html", values, status_code=400 if error else 200)


@router.get("/r/f/{token}")
async def forward_form(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    loaded = await _load(request, deps, token)
    if isinstance(loaded, HTMLResponse):
        return loaded
    _, alert, _, done = loaded
    return _form(request, deps, token, alert, done)


@router.post("/r/f/{token}")
async def forward(
    token: str,
    request: Request,
    deps: DepsDep,
    to: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> HTMLResponse:
    loaded = await _load(request, deps, token)
    if isinstance(loaded, HTMLResponse):
        return loaded
    attempt, alert, first_name, done = loaded
    if alert.trial:  # the studio's trial email: a forward would email a real address
        return _message(
            request,
            deps,
            "Not forwarded: this is a studio trial",
            "Forwarding sends a real email to the address given, so a trial never forwards. "
            "The form you filled in is the one customers see.",
            200,
        )
    to, note = to.strip().lower(), note.strip()
    error = None
    if confirm != "yes":
        error = "Please use the button on the page."
    elif not EMAIL.match(to):
        error = "Please enter the email address to send it to, like name@example.com."
    elif len(note) > MAX_NOTE:
        error = f"Please keep the note under {MAX_NOTE} characters."
    elif done >= MAX_FORWARDS:
        return _message(
            request,
            deps,
            "Already forwarded",
            f"This alert was already forwarded {MAX_FORWARDS} times.",
            429,
        )
    if error:
        return _form(request, deps, token, alert, done, error=error, to=to, note=note)
    assert attempt.id is not None and alert.id is not None
    subject, text, html = forwarded_copy(
        alert=alert,
        first_name=first_name,
        note=note,
        brand=deps.brand,
        callcentre_number=deps.callcentre_number,
    )
    number = done + 1
    key = f"forward:{attempt.id}:{number}"
    now = utcnow()
    async with deps.sessions() as session:
        response = Response(
            dedupe_key=key,
            alert_id=alert.id,
            attempt_id=attempt.id,
            customer_id=alert.customer_id,
            channel="email",
            key="forward",
            intent="forward",
            text=f"to {mask(to)}: {note}"[:1600],
            created_at=now,
        )
        session.add(response)
        try:
            await session.flush()  # claim the slot first: a double submit sends once
        except IntegrityError:
            return _message(
                request, deps, "Already sent", "This forward was already sent.", 200, problem=False
            )
        # The copy is delivered like any alert: an attempt row, retries, statuses, history.
        step = direct_step(
            kind="forward",
            channel="email",
            address=to,
            now=now,
            locale=alert.locale,
            reason=f"the customer forwarded alert {alert.id} to {mask(to)}",
            content=StepContent(subject=subject, text=text, html=html),
        )
        copy = await direct_alert(
            session,
            customer_id=alert.customer_id,
            step=step,
            dedupe_key=key,
            now=now,
            context={"forwarded_alert": alert.id, "note": note},
        )
        await session.commit()
    if copy is not None:
        await enqueue_current(deps, copy)
    logger.info("alert forwarded attempt_id=%s to=%s", attempt.id, mask(to))
    return _message(
        request,
        deps,
        "On its way",
        f"We are sending the alert and your note to {to}. The copy cannot be used to act on "
        "your account.",
        200,
        problem=False,
    )
