"""Carrier SMS keywords (STOP, START, HELP...): honoured whatever the alert, before any matching."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import ContactPoint
from channels.i18n import translations
from channels.masking import mask

logger = logging.getLogger(__name__)

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword_of(body: str) -> str | None:
    """ "stop", "start" or "help" when the whole message is one of the carrier keywords."""
    word = body.strip().strip(".!").upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def reply_for(
    keyword: str, *, brand: str, callcentre_number: str, changed: bool, language: str = "en"
) -> str | None:
    """The one confirmation to send back, in ``language``; None when nothing changed (no
    repeated confirmations). The keywords themselves stay STOP / START: carriers act on those."""
    _ = translations(language).gettext
    names = {"brand": brand, "number": callcentre_number}
    if keyword == "help":
        return (
            _(
                "%(brand)s alerts: we text you about activity on your account. Reply STOP to "
                "stop texts, START to resume. Call %(number)s for help."
            )
            % names
        )
    if not changed:
        return None
    if keyword == "stop":
        return (
            _(
                "%(brand)s: you will get no more texts from this number. Reply START to "
                "receive them again."
            )
            % names
        )
    return _("%(brand)s: texts are back on. Reply STOP at any time to stop them.") % names


async def apply_keyword(*, session: AsyncSession, number: str, keyword: str, now: datetime) -> bool:
    """Opt the number out of (or back into) SMS on every customer who has it; True if changed."""
    if keyword not in ("stop", "start"):
        return False
    opted_out = col(ContactPoint.sms_opted_out_at)
    condition = opted_out.is_(None) if keyword == "stop" else opted_out.is_not(None)
    result = await session.exec(
        update(ContactPoint)
        .where(col(ContactPoint.kind) == "phone", col(ContactPoint.address) == number, condition)
        .values(sms_opted_out_at=now if keyword == "stop" else None)
    )
    await session.commit()
    changed = bool(result.rowcount)
    logger.info("sms keyword %s from %s changed=%s", keyword, mask(number), changed)
    return changed


async def sms_opted_out(*, session: AsyncSession, customer_id: int, number: str) -> bool:
    row = (
        await session.exec(
            select(ContactPoint).where(
                ContactPoint.customer_id == customer_id,
                ContactPoint.kind == "phone",
                ContactPoint.address == number,
            )
        )
    ).first()
    return bool(row and row.sms_opted_out_at)
