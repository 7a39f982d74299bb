"""Thin webhook routes for Twilio: verify the signature, parse, hand to the alert services."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response as HttpResponse
from sqlmodel import col, select
from twilio.twiml.messaging_response import MessagingResponse

from alerts.alert_types.content import AlertContent
from alerts.alert_types.recordings import Segment, message_segments, segment_renderer
from alerts.api.deps import DepsDep
from alerts.columns import utcnow
from alerts.delivery.messages import voice_content
from alerts.delivery.statuses import apply_status
from alerts.deps import AlertDeps, Tts
from alerts.models import Alert, ContactPoint, DeliveryAttempt, HandOff, Response
from alerts.responses import voice_script
from alerts.responses.actions import perform, schedule_callback
from alerts.responses.keywords import apply_keyword, keyword_of, reply_for
from alerts.responses.record import match_sms_reply, record_response
from channels.base import Channel

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

SMS_REPLIES = {
    "agent": "Thank you. An agent will call you back shortly.",
    "callback": "Thank you. We will call you back.",
    "confirm": "Thank you for confirming. No further action is needed.",
    "opt_out": "You will no longer receive these alerts. Manage all your alerts from the link "
    "in any email from us.",
    "unknown": "Thank you. An agent will read your message and get back to you.",
    "email_copy": "Thank you. We are sending this to you by email.",
}
SMS_TASK_REPLY = "Thank you. Our team will take care of your request."
VOICE_GOODBYES = {
    "confirm": "Thank you. We have noted your confirmation. Goodbye.",
    "callback": "Thank you. We will call you back as soon as an agent is free. Goodbye.",
    "opt_out": "You will no longer receive these alerts. Goodbye.",
    "transaction": "Thank you. Our team will take care of your request. Goodbye.",
    "sms_copy": "Thank you. We will send you this message by text. Goodbye.",
    "email_copy": "Thank you. We will send you this message by email. Goodbye.",
}


async def verified_form(request: Request, deps: AlertDeps, channel: Channel) -> dict[str, str]:
    """The callback's form parameters, or 403 when X-Twilio-Signature does not match."""
    form = await request.form()
    params = {k: str(v) for k, v in form.items()}
    url = deps.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not channel.verify(url, params, request.headers.get("X-Twilio-Signature")):
        logger.warning("forged or misaddressed webhook refused path=%s", request.url.path)
        raise HTTPException(
            403,
            "invalid X-Twilio-Signature: the request was not signed by "
            "Twilio for this URL (check HERALD_PUBLIC_URL)",
        )
    return params


def twiml(body: str) -> HttpResponse:
    return HttpResponse(content=body, media_type="application/xml")


async def _voice_context(deps: AlertDeps, attempt_id: int) -> tuple[AlertContent, dict[str, Any]]:
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        alert = await session.get(Alert, attempt.alert_id) if attempt else None
        if attempt is None or alert is None:
            raise HTTPException(404, f"no voice attempt {attempt_id}")
        return await voice_content(deps, session, alert, attempt)


@router.post("/voice/{attempt_id}/twiml")
async def voice_twiml(
    attempt_id: int, request: Request, deps: DepsDep, n: int = 0, reprompt: int = 0
) -> HttpResponse:
    params = await verified_form(request, deps, deps.channels["voice"])
    renderer, ctx = await _voice_context(deps, attempt_id)
    tts = deps.tts(renderer.locale)
    base = f"{deps.public_url}/webhooks/twilio/voice/{attempt_id}"
    if params.get("AnsweredBy", "").startswith("machine"):
        return twiml(
            voice_script.voicemail(
                text=renderer.render("voicemail", ctx), voice=tts.voice, language=tts.language
            )
        )
    prompt = renderer.render("prompt", ctx)
    if reprompt:
        return twiml(
            voice_script.reprompt(
                base=base, prompt=prompt, n=n, voice=tts.voice, language=tts.language
            )
        )
    message: str | list[Segment] = renderer.render("message", ctx)
    if deps.media is not None:
        async with deps.sessions() as session:
            message = await message_segments(
                session,
                spec=renderer.spec,
                locale=renderer.locale,
                render=segment_renderer(ctx, where=f"content.{renderer.locale}.voice.message"),
                public_url=deps.public_url,
                signer=deps.media,
            )
        logger.info(
            "voice script attempt_id=%s: %s",
            attempt_id,
            "; ".join(f"{s.index}: {s.why}" for s in message),
        )
    return twiml(
        voice_script.main_menu(
            base=base,
            message=message,
            prompt=prompt,
            n=n,
            voice=tts.voice,
            language=tts.language,
        )
    )


@router.post("/voice/connect/{handoff_id}")
async def voice_connect(handoff_id: int, request: Request, deps: DepsDep) -> HttpResponse:
    """The "call me now" call: the customer answered; connect them to the call centre."""
    await verified_form(request, deps, deps.channels["voice"])
    logger.info("call-me-now answered, connecting to the call centre handoff_id=%s", handoff_id)
    return twiml(transfer_twiml(deps, handoff_id))


@router.post("/voice/{attempt_id}/gather")
async def voice_gather(
    attempt_id: int, request: Request, deps: DepsDep, n: int = 1, tries: int = 0
) -> HttpResponse:
    params = await verified_form(request, deps, deps.channels["voice"])
    inbound = deps.channels["voice"].parse_inbound(params)
    digits = inbound.body
    base = f"{deps.public_url}/webhooks/twilio/voice/{attempt_id}"
    renderer, ctx = await _voice_context(deps, attempt_id)
    tts = deps.tts(renderer.locale)
    result = await record_response(
        deps=deps,
        dedupe_key=f"voice:{inbound.provider_sid}:{n}",
        attempt_id=attempt_id,
        channel="voice",
        key=digits,
        text=None,
        now=utcnow(),
    )
    intent = result.intent
    now = utcnow()
    if intent == "agent":
        handoff_id = result.handoff.id if result.handoff else None
        return twiml(transfer_twiml(deps, handoff_id, tts))
    if intent == "callback" and result.handoff is not None and not result.duplicate:
        action = f"{base}/callback?handoff={result.handoff.id}"
        return twiml(
            voice_script.ask_callback_time(action=action, voice=tts.voice, language=tts.language)
        )
    if intent in ("transaction", "sms_copy", "email_copy") and not result.duplicate:
        done = await perform(deps=deps, response_id=result.response.id or 0, now=now)
        text = done.text or VOICE_GOODBYES[intent]
        return twiml(voice_script.goodbye(text=text, voice=tts.voice, language=tts.language))
    if intent in VOICE_GOODBYES:
        return twiml(
            voice_script.goodbye(
                text=VOICE_GOODBYES[intent], voice=tts.voice, language=tts.language
            )
        )
    if intent == "repeat" and n <= voice_script.MAX_REPEATS * 2:
        return twiml(voice_script.repeat(base=base, n=n))
    if tries < voice_script.MAX_INVALID:
        return twiml(
            voice_script.reprompt(
                base=base,
                prompt=renderer.render("prompt", ctx),
                n=n,
                voice=tts.voice,
                language=tts.language,
                lead=voice_script.INVALID if digits else None,
                tries=tries + 1,
            )
        )
    return twiml(
        voice_script.goodbye(text=voice_script.GOODBYE, voice=tts.voice, language=tts.language)
    )


def transfer_twiml(deps: AlertDeps, handoff_id: int | None, tts: Tts | None = None) -> str:
    """To an agent: <Enqueue> into the centre's queue, or <Dial> its number with a whisper."""
    whisper = (
        f"{deps.public_url}/webhooks/twilio/voice/whisper/{handoff_id}" if handoff_id else None
    )
    tts = tts or deps.tts()
    return voice_script.transfer(
        number=deps.callcentre_number,
        caller_id=None,
        voice=tts.voice,
        language=tts.language,
        whisper_url=whisper,
        queue=deps.transfer_queue,
    )


@router.post("/voice/{attempt_id}/callback")
async def voice_callback_time(
    attempt_id: int, request: Request, deps: DepsDep, handoff: int = 0
) -> HttpResponse:
    """The time the customer keyed in for the callback (or nothing: the first free slot)."""
    params = await verified_form(request, deps, deps.channels["voice"])
    async with deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, attempt_id)
        row = await session.get(HandOff, handoff)
        if attempt is None or row is None or row.alert_id != attempt.alert_id:
            raise HTTPException(404, f"no callback hand-off {handoff} for attempt {attempt_id}")
    renderer, _ = await _voice_context(deps, attempt_id)
    tts = deps.tts(renderer.locale)
    _, text = await schedule_callback(
        deps=deps, handoff_id=handoff, keyed=params.get("Digits", ""), now=utcnow()
    )
    return twiml(
        voice_script.goodbye(text=text + " Goodbye.", voice=tts.voice, language=tts.language)
    )


def whisper_text(handoff: HandOff | None) -> str:
    """The alert in one breath, for the agent before the customer is put through."""
    if handoff is None:
        return "Herald alert transfer. No details were found for this call."
    ctx = handoff.context or {}
    customer = ctx.get("customer", {}).get("name", "a customer")
    alert = ctx.get("alert", {})
    kind = str(alert.get("type", "alert")).replace("_", " ")
    amount = " ".join(str(alert.get(k, "")) for k in ("amount", "currency")).strip()
    what = ", ".join(p for p in (amount, str(alert.get("description", ""))) if p)
    answer = ctx.get("answer", {})
    return (
        f"Herald {kind} alert for {customer}"
        + (f": {what}" if what else "")
        + f". They pressed {answer.get('key', '')} to speak to an agent. "
        "Details are on your screen."
    )


@router.post("/voice/whisper/{handoff_id}")
async def voice_whisper(handoff_id: int, request: Request, deps: DepsDep) -> HttpResponse:
    """Heard by the agent only, when they answer the transferred call."""
    await verified_form(request, deps, deps.channels["voice"])
    async with deps.sessions() as session:
        handoff = await session.get(HandOff, handoff_id)
    return twiml(
        voice_script.whisper(
            summary=whisper_text(handoff), voice=deps.tts().voice, language=deps.tts().language
        )
    )


@router.post("/voice/agent")
async def voice_agent_dequeue(request: Request, deps: DepsDep) -> HttpResponse:
    """Queue mode: point the agents' phone number here to take the next waiting customer."""
    await verified_form(request, deps, deps.channels["voice"])
    queue = deps.transfer_queue or "herald"
    return twiml(
        voice_script.agent_dequeue(
            queue=queue, whisper_url=f"{deps.public_url}/webhooks/twilio/voice/whisper-queue"
        )
    )


@router.post("/voice/whisper-queue")
async def voice_whisper_queue(request: Request, deps: DepsDep) -> HttpResponse:
    """Queue mode: the whisper for the caller being dequeued (found by their call sid)."""
    params = await verified_form(request, deps, deps.channels["voice"])
    async with deps.sessions() as session:
        attempt = (
            await session.exec(
                select(DeliveryAttempt).where(
                    DeliveryAttempt.provider_sid == params.get("CallSid", "")
                )
            )
        ).first()
        handoff = None
        if attempt is not None:
            handoff = (
                await session.exec(
                    select(HandOff)
                    .where(HandOff.alert_id == attempt.alert_id, HandOff.kind == "live_transfer")
                    .order_by(col(HandOff.id).desc())
                )
            ).first()
    return twiml(
        voice_script.whisper(
            summary=whisper_text(handoff), voice=deps.tts().voice, language=deps.tts().language
        )
    )


@router.post("/{kind}/{attempt_id}/status")
async def status_callback(
    kind: Literal["voice", "sms"], attempt_id: int, request: Request, deps: DepsDep
) -> dict[str, str]:
    """Call or message status from Twilio; applied only if it moves the attempt forward."""
    channel = deps.channels[kind]
    params = await verified_form(request, deps, channel)
    result = await apply_status(
        deps=deps, attempt_id=attempt_id, update=channel.parse_status(params), now=utcnow()
    )
    return {"result": result}


@router.post("/sms/inbound")
async def sms_inbound(request: Request, deps: DepsDep) -> HttpResponse:
    channel = deps.channels["sms"]
    params = await verified_form(request, deps, channel)
    inbound = channel.parse_inbound(params)
    now = utcnow()
    keyword = keyword_of(inbound.body)
    if keyword is not None:
        return await _sms_keyword(deps, inbound.provider_sid, inbound.from_address, keyword, now)
    async with deps.sessions() as session:
        attempt_id, alert_id, customer_id = await match_sms_reply(
            session=session,
            from_number=inbound.from_address,
            now=now,
            window_hours=deps.reply_window_hours,
        )
    result = await record_response(
        deps=deps,
        dedupe_key=f"sms:{inbound.provider_sid}",
        attempt_id=attempt_id,
        channel="sms",
        key=inbound.body[:20],
        text=inbound.body,
        now=now,
        alert_id=alert_id,
        customer_id=customer_id,
    )
    reply = MessagingResponse()
    if not result.duplicate:
        text = SMS_REPLIES.get(result.intent, SMS_TASK_REPLY)
        if result.intent in ("transaction", "email_copy"):
            done = await perform(deps=deps, response_id=result.response.id or 0, now=now)
            text = done.text or text
        reply.message(text)
    return twiml(str(reply))


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


async def _sms_keyword(
    deps: AlertDeps, sid: str, number: str, keyword: str, now: datetime
) -> HttpResponse:
    """STOP / START / HELP: change the opt-out, keep it in the history, confirm at most once."""
    async with deps.sessions() as session:
        if (
            await session.exec(select(Response).where(Response.dedupe_key == f"sms:{sid}"))
        ).first():
            return twiml(str(MessagingResponse()))  # a retried webhook: nothing again
        changed = await apply_keyword(session=session, number=number, keyword=keyword, now=now)
        _, alert_id, customer_id = await match_sms_reply(
            session=session, from_number=number, now=now, window_hours=deps.reply_window_hours
        )
    await record_response(
        deps=deps,
        dedupe_key=f"sms:{sid}",
        attempt_id=None,
        channel="sms",
        key=keyword.upper(),
        text=keyword.upper(),
        now=now,
        alert_id=alert_id,
        customer_id=customer_id,
        intent=keyword,
    )
    reply = MessagingResponse()
    text = reply_for(
        keyword, brand=deps.brand, callcentre_number=deps.callcentre_number, changed=changed
    )
    if text and keyword == "help" and customer_id is not None and await _sole_owner(deps, number):
        token = deps.links.sign_preferences(customer_id)
        text += f" Choose which alerts you get: {deps.public_url}/p/{token}"
    if text:
        reply.message(text)
    return twiml(str(reply))
