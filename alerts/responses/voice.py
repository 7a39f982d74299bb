"""The alert's call as the customer goes through it: the script when they answer, what each
key they press does, and the callback time they key in.

Each request is first matched to the attempt's own call (alerts.responses.matching): a request
about another call, or addressed to an attempt that is not a call, is refused before anything
is recorded. An answer to an alert that already has one is late: the caller hears that their
answer is already in, and nothing else happens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import AlertContent
from alerts.alert_types.recordings import Segment, message_segments, segment_renderer
from alerts.delivery.messages import voice_content
from alerts.deps import AlertDeps, Tts
from alerts.models import HandOff
from alerts.responses import voice_script
from alerts.responses.actions import perform, schedule_callback
from alerts.responses.matching import Mismatch, call_of_attempt
from alerts.responses.record import Outcome, read_without_transaction, record_response
from alerts.responses.transfers import live_transfer
from channels.base import InboundMessage
from channels.i18n import N_
from channels.scripts import Speak, VoiceScript
from rules.alert_types import ENGLISH, ENGLISH_KEY, ENGLISH_OFFER

logger = logging.getLogger(__name__)

VOICE_GOODBYES = {
    "confirm": N_("Thank you. We have noted your confirmation. Goodbye."),
    "callback": N_("Thank you. We will call you back as soon as an agent is free. Goodbye."),
    "opt_out": N_("You will no longer receive these alerts. Goodbye."),
    "transaction": N_("Thank you. Our team will take care of your request. Goodbye."),
    "sms_copy": N_("Thank you. We will send you this message by text. Goodbye."),
    "email_copy": N_("Thank you. We will send you this message by email. Goodbye."),
    "late": voice_script.ALREADY_ANSWERED,
}
# Answers whose words come from doing them (the endpoint's answer, the copy planned).
PERFORMED = frozenset({"transaction", "sms_copy", "email_copy"})


@dataclass(frozen=True, slots=True)
class AlertCall:
    """The call being answered: its alert's voice content and how it sounds."""

    attempt_id: int
    alert_id: int
    content: AlertContent
    context: dict[str, Any]  # template context (a real boundary: the alert's rendered values)
    tts: Tts
    base: str  # where this call's webhooks live
    lang: str = ""  # "en" once the customer pressed 8 to hear the call in English
    english: Tts | None = None  # the voice that offers English, when the content offers it

    def render(self, name: str) -> str:
        return self.content.render(name, self.context)

    def english_offer(self) -> Speak | None:
        """ "For English, press 8." in the English voice, when this call's content offers it."""
        own = self.content.spec.content.get(self.content.used_locale, {}).get("voice", {})
        if self.lang or self.english is None or not own.get(ENGLISH_OFFER, "").strip():
            return None
        text = self.content.render(ENGLISH_OFFER, self.context)
        return Speak(text, self.english.voice, self.english.language)


async def alert_call(
    deps: AlertDeps,
    *,
    attempt_id: int,
    inbound: InboundMessage,
    what: str,
    now: datetime,
    lang: str = "",
) -> AlertCall:
    """The voice attempt the request is about, or Mismatch (404 / 409, recorded as ignored);
    ``lang`` "en": the call replayed in English."""
    async with deps.sessions() as session:
        return await call_in(
            deps, session, attempt_id=attempt_id, inbound=inbound, what=what, now=now, lang=lang
        )


async def call_in(
    deps: AlertDeps,
    session: AsyncSession,
    *,
    attempt_id: int,
    inbound: InboundMessage,
    what: str,
    now: datetime,
    lang: str = "",
) -> AlertCall:
    """``alert_call`` in the caller's session (which then holds the attempt and its alert)."""
    lang = ENGLISH if lang == ENGLISH else ""
    attempt, alert = await call_of_attempt(
        session,
        attempt_id=attempt_id,
        call_sid=inbound.provider_sid,
        what=what,
        now=now,
    )
    content, context = await voice_content(deps, session, alert, attempt, lang or None)
    # The session's identity map holds rows weakly: keep these two for the answer recorded in
    # the same session (record_response then reads them from the map, not the database).
    session.info["call_rows"] = (attempt, alert)
    return AlertCall(
        attempt_id=attempt_id,
        alert_id=alert.id or 0,
        content=content,
        context=context,
        tts=deps.tts(content.locale),
        base=f"{deps.public_url}/webhooks/twilio/voice/{attempt_id}",
        lang=lang,
        english=None if content.used_locale.split("-")[0] == ENGLISH else deps.tts(ENGLISH),
    )


async def call_script(
    *,
    deps: AlertDeps,
    attempt_id: int,
    inbound: InboundMessage,
    n: int,
    reprompt: bool,
    now: datetime,
    lang: str = "",
) -> VoiceScript:
    """What the call says when it is answered: the message and its menu (a voicemail gets the
    voicemail text only); ``reprompt`` after silence; ``lang`` "en" after 8 for English."""
    call = await alert_call(
        deps, attempt_id=attempt_id, inbound=inbound, what="call script", now=now, lang=lang
    )
    if (inbound.answered_by or "").startswith("machine"):
        return voice_script.voicemail(text=call.render("voicemail"), tts=call.tts)
    if reprompt:
        again = call.render("reprompt")
        return voice_script.reprompt(
            base=call.base, prompt=again, n=n, tts=call.tts, lang=call.lang
        )
    return await _main_menu(deps, call, n)


async def _main_menu(deps: AlertDeps, call: AlertCall, n: int) -> VoiceScript:
    prompt = call.render("prompt")
    message = await _message(deps, call)
    return voice_script.main_menu(
        base=call.base,
        message=message,
        prompt=prompt,
        n=n,
        tts=call.tts,
        offer=call.english_offer(),
        lang=call.lang,
    )


async def _message(deps: AlertDeps, call: AlertCall) -> str | list[Segment]:
    """The message as text, or as recorded segments and speech when recordings are served."""
    if deps.media is None:
        return call.render("message")
    locale = call.content.locale
    async with deps.sessions() as session:
        segments = await message_segments(
            session,
            spec=call.content.spec,
            locale=locale,
            render=segment_renderer(call.context, where=f"content.{locale}.voice.message"),
            public_url=deps.public_url,
            signer=deps.media,
        )
    logger.info(
        "voice script attempt_id=%s: %s",
        call.attempt_id,
        "; ".join(f"{s.index}: {s.why}" for s in segments),
    )
    return segments


async def keypress(
    *,
    deps: AlertDeps,
    attempt_id: int,
    inbound: InboundMessage,
    n: int,
    tries: int,
    now: datetime,
    lang: str = "",
) -> VoiceScript:
    """The key pressed at the ``n``-th menu of the call, recorded once; what the caller hears
    next. 8, where the content offers English, is not an answer: the call starts again in
    English (its later webhooks carry lang=en)."""
    # One session for the call's match and the answer (no second checkout and read); what the
    # caller hears next is built after it is closed (it may open sessions of its own).
    async with deps.sessions() as session:
        await read_without_transaction(session)  # a confirmation is then one statement
        call = await call_in(
            deps,
            session,
            attempt_id=attempt_id,
            inbound=inbound,
            what="keypress",
            now=now,
            lang=lang,
        )
        if inbound.digits == ENGLISH_KEY and call.english_offer() is not None:
            logger.info("voice attempt_id=%s: replayed in English (key 8)", attempt_id)
            english: AlertCall | None = await call_in(
                deps,
                session,
                attempt_id=attempt_id,
                inbound=inbound,
                what="keypress",
                now=now,
                lang=ENGLISH,
            )
        else:
            english = None
            result = await record_response(
                deps=deps,
                dedupe_key=f"voice:{inbound.provider_sid}:{n}",
                attempt_id=attempt_id,
                channel="voice",
                key=inbound.digits,
                text=None,
                now=now,
                session=session,
            )
    if english is not None:
        return await _main_menu(deps, english, n)
    return await _after_answer(
        deps, call, result, n=n, tries=tries, pressed=bool(inbound.digits), now=now
    )


async def _after_answer(
    deps: AlertDeps,
    call: AlertCall,
    result: Outcome,
    *,
    n: int,
    tries: int,
    pressed: bool,
    now: datetime,
) -> VoiceScript:
    """What the caller hears after their key: a transfer, the callback-time menu, the words of
    what was done, goodbye, the message again, or another chance after an invalid key."""
    intent, fresh = result.intent, not result.duplicate
    if intent == "agent":
        handoff_id = result.handoff.id if result.handoff else None
        return await live_transfer(deps=deps, handoff_id=handoff_id, tts=call.tts, now=now)
    if intent == "callback" and result.handoff is not None and fresh:
        action = f"{call.base}/callback?handoff={result.handoff.id}"
        return voice_script.ask_callback_time(action=action, tts=call.tts)
    if intent in PERFORMED and fresh:
        done = await perform(deps=deps, response_id=result.response.id or 0, now=now)
        text = done.text or voice_script.said(VOICE_GOODBYES[intent], call.tts)
        return voice_script.goodbye(text=text, tts=call.tts)
    if intent in VOICE_GOODBYES:
        text = voice_script.said(VOICE_GOODBYES[intent], call.tts)
        return voice_script.goodbye(text=text, tts=call.tts)
    if intent == "repeat" and n <= voice_script.MAX_REPEATS * 2:
        return voice_script.repeat(base=call.base, n=n, lang=call.lang)
    if tries < voice_script.MAX_INVALID:
        return voice_script.reprompt(
            base=call.base,
            prompt=call.render("reprompt"),
            n=n,
            tts=call.tts,
            lead=voice_script.INVALID if pressed else None,
            tries=tries + 1,
            lang=call.lang,
        )
    return voice_script.goodbye(
        text=voice_script.said(voice_script.GOODBYE, call.tts), tts=call.tts
    )


async def callback_keyed(
    *,
    deps: AlertDeps,
    attempt_id: int,
    handoff_id: int,
    inbound: InboundMessage,
    now: datetime,
) -> VoiceScript:
    """The time the customer keyed in for their callback (nothing: the first free slot)."""
    call = await alert_call(
        deps, attempt_id=attempt_id, inbound=inbound, what="callback time", now=now
    )
    async with deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
    if handoff is None or handoff.alert_id != call.alert_id or handoff.kind != "callback":
        raise Mismatch(404, f"no callback hand-off {handoff_id} for attempt {attempt_id}")
    _, text = await schedule_callback(
        deps=deps, handoff_id=handoff_id, keyed=inbound.digits, now=now
    )
    return voice_script.goodbye(text=text + " Goodbye.", tts=call.tts)
