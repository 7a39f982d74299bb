"""The voice alert as TwiML: message, press-to-respond menu, re-prompts, transfer to an agent."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from alerts.alert_types.recordings import Segment

GOODBYE = "We did not receive an answer. Goodbye."
INVALID = "Sorry, that is not a valid choice."
MAX_REPEATS = 3


def _gather(action: str) -> Gather:
    return Gather(num_digits=1, timeout=6, action=action, method="POST", input="dtmf")


def _url(base: str, **params: int | str) -> str:
    return f"{base}?{urlencode(params)}"


def main_menu(
    *,
    base: str,
    message: str | Sequence[Segment],
    prompt: str,
    n: int,
    voice: str,
    language: str,
) -> str:
    """Message and menu; silence re-prompts once via a Redirect, then says goodbye. The message
    is text, or segments: recorded audio (<Play>) and text-to-speech (<Say>) in order."""
    resp = VoiceResponse()
    gather = _gather(_url(f"{base}/gather", n=n + 1, tries=0))
    for segment in [message] if isinstance(message, str) else message:
        if isinstance(segment, str) or segment.kind == "say":
            text = segment if isinstance(segment, str) else segment.value
            gather.say(text, voice=voice, language=language)
        else:
            gather.play(segment.value)
    gather.say(prompt, voice=voice, language=language)
    resp.append(gather)
    resp.redirect(_url(f"{base}/twiml", n=n + 1, reprompt=1), method="POST")
    return str(resp)


MAX_INVALID = 2  # an invalid key re-prompts at most twice


def reprompt(
    *,
    base: str,
    prompt: str,
    n: int,
    voice: str,
    language: str,
    lead: str | None = None,
    tries: int = 1,
) -> str:
    """Another chance after silence or an invalid key (``tries`` counts the invalid keys);
    silence after it says goodbye."""
    resp = VoiceResponse()
    if lead:
        resp.say(lead, voice=voice, language=language)
    gather = _gather(_url(f"{base}/gather", n=n + 1, tries=tries))
    gather.say(prompt, voice=voice, language=language)
    resp.append(gather)
    resp.say(GOODBYE, voice=voice, language=language)
    resp.hangup()
    return str(resp)


def voicemail(*, text: str, voice: str, language: str) -> str:
    resp = VoiceResponse()
    resp.say(text, voice=voice, language=language)
    resp.hangup()
    return str(resp)


def transfer(
    *,
    number: str,
    caller_id: str | None,
    voice: str,
    language: str,
    whisper_url: str | None = None,
    queue: str | None = None,
    wait_url: str | None = None,
) -> str:
    """Connect the customer to an agent: <Dial> the centre's number (the agent first hears the
    whisper at ``whisper_url``), or <Enqueue> into the centre's named queue."""
    resp = VoiceResponse()
    resp.say("Connecting you to an agent. Please hold.", voice=voice, language=language)
    if queue:
        resp.enqueue(queue, wait_url=wait_url, wait_url_method="POST" if wait_url else None)
        return str(resp)
    dial = Dial(caller_id=caller_id)
    dial.number(number, url=whisper_url, method="POST" if whisper_url else None)
    resp.append(dial)
    return str(resp)


def whisper(*, summary: str, voice: str, language: str) -> str:
    """What the agent hears before the customer is connected."""
    resp = VoiceResponse()
    resp.say(summary, voice=voice, language=language)
    return str(resp)


def agent_dequeue(*, queue: str, whisper_url: str) -> str:
    """For the agents' phones in queue mode: take the next caller, whisper first."""
    resp = VoiceResponse()
    dial = Dial()
    dial.queue(queue, url=whisper_url, method="POST")
    resp.append(dial)
    return str(resp)


def ask_callback_time(*, action: str, voice: str, language: str) -> str:
    """Key in the time for the callback (e.g. 1 4 3 0 then hash), or hash for the first slot."""
    resp = VoiceResponse()
    gather = Gather(
        num_digits=4,
        finish_on_key="#",
        timeout=8,
        action=action,
        method="POST",
        input="dtmf",
        action_on_empty_result=True,
    )
    gather.say(
        "We will call you back. Key in the time you would like our call, for example "
        "1 4 3 0 for half past two in the afternoon, then press hash. Or press hash now for "
        "the first moment we are free.",
        voice=voice,
        language=language,
    )
    resp.append(gather)
    return str(resp)


def goodbye(*, text: str, voice: str, language: str) -> str:
    resp = VoiceResponse()
    resp.say(text, voice=voice, language=language)
    resp.hangup()
    return str(resp)


def repeat(*, base: str, n: int) -> str:
    resp = VoiceResponse()
    resp.redirect(_url(f"{base}/twiml", n=n), method="POST")
    return str(resp)
