"""An SMS a customer sent: a carrier keyword (STOP, START, HELP) honoured first, otherwise an
answer to their newest open SMS alert (or, unmatched, a message an agent reads), and the one
text Herald sends back."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.deps import AlertDeps
from alerts.models import ContactPoint, Customer, Response
from alerts.responses.actions import perform
from alerts.responses.keywords import apply_keyword, keyword_of, reply_for
from alerts.responses.record import match_sms_reply, read_without_transaction, record_response
from channels.base import InboundMessage
from channels.i18n import N_, language_for, translations
from channels.scripts import TextReply

SMS_REPLIES = {
    "agent": N_("Thank you. An agent will call you back shortly."),
    "callback": N_("Thank you. We will call you back."),
    "confirm": N_("Thank you for confirming. No further action is needed."),
    "opt_out": N_(
        "You will no longer receive these alerts. Manage all your alerts from the link "
        "in any email from us."
    ),
    "unknown": N_("Thank you. An agent will read your message and get back to you."),
    "email_copy": N_("Thank you. We are sending this to you by email."),
    "late": N_("Thank you. We already have your answer to this alert."),
}
SMS_TASK_REPLY = N_("Thank you. Our team will take care of your request.")
PERFORMED = frozenset({"transaction", "email_copy"})


def dedupe_key(provider_sid: str) -> str:
    return f"sms:{provider_sid}"


async def text_received(*, deps: AlertDeps, inbound: InboundMessage, now: datetime) -> TextReply:
    """Record what the customer texted once, act on it, and say what happens next (nothing
    again when the provider retries the same message)."""
    keyword = keyword_of(inbound.text)
    if keyword is not None:
        return await _keyword(deps, inbound, keyword, now)
    # One session for the match, the language and the answer: the match reads the attempt,
    # the alert and the customer once, and the answer finds them in the session.
    async with deps.sessions() as session:
        await read_without_transaction(session)  # a confirmation is then one statement
        attempt_id, alert_id, customer_id = await match_sms_reply(
            session=session,
            from_number=inbound.from_address,
            now=now,
            window_hours=deps.reply_window_hours,
        )
        language = await _language_in(session, customer_id)
        result = await record_response(
            deps=deps,
            dedupe_key=dedupe_key(inbound.provider_sid),
            attempt_id=attempt_id,
            channel="sms",
            key=inbound.text[:20],
            text=inbound.text,
            now=now,
            alert_id=alert_id,
            customer_id=customer_id,
            session=session,
        )
    if result.duplicate:
        return TextReply()
    text = translations(language).gettext(SMS_REPLIES.get(result.intent, SMS_TASK_REPLY))
    if result.intent in PERFORMED:
        done = await perform(deps=deps, response_id=result.response.id or 0, now=now)
        text = done.text or text
    return TextReply((text,))


async def _language(deps: AlertDeps, customer_id: int | None) -> str:
    """The customer's language (English for a number Herald cannot tie to one customer)."""
    if customer_id is None:
        return language_for(None)
    async with deps.sessions() as session:
        return await _language_in(session, customer_id)


async def _language_in(session: AsyncSession, customer_id: int | None) -> str:
    customer = await session.get(Customer, customer_id) if customer_id is not None else None
    return language_for(customer.locale if customer else None)


async def _sole_owner(deps: AlertDeps, number: str) -> bool:
    """True when exactly one customer has this phone number (a shared family phone must not
    receive one member's preferences link)."""
    async with deps.sessions() as session:
        owners = (
            await session.exec(
                select(ContactPoint.customer_id).where(
                    ContactPoint.kind == "phone", ContactPoint.address == number
                )
            )
        ).all()
    return len(set(owners)) == 1


async def _keyword(
    deps: AlertDeps, inbound: InboundMessage, keyword: str, now: datetime
) -> TextReply:
    """STOP / START / HELP: change the opt-out, keep it in the history, confirm at most once."""
    number, key = inbound.from_address, dedupe_key(inbound.provider_sid)
    async with deps.sessions() as session:
        if (await session.exec(select(Response).where(Response.dedupe_key == key))).first():
            return TextReply()  # a retried webhook: nothing again
        changed = await apply_keyword(session=session, number=number, keyword=keyword, now=now)
        _, alert_id, customer_id = await match_sms_reply(
            session=session, from_number=number, now=now, window_hours=deps.reply_window_hours
        )
    await record_response(
        deps=deps,
        dedupe_key=key,
        attempt_id=None,
        channel="sms",
        key=keyword.upper(),
        text=keyword.upper(),
        now=now,
        alert_id=alert_id,
        customer_id=customer_id,
        intent=keyword,
    )
    language = await _language(deps, customer_id)
    text = reply_for(
        keyword,
        brand=deps.brand,
        callcentre_number=deps.callcentre_number,
        changed=changed,
        language=language,
    )
    if text and keyword == "help" and customer_id is not None and await _sole_owner(deps, number):
        token = deps.links.sign_preferences(customer_id)
        link = f"{deps.public_url}/p/{token}"
        text += " " + translations(language).gettext("Choose which alerts you get: %(link)s") % {
            "link": link
        }
    return TextReply((text,) if text else ())
