"""Thin webhook routes for Twilio: verify the signature, parse through the channel, call one
service of alerts.responses, answer with what the channel renders.

A request that does not belong to the attempt or hand-off its path names is refused by the
service (``alerts.responses.matching.Mismatch``): 404 when that does not exist, 409 when it is
about another call or channel, recorded as ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response as HttpResponse
from pydantic import BaseModel

from alerts.columns import utcnow
from alerts.deps import AlertDeps
from alerts.responses import sms, transfers, voice
from alerts.responses.matching import Mismatch, apply_provider_status
from channels.base import AnsweringChannel, Channel, InboundMessage, answering
from channels.scripts import TextReply, VoiceScript

logger = logging.getLogger(__name__)


class WebhookRefusal(BaseModel):
    """Why a provider callback was refused (these routes are outside /api/ and its envelope)."""

    detail: str


async def webhook_deps(request: Request) -> AlertDeps:
    """The alert services' deps. A coroutine on purpose: FastAPI runs a plain function
    dependency in its thread pool, a thread hop per webhook (``alerts.api.deps.get_deps``)."""
    deps: AlertDeps = request.app.state.deps
    return deps


DepsDep = Annotated[AlertDeps, Depends(webhook_deps)]


router = APIRouter(
    prefix="/webhooks/twilio",
    tags=["webhooks"],
    responses={403: {"model": WebhookRefusal, "description": "not signed by the provider"}},
)


async def form_params(request: Request) -> dict[str, str]:
    """The request's form fields (a repeated field: its last value, as Starlette's form).
    Providers post URL-encoded forms: those are decoded here, which costs a tenth of
    Starlette's form parser; anything else goes through it."""
    kind = request.headers.get("content-type", "")
    if kind.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        form = await request.form()
        return {k: str(v) for k, v in form.items()}
    body = (await request.body()).decode("latin-1")  # %-escapes are UTF-8, as Starlette's
    return dict(parse_qsl(body, keep_blank_values=True))


async def verified_form(request: Request, deps: AlertDeps, channel: Channel) -> dict[str, str]:
    """The callback's form parameters, or 403 when the provider's signature does not match."""
    params = await form_params(request)
    url = deps.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    header = answering(channel).signature_header
    if not channel.verify(url, params, request.headers.get(header)):
        logger.warning("forged or misaddressed webhook refused path=%s", request.url.path)
        raise HTTPException(
            403,
            f"invalid {header}: the request was not signed by the provider for this URL "
            "(check HERALD_PUBLIC_URL)",
        )
    return params


async def inbound_of(
    request: Request, deps: AlertDeps, kind: str
) -> tuple[AnsweringChannel, InboundMessage]:
    """The verified request as the channel of ``kind`` reads it."""
    channel = deps.channels[kind]
    params = await verified_form(request, deps, channel)
    answerer = answering(channel)
    return answerer, answerer.parse_inbound(params)


async def answer(
    channel: AnsweringChannel, work: Awaitable[VoiceScript | TextReply]
) -> HttpResponse:
    """The service's script rendered by the channel; a mismatched request as its 404 / 409."""
    try:
        script = await work
    except Mismatch as refused:
        raise HTTPException(refused.status, refused.reason) from None
    return rendered(channel, script)


def rendered(channel: AnsweringChannel, script: VoiceScript | TextReply) -> HttpResponse:
    reply = channel.reply(script)
    return HttpResponse(content=reply.body, media_type=reply.media_type)


@router.post("/voice/{attempt_id}/twiml")
async def voice_twiml(
    attempt_id: int,
    request: Request,
    deps: DepsDep,
    n: int = 0,
    reprompt: int = 0,
    lang: str = "",
) -> HttpResponse:
    """The alert's call was answered (or re-prompts after silence): what it says (``lang=en``:
    the call replayed in English after the customer pressed 8)."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = voice.call_script(
        deps=deps,
        attempt_id=attempt_id,
        inbound=inbound,
        n=n,
        reprompt=bool(reprompt),
        now=utcnow(),
        lang=lang,
    )
    return await answer(channel, script)


@router.post("/voice/{attempt_id}/gather")
async def voice_gather(
    attempt_id: int,
    request: Request,
    deps: DepsDep,
    n: int = 1,
    tries: int = 0,
    lang: str = "",
) -> HttpResponse:
    """The key the customer pressed in the alert's call."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = voice.keypress(
        deps=deps,
        attempt_id=attempt_id,
        inbound=inbound,
        n=n,
        tries=tries,
        now=utcnow(),
        lang=lang,
    )
    return await answer(channel, script)


@router.post("/voice/{attempt_id}/callback")
async def voice_callback_time(
    attempt_id: int, request: Request, deps: DepsDep, handoff: int = 0
) -> HttpResponse:
    """The time the customer keyed in for the callback (or nothing: the first free slot)."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = voice.callback_keyed(
        deps=deps, attempt_id=attempt_id, handoff_id=handoff, inbound=inbound, now=utcnow()
    )
    return await answer(channel, script)


@router.post("/voice/connect/{handoff_id}")
async def voice_connect(handoff_id: int, request: Request, deps: DepsDep) -> HttpResponse:
    """The "call me now" call: the customer answered; connect them to the call centre."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = transfers.customer_answered(
        deps=deps, handoff_id=handoff_id, inbound=inbound, now=utcnow()
    )
    return await answer(channel, script)


@router.post("/voice/whisper/{handoff_id}")
async def voice_whisper(handoff_id: int, request: Request, deps: DepsDep) -> HttpResponse:
    """Heard by the agent only, when they answer the transferred call."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = transfers.agent_answered(
        deps=deps, handoff_id=handoff_id, inbound=inbound, now=utcnow()
    )
    return await answer(channel, script)


@router.post("/voice/transfer/{handoff_id}/done")
async def voice_transfer_done(handoff_id: int, request: Request, deps: DepsDep) -> HttpResponse:
    """How the transfer to an agent ended (the dial's or the queue's end)."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = transfers.transfer_ended(
        deps=deps, handoff_id=handoff_id, inbound=inbound, now=utcnow()
    )
    return await answer(channel, script)


@router.post("/voice/agent")
async def voice_agent_dequeue(request: Request, deps: DepsDep) -> HttpResponse:
    """Queue mode: point the agents' phone number here to take the next waiting customer."""
    channel, _ = await inbound_of(request, deps, "voice")
    return rendered(channel, transfers.agent_takes_next(deps=deps))


@router.post("/voice/whisper-queue")
async def voice_whisper_queue(request: Request, deps: DepsDep) -> HttpResponse:
    """Queue mode: an agent takes the caller (found by their call) from the queue."""
    channel, inbound = await inbound_of(request, deps, "voice")
    script = transfers.queue_caller_taken(deps=deps, inbound=inbound, now=utcnow())
    return await answer(channel, script)


@router.post("/{kind}/{attempt_id}/status")
async def status_callback(
    kind: Literal["voice", "sms"], attempt_id: int, request: Request, deps: DepsDep
) -> dict[str, str]:
    """Call or message status from Twilio; applied only if it is about this attempt and moves
    it forward."""
    channel = deps.channels[kind]
    params = await verified_form(request, deps, channel)
    try:
        result = await apply_provider_status(
            deps=deps,
            kind=kind,
            attempt_id=attempt_id,
            update=channel.parse_status(params),
            now=utcnow(),
        )
    except Mismatch as refused:
        raise HTTPException(refused.status, refused.reason) from None
    return {"result": result}


@router.post("/sms/inbound")
async def sms_inbound(request: Request, deps: DepsDep) -> HttpResponse:
    """An SMS to one of Herald's numbers: a keyword, an answer, or a message for an agent."""
    channel, inbound = await inbound_of(request, deps, "sms")
    return await answer(channel, sms.text_received(deps=deps, inbound=inbound, now=utcnow()))
