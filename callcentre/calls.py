"""Outbound calls that connect a customer to an agent ("call me now").

The call is a step of the alert (alerts.delivery.direct), placed by the voice worker like any
other. The hand-off is ``offered`` while Herald calls the customer; ``connected`` when they answer
and are put through (alerts.responses.transfers), and the call's final status moves it on:
back to ``queued`` as a callback when they do not answer, ``failed`` when the call fails,
``completed`` when it ends. When the call cannot be placed at all (no phone, the centre closed),
the hand-off stays queued as a callback, with the reason, so nobody is forgotten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_datetime
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.delivery.direct import direct_alert, direct_step, enqueue_current
from alerts.deps import AlertDeps
from alerts.lifecycle import move_handoff
from alerts.models import Alert, ContactPoint, HandOff
from alerts.responses.values import update_context
from callcentre.state import load_hours
from channels.i18n import N_, translations
from channels.masking import mask

logger = logging.getLogger(__name__)


NO_CUSTOMER = N_("An agent will call you back shortly.")
ANSWERED = N_("We have your answer: nobody needs to call you now.")
CALLING_ALREADY = N_("We are already calling you on %(phone)s.")
CALLING = N_("We are calling you now on %(phone)s.")
NO_PHONE = N_("We have no phone number for you; an agent will contact you shortly.")
CLOSED = N_("Our call centre is closed right now; an agent will call you back.")
CLOSED_UNTIL = N_(
    "Our call centre is closed right now; an agent will call you back when it opens"
    " (%(opens)s %(zone)s)."
)


@dataclass(frozen=True, slots=True)
class CallResult:
    """Whether Herald is calling, and what the customer is told: ``words`` (a catalogue msgid)
    with its ``values``; ``message`` in English (the agent console), ``in_language`` for the
    customer's page."""

    called: bool
    words: str
    values: dict[str, str] = field(default_factory=dict)
    opens: datetime | None = None  # the centre's next opening, in its own time zone

    def in_language(self, language: str) -> str:
        values = dict(self.values)
        if self.opens is not None:
            values["opens"] = format_datetime(
                self.opens, "EEEE HH:mm", tzinfo=self.opens.tzinfo, locale=language
            )
        return translations(language).gettext(self.words) % values

    @property
    def message(self) -> str:
        return self.in_language("en")


async def call_customer_now(*, deps: AlertDeps, handoff_id: int) -> CallResult:
    """Call the customer now and put them through to an agent: a voice step of the alert (an
    attempt row, statuses, retries and history like any send), queued at once; if the call
    cannot be placed, the hand-off becomes a callback task so nobody is forgotten."""
    now = utcnow()
    async with deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
        if handoff is None or handoff.customer_id is None:
            return CallResult(False, NO_CUSTOMER)
        if handoff.closed_at is not None:  # a studio trial's (closed at creation), or done
            return CallResult(False, ANSWERED)
        refused = await _cannot_call(session, handoff)
        if isinstance(refused, CallResult):
            return refused
        phone = refused
        asked_from = await session.get(Alert, handoff.alert_id) if handoff.alert_id else None
        step = direct_step(
            kind="call_now",
            channel="voice",
            address=phone.address,
            contact_point_id=str(phone.id),
            now=now,
            locale=asked_from.locale if asked_from else "en",
            reason="the customer asked to be called now",
            handoff_id=handoff_id,
        )
        call = await direct_alert(
            session,
            customer_id=handoff.customer_id,
            step=step,
            dedupe_key=f"call_now:handoff-{handoff_id}",
            now=now,
            context={"handoff_id": handoff_id, "asked_from_alert": handoff.alert_id},
        )
        if call is None:
            return CallResult(True, CALLING_ALREADY, {"phone": mask(phone.address)})
        if handoff.status == "queued":
            move_handoff(session, handoff, "offer", reason="calling the customer now", now=now)
        await session.commit()
        await enqueue_current(deps, call)
    logger.info("calling customer now handoff_id=%s to=%s", handoff_id, mask(phone.address))
    return CallResult(True, CALLING, {"phone": mask(phone.address)})


async def _cannot_call(session: AsyncSession, handoff: HandOff) -> ContactPoint | CallResult:
    """The phone to call now, or why not (the hand-off already turned into a callback)."""
    phone = (
        await session.exec(
            select(ContactPoint).where(
                ContactPoint.customer_id == handoff.customer_id, ContactPoint.kind == "phone"
            )
        )
    ).first()
    if phone is None:
        handoff.kind = "callback"
        session.add(handoff)
        await session.commit()
        return CallResult(False, NO_PHONE)
    now = utcnow()
    hours = (await load_hours(session)).to_hours()
    if hours.is_open(now):
        return phone
    opens = hours.next_opening(now)
    handoff.kind = "callback"
    update_context(
        handoff,
        callback_at=opens,
        why="the call centre was closed when the customer asked to be called now",
    )
    session.add(handoff)
    await session.commit()
    if opens is None:
        return CallResult(False, CLOSED)
    return CallResult(False, CLOSED_UNTIL, {"zone": str(hours.tz)}, opens=opens)
