"""Forward an alert with a personal note: the copy informs, it cannot act on the account."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from starlette.responses import HTMLResponse

from admin_ui.customer_i18n import (
    BROKEN,
    GONE,
    browser_language,
    customer_language,
    message_page,
    money,
    sentence,
)
from admin_ui.rendering import page
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.delivery.direct import direct_alert, direct_step, enqueue_current
from alerts.deps import AlertDeps
from alerts.links import LinkError
from alerts.models import Alert, Customer, DeliveryAttempt, Response
from alerts.plans import StepContent
from channels.i18n import N_, translations
from channels.masking import mask

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FORWARDS = 3
MAX_NOTE = 500


@dataclass(frozen=True, slots=True)
class Forwarding:
    attempt: DeliveryAttempt
    alert: Alert
    first_name: str
    done: int  # forwards so far
    language: str  # the customer's


async def _context(deps: AlertDeps, token: str) -> Forwarding:
    """What the forward link is about, or LookupError/LinkError."""
    link = deps.links.load(token)
    if link.option != "forward":
        raise LinkError("this link is not valid; it may have been altered or cut short")
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, link.attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        if attempt is None or alert is None:
            raise LookupError("we could not find the alert this link belongs to")
        customer = await session.get(Customer, alert.customer_id)
        language = await customer_language(session, customer)
        done = (
            await session.exec(
                select(func.count())
                .select_from(Response)
                .where(col(Response.dedupe_key).startswith(f"forward:{attempt.id}:"))
            )
        ).one()
    first_name = customer.name.split()[0] if customer and customer.name.split() else ""
    return Forwarding(attempt, alert, first_name, int(done), language)


async def _load(request: Request, deps: AlertDeps, token: str) -> Forwarding | HTMLResponse:
    language = browser_language(request)
    try:
        return await _context(deps, token)
    except LinkError as exc:
        why = sentence(str(exc))
        return message_page(request, deps, BROKEN, why, language=language, status=400, problem=True)
    except LookupError as exc:
        why = sentence(str(exc))
        return message_page(request, deps, GONE, why, language=language, status=410, problem=True)


def forwarded_copy(
    *,
    alert: Alert,
    first_name: str,
    note: str,
    brand: str,
    callcentre_number: str,
    language: str = "en",
) -> tuple[str, str, str]:
    """(subject, text, html) of the copy in the customer's ``language``: the payment and the
    note, no account data, no links."""
    _ = translations(language).gettext
    ctx = alert.context or {}
    who = first_name or _("A customer")
    amount = money(str(ctx.get("amount", "")), str(ctx.get("currency", "")), language)
    values = {"who": who, "brand": brand, "amount": amount, "number": callcentre_number}
    payee, day = ctx.get("merchant"), ctx.get("booking_date")
    if payee and day:
        what = _("a payment of %(amount)s to %(payee)s on %(date)s") % {
            **values,
            "payee": payee,
            "date": day,
        }
    elif payee:
        what = _("a payment of %(amount)s to %(payee)s") % {**values, "payee": payee}
    else:
        what = _("a payment of %(amount)s") % values
    subject = _("%(who)s shared an alert from %(brand)s with you") % values
    parts = [
        _("%(who)s asked %(brand)s to share this alert with you: %(what)s.")
        % {
            **values,
            "what": what,
        }
    ]
    if note:
        parts.append(_("Their note: %(note)s") % {"note": note})
    parts.append(
        _(
            "This copy is for your information only: it cannot be used to act on any account. "
            "If %(who)s needs help, they can call %(brand)s on %(number)s."
        )
        % values
    )
    text = "\n\n".join(parts) + "\n"
    html = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:Arial,sans-serif;color:#222">'
        + "".join(f"<p>{escape(p)}</p>" for p in parts)
        + "</body></html>"
    )
    return subject, text, html


def _form(
    request: Request,
    deps: AlertDeps,
    token: str,
    loaded: Forwarding,
    *,
    error: str | None = None,
    to: str = "",
    note: str = "",
) -> HTMLResponse:
    context = loaded.alert.context or {}
    values: dict[str, Any] = {
        "brand": deps.brand,
        "callcentre_number": deps.callcentre_number,
        "title": translations(loaded.language).gettext("Forward this alert"),
        "summary": context,
        "money": money(
            str(context.get("amount", "")), str(context.get("currency", "")), loaded.language
        ),
        "action": f"/r/f/{token}",
        "left": MAX_FORWARDS - loaded.done,
        "max_note": MAX_NOTE,
        "error": error,
        "to": to,
        "note": note,
    }
    return page(
        request,
        "forward.html",
        values,
        status_code=400 if error else 200,
        language=loaded.language,
    )


@router.get("/r/f/{token}")
async def forward_form(token: str, request: Request, deps: DepsDep) -> HTMLResponse:
    loaded = await _load(request, deps, token)
    if isinstance(loaded, HTMLResponse):
        return loaded
    return _form(request, deps, token, loaded)


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
    attempt, alert, done, language = loaded.attempt, loaded.alert, loaded.done, loaded.language
    t = translations(language)
    if alert.trial:  # the studio's trial email: a forward would email a real address
        return message_page(
            request,
            deps,
            "Not forwarded: this is a studio trial",
            "Forwarding sends a real email to the address given, so a trial never forwards. "
            "The form you filled in is the one customers see.",
            language=language,
            translate=False,
        )
    to, note = to.strip().lower(), note.strip()
    error = None
    if confirm != "yes":
        error = t.gettext("Please use the button on the page.")
    elif not EMAIL.match(to):
        error = t.gettext("Please enter the email address to send it to, like name@example.com.")
    elif len(note) > MAX_NOTE:
        error = t.ngettext(
            "Please keep the note under %(count)d character.",
            "Please keep the note under %(count)d characters.",
            MAX_NOTE,
        ) % {"count": MAX_NOTE}
    elif done >= MAX_FORWARDS:
        return message_page(
            request,
            deps,
            t.gettext("Already forwarded"),
            t.ngettext(
                "This alert was already forwarded %(count)d time.",
                "This alert was already forwarded %(count)d times.",
                MAX_FORWARDS,
            )
            % {"count": MAX_FORWARDS},
            language=language,
            status=429,
            problem=True,
            translate=False,
        )
    if error:
        return _form(request, deps, token, loaded, error=error, to=to, note=note)
    assert attempt.id is not None and alert.id is not None
    subject, text, html = forwarded_copy(
        alert=alert,
        first_name=loaded.first_name,
        note=note,
        brand=deps.brand,
        callcentre_number=deps.callcentre_number,
        language=language,
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
            return message_page(
                request,
                deps,
                N_("Already sent"),
                N_("This forward was already sent."),
                language=language,
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
    return message_page(
        request,
        deps,
        t.gettext("On its way"),
        t.gettext(
            "We are sending the alert and your note to %(address)s. The copy cannot be used to "
            "act on your account."
        )
        % {"address": to},
        language=language,
        translate=False,
    )
