"""The voice alert as TwiML: message, press-to-respond menu, re-prompts, transfer to an agent."""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

GOODBYE = "We did not receive an answer. Goodbye."
INVALID = "Sorry, that is not a valid choice."
MAX_REPEATS = 3


def _gather(action: str) -> Gather:
    return Gather(num_digits=1, timeout=6, action=action, method="POST", input="dtmf")


def _url(base: str, **params: int | str) -> str:
    return f"{base}?{urlencode(params)}"


def main_menu(*, base: str, message: str, prompt: str, n: int, voice: str, language: str) -> str:
    """Message and menu; silence re-prompts once via a Redirect, then says goodbye."""
    resp = VoiceResponse()
    gather = _gather(_url(f"{base}/gather", n=n + 1, tries=0))
    gather.say(message, voice=voice, language=language)
    gather.say(prompt, voice=voice, language=language)
    resp.append(gather)
    resp.redirect(_url(f"{base}/twiml", n=n + 1, reprompt=1), method="POST")
    return str(resp)


def reprompt(
    *, base: str, prompt: str, n: int, voice: str, language: str, lead: str | None = None
) -> str:
    """Second and last chance after silence or an invalid key."""
    resp = VoiceResponse()
    if lead:
        resp.say(lead, voice=voice, language=language)
    gather = _gather(_url(f"{base}/gather", n=n + 1, tries=1))
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


def transfer(*, number: str, caller_id: str | None, voice: str, language: str) -> str:
    resp = VoiceResponse()
    resp.say("Connecting you to an agent. Please hold.", voice=voice, language=language)
    resp.dial(number, caller_id=caller_id)
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
