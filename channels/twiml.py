"""Twilio's wire format for webhook answers: voice scripts and SMS replies as TwiML.

The only place Herald writes TwiML. Each step of a ``channels.scripts.VoiceScript`` becomes one
verb; every URL Twilio follows is requested with POST (so the request is signed over its form
parameters, which ``TwilioAccount.verify`` checks).
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from channels.scripts import (
    AskForKeys,
    ContinueAt,
    EndCall,
    PlayAudio,
    Speak,
    TakeFromQueue,
    TextReply,
    TransferToNumber,
    VoiceScript,
    VoiceStep,
    WaitInQueue,
    WebhookReply,
)

MEDIA_TYPE = "application/xml"


def render(what: VoiceScript | TextReply) -> WebhookReply:
    """The TwiML document answering a voice webhook (a script) or an SMS one (replies)."""
    body = voice_twiml(what) if isinstance(what, VoiceScript) else messaging_twiml(what)
    return WebhookReply(body=body, media_type=MEDIA_TYPE)


def messaging_twiml(reply: TextReply) -> str:
    response = MessagingResponse()
    for text in reply.messages:
        response.message(text)
    return str(response)


def voice_twiml(script: VoiceScript) -> str:
    response = VoiceResponse()
    for step in script.steps:
        _append(response, step)
    return str(response)


def _post(url: str | None) -> str | None:
    return "POST" if url else None


def _say_or_play(parent: VoiceResponse | Gather, step: Speak | PlayAudio) -> None:
    if isinstance(step, Speak):
        parent.say(step.text, voice=step.voice, language=step.language)
    else:
        parent.play(step.url)


def _gather(step: AskForKeys) -> Gather:
    gather = Gather(
        num_digits=step.max_keys,
        finish_on_key=step.end_key,
        timeout=step.timeout_s,
        action=step.action,
        method="POST",
        input="dtmf",
        action_on_empty_result=True if step.submit_empty else None,
    )
    for prompt in step.prompts:
        _say_or_play(gather, prompt)
    return gather


def _dial(step: TransferToNumber) -> Dial:
    dial = Dial(caller_id=step.caller_id, action=step.done_url, method=_post(step.done_url))
    dial.number(step.number, url=step.whisper_url, method=_post(step.whisper_url))
    return dial


def _append(response: VoiceResponse, step: VoiceStep) -> None:
    match step:
        case Speak() | PlayAudio():
            _say_or_play(response, step)
        case AskForKeys():
            response.append(_gather(step))
        case ContinueAt(url=url):
            response.redirect(url, method="POST")
        case EndCall():
            response.hangup()
        case TransferToNumber():
            response.append(_dial(step))
        case WaitInQueue(queue=queue, wait_url=wait_url, done_url=done_url):
            response.enqueue(
                queue,
                action=done_url,
                method=_post(done_url),
                wait_url=wait_url,
                wait_url_method=_post(wait_url),
            )
        case TakeFromQueue(queue=queue, announce_url=url):
            dial = Dial()
            dial.queue(queue, url=url, method="POST")
            response.append(dial)
