"""Studio "Try it as the customer": a phone in the browser driving Herald's real voice webhooks.

Each step signs a Twilio-style request (the Twilio simulator's WebhookSender) and posts it,
in-process, to the same /webhooks/twilio/voice routes Twilio calls; the TwiML they answer is
read back (the simulator's parser) into what the phone's screen shows.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlmodel import col, select
from starlette.responses import HTMLResponse, Response

from admin_ui.routes import csrf_refused
from admin_ui.security import SessionDep, csrf_ok, require_page
from admin_ui.studio.access import CanEdit, CanView
from admin_ui.studio.editor import draft_spec
from admin_ui.studio.views import editor_locales, studio_page
from alerts.access import allowed
from alerts.alert_types.speech import SpeechUnavailable, synthesise
from alerts.alert_types.speech import available as speech_available
from alerts.api.deps import get_deps
from alerts.columns import utcnow
from alerts.models import Alert
from alerts.responses.trial import (
    TRIAL_EMAIL,
    TRIAL_PHONE,
    close_trial_handoffs,
    send_test,
    start_trial_call,
    trial_attempt,
)
from channels.twilio_sim.twiml import TwimlError, parse_twiml, text_of
from channels.twilio_sim.webhooks import WebhookSender

router = APIRouter(include_in_schema=False)
BASE = "/admin/alert-types"
MAX_REDIRECTS = 5
MAX_SPOKEN = 1000
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")


@dataclass
class Screen:
    """What the phone shows after one step: the lines heard, and what the caller can do."""

    lines: list[dict[str, str]] = field(default_factory=list)
    gather: str = ""  # the action the next key press goes to ("" when the menu is over)
    ended: bool = False
    error: str = ""


class _Caller:
    """Posts signed requests for one trial call to Herald's own app."""

    def __init__(self, request: Request, call_sid: str, to: str) -> None:
        settings = request.app.state.settings
        self.public_url = get_deps(request).public_url
        transport = httpx.ASGITransport(app=request.app)
        self.sender = WebhookSender(settings.twilio_auth_token, transport=transport)
        self.params = {
            "CallSid": call_sid,
            "AccountSid": "ACtrial",
            "From": "+15555550199",
            "To": to,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "AnsweredBy": "human",
        }

    async def post(self, url: str, extra: dict[str, str] | None = None) -> tuple[int, bytes]:
        sent, body = await self.sender.send("trial", url, {**self.params, **(extra or {})})
        return sent.status or 0, body


def _say(line: str, verb: ET.Element, who: str = "customer") -> dict[str, str]:
    return {"kind": line, "text": text_of(verb) if line == "say" else verb.text or "", "who": who}


async def _read(caller: _Caller, url: str, extra: dict[str, str] | None = None) -> Screen:
    """Post to ``url`` and follow what it answers (redirects, the agent's whisper)."""
    screen = Screen()
    for _ in range(MAX_REDIRECTS):
        status, body = await caller.post(url, extra)
        extra = None
        if status != 200:
            screen.error = f"Herald answered {status}: {body[:300].decode(errors='replace')}"
            screen.ended = True
            return screen
        try:
            root = parse_twiml(body)
        except TwimlError as exc:
            screen.error = f"Herald's answer is not a call script: {exc}"
            screen.ended = True
            return screen
        nxt = await _verbs(caller, root, screen)
        if nxt is None:
            return screen
        url = nxt
    screen.ended = True
    return screen


async def _verbs(caller: _Caller, root: ET.Element, screen: Screen) -> str | None:
    """Add ``root``'s verbs to the screen; the URL of a <Redirect>, else None."""
    for verb in root:
        if verb.tag in ("Say", "Play"):
            screen.lines.append(_say(verb.tag.lower(), verb))
        elif verb.tag == "Gather":
            for inner in verb:
                if inner.tag in ("Say", "Play"):
                    screen.lines.append(_say(inner.tag.lower(), inner))
            screen.gather = verb.get("action", "")
            return None
        elif verb.tag == "Dial":
            await _dial(caller, verb, screen)
            screen.ended = True
            return None
        elif verb.tag == "Enqueue":
            screen.lines.append(
                {"kind": "queue", "text": f"Waits for the next free agent ({text_of(verb)})."}
            )
            screen.ended = True
            return None
        elif verb.tag == "Redirect":
            return (verb.text or "").strip()
        elif verb.tag == "Hangup":
            screen.ended = True
            return None
    screen.ended = True
    return None


async def _dial(caller: _Caller, verb: ET.Element, screen: Screen) -> None:
    for number in verb:
        if number.tag == "Queue":
            screen.lines.append({"kind": "transfer", "text": f"queue {text_of(number)}"})
            continue
        screen.lines.append({"kind": "transfer", "text": text_of(number)})
        if whisper := number.get("url"):
            heard = await _read(caller, whisper)
            for line in heard.lines:
                screen.lines.append({**line, "who": "agent"})


_DEFAULTS: dict[str, Any] = {
    "gone": "",
    "attempt": 0,
    "pressed": "",
    "handoffs": [],
    "locales": [],
    "problems": [],
    "screen": None,
    "sent": None,
    "send_error": "",
    "locale": "en",
    "sms": None,
    "sms_error": "",
    "email_trial": None,  # the trial email shown (admin_ui.studio.email_trial)
    "email_answers": [],
    "email_error": "",
}


def _simulated(request: Request) -> dict[str, bool]:
    settings = request.app.state.settings
    return {"sms": bool(settings.twilio.simulated), "email": not settings.smtp.host}


def phone_view(request: Request, user: Any, key: str, spec: Any, **values: Any) -> HTMLResponse:
    return studio_page(
        request,
        "phone.html",
        user,
        title=f"Try it as the customer · {spec.name}" if spec else "Try it as the customer",
        key=key,
        spec=spec,
        keys=KEYS,
        simulated=_simulated(request),
        speech=speech_available(),
        trial_to={"sms": TRIAL_PHONE, "email": TRIAL_EMAIL},
        may_send=allowed(user.role, "edit_drafts"),
        **{**_DEFAULTS, **values},
    )


@router.get(f"{BASE}/{{key}}/phone")
async def phone_page(
    key: str, request: Request, user: CanView, session: SessionDep
) -> HTMLResponse:
    spec, problems = await draft_spec(session, key)
    locales = editor_locales(spec.as_json()) if spec else []
    return phone_view(request, user, key, spec, problems=problems, locales=locales, screen=None)


@router.post(f"{BASE}/{{key}}/phone", response_model=None)
async def phone_step(key: str, request: Request, user: CanView, session: SessionDep) -> Response:
    """Start the call (no ``attempt``), or press a key in it."""
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return csrf_refused(request, user)
    spec, problems = await draft_spec(session, key)
    if spec is None:
        return phone_view(request, user, key, None, problems=problems, locales=[], screen=None)
    deps = get_deps(request)
    started = utcnow()
    locales = editor_locales(spec.as_json())
    attempt_text = str(form.get("attempt", ""))
    digits = str(form.get("digits", ""))
    if not attempt_text:
        locale = str(form.get("locale", ""))
        locale = locale if locale in locales else locales[-1]
        call = await start_trial_call(
            deps=deps,
            spec=spec,
            locale=spec.content_locale(locale, "voice"),
            actor=user.username,
            now=utcnow(),
        )
        caller = _Caller(request, call.call_sid, call.to)
        url = f"{deps.public_url}/webhooks/twilio/voice/{call.attempt_id}/twiml"
        screen = await _read(caller, url)
        attempt_id = call.attempt_id
    else:
        found = (
            await trial_attempt(deps=deps, key=key, attempt_id=int(attempt_text))
            if attempt_text.isdigit()
            else None
        )
        action = str(form.get("action", ""))
        if found is None or not action.startswith(
            f"{deps.public_url}/webhooks/twilio/voice/{attempt_text}/"
        ):
            return phone_view(
                request,
                user,
                key,
                spec,
                problems=[],
                locales=locales,
                screen=None,
                gone="That trial call is over or was not found. Start a new call.",
                status_code=422,
            )
        if digits not in KEYS and digits != "":
            digits = ""
        attempt, _ = found
        caller = _Caller(request, attempt.provider_sid or "", attempt.address)
        screen = await _read(caller, action, {"Digits": digits})
        attempt_id = attempt.id or 0
    handoffs = []
    voice_locale = "en"
    if found_alert := await trial_attempt(deps=deps, key=key, attempt_id=attempt_id):
        voice_locale = found_alert[1].locale
        handoffs = await close_trial_handoffs(
            deps=deps, alert_id=found_alert[1].id or 0, since=started, now=utcnow()
        )
    return phone_view(
        request,
        user,
        key,
        spec,
        problems=[],
        locales=locales,
        screen=screen,
        attempt=attempt_id,
        pressed=digits,
        handoffs=handoffs,
        locale=voice_locale,
    )


@router.post(f"{BASE}/{{key}}/test-send", response_model=None)
async def test_send(key: str, request: Request, user: CanEdit, session: SessionDep) -> Response:
    """Send the draft once by SMS or email: to a simulated recipient by default, or to the
    address the administrator gives (their own) when real providers are configured."""
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return csrf_refused(request, user)
    spec, problems = await draft_spec(session, key)
    if spec is None:
        return phone_view(request, user, key, None, problems=problems)
    locales = editor_locales(spec.as_json())
    raw = str(form.get("channel", ""))
    channel: Literal["sms", "email"] = "email" if raw == "email" else "sms"
    address = str(form.get("to", "")).strip()
    error = ""
    if raw not in ("sms", "email"):
        error = "Choose SMS or email."
    elif channel not in spec.content.get(spec.content_locale(locales[-1], channel), {}):
        error = f"This draft has no {channel.upper() if channel == 'sms' else channel} text yet."
    elif not address:
        error = "Give the phone number or email address to send the test to (your own)."
    elif channel == "email" and "@" not in address:
        error = f"“{address}” is not an email address, e.g. you@example.com."
    elif channel == "sms" and not (address.startswith("+") and address[1:].isdigit()):
        error = f"“{address}” is not a phone number in international form, e.g. +31612345678."
    if error:
        return phone_view(
            request, user, key, spec, locales=locales, send_error=error, status_code=422
        )
    sent = await send_test(
        deps=get_deps(request),
        spec=spec,
        locale=spec.content_locale(locales[-1], channel),
        channel=channel,
        address=address,
        actor=user.username,
        now=utcnow(),
    )
    return phone_view(request, user, key, spec, locales=locales, sent=sent)


@router.get(f"{BASE}/{{key}}/phone/say.wav", dependencies=[Depends(require_page("view"))])
async def say_audio(text: str = "", locale: str = "en") -> Response:
    """One sentence of the trial call, spoken on the server (espeak-ng, an approximation of the
    provider's voice), like the preview's /preview/voice.wav."""
    if not text.strip() or len(text) > MAX_SPOKEN:
        return PlainTextResponse(
            f"Nothing to say: give 1 to {MAX_SPOKEN} characters of text.", status_code=422
        )
    try:
        audio = await synthesise(text, locale)
    except SpeechUnavailable as exc:
        return PlainTextResponse(f"No audio: {exc}.", status_code=503)
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store"})


@router.post(f"{BASE}/{{key}}/sms-reply", response_model=None)
async def sms_reply(key: str, request: Request, user: CanView, session: SessionDep) -> Response:
    """Reply to the test SMS as the pretend customer: a signed request to Herald's real SMS
    inbound webhook, and the answer it sends back. Only from the pretend number, so a reply
    can never act on a real customer's alert."""
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return csrf_refused(request, user)
    spec, problems = await draft_spec(session, key)
    if spec is None:
        return phone_view(request, user, key, None, problems=problems)
    locales = editor_locales(spec.as_json())
    body = str(form.get("body", "")).strip()
    if not body or len(body) > 160:
        return phone_view(
            request,
            user,
            key,
            spec,
            locales=locales,
            sms_error="Type the reply the customer would send (1 to 160 characters), e.g. 1.",
            status_code=422,
        )
    deps = get_deps(request)
    started = utcnow()
    caller = _Caller(request, "", TRIAL_PHONE)
    params = {
        "MessageSid": "SMtrial" + secrets.token_hex(13),
        "AccountSid": "ACtrial",
        "From": TRIAL_PHONE,
        "To": deps.callcentre_number or "+15555550199",
        "Body": body,
    }
    sent, answer = await caller.sender.send(
        "trial", f"{deps.public_url}/webhooks/twilio/sms/inbound", params
    )
    replies: list[str] = []
    error = ""
    if sent.status != 200:
        error = f"Herald answered {sent.status or 'nothing'}: {sent.body or sent.error or ''}"
    else:
        try:
            replies = [text_of(m) for m in parse_twiml(answer) if m.tag == "Message"]
        except TwimlError as exc:
            error = f"Herald's answer is not a text reply: {exc}"
    async with deps.sessions() as db:
        alert_ids = (
            await db.exec(
                select(col(Alert.id)).where(col(Alert.trial), col(Alert.alert_type) == key)
            )
        ).all()
    handoffs = []
    for alert_id in alert_ids:
        handoffs += await close_trial_handoffs(
            deps=deps, alert_id=alert_id or 0, since=started, now=utcnow()
        )
    return phone_view(
        request,
        user,
        key,
        spec,
        locales=locales,
        sms={"body": body, "replies": replies, "error": error},
        handoffs=handoffs,
    )
