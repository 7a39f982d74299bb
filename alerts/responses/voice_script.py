"""What a voice alert says and does, step by step: the message, the press-to-respond menu,
re-prompts, goodbyes, the transfer to an agent. Built as provider-neutral
``channels.scripts.VoiceScript`` values; the voice channel renders them (TwiML for Twilio)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from alerts.alert_types.recordings import Segment
from alerts.deps import Tts
from channels.i18n import N_, language_for, translations
from channels.scripts import (
    AskForKeys,
    ContinueAt,
    EndCall,
    PlayAudio,
    Speak,
    TakeFromQueue,
    TransferToNumber,
    VoiceScript,
    WaitInQueue,
)

# Herald's own spoken lines, in English here; ``said`` speaks them in the call's language.
GOODBYE = N_("We did not receive an answer. Goodbye.")
INVALID = N_("Sorry, that is not a valid choice.")
CONNECTING = N_("Connecting you to an agent. Please hold.")
ALREADY_ANSWERED = N_("We already have your answer to this alert. Thank you. Goodbye.")
CALLBACK_TIME = N_(
    "We will call you back. Key in the time you would like our call, for example "
    "1 4 3 0 for half past two in the afternoon, then press hash. Or press hash now for "
    "the first moment we are free."
)
MAX_REPEATS = 3
MAX_INVALID = 2  # an invalid key re-prompts at most twice


def said(line: str, tts: Tts) -> str:
    """One of Herald's own lines in the language of the call's voice, so the words and the
    text-to-speech voice always match (the voice follows the content's locale)."""
    return translations(language_for(tts.language)).gettext(line)


def _url(base: str, lang: str = "", **params: int | str) -> str:
    """A webhook URL of the call; ``lang`` ("en") keeps a call replayed in English in English."""
    return f"{base}?{urlencode({**params, **({'lang': lang} if lang else {})})}"


def _menu(action: str, prompts: Sequence[Speak | PlayAudio]) -> AskForKeys:
    return AskForKeys(action=action, prompts=tuple(prompts), max_keys=1, timeout_s=6)


def _spoken(message: str | Sequence[Segment], tts: Tts) -> list[Speak | PlayAudio]:
    """The message as text-to-speech, or its segments: recordings and speech in order."""
    if isinstance(message, str):
        return [Speak(message, tts.voice, tts.language)]
    return [
        Speak(s.value, tts.voice, tts.language) if s.kind == "say" else PlayAudio(s.value)
        for s in message
    ]


def main_menu(
    *,
    base: str,
    message: str | Sequence[Segment],
    prompt: str,
    n: int,
    tts: Tts,
    offer: Speak | None = None,
    lang: str = "",
) -> VoiceScript:
    """Message and menu; silence re-prompts once (continuing at the script), then the call
    says goodbye. The message is text, or segments: recorded audio and text-to-speech.
    ``offer`` ("For English, press 8.", in its own voice) follows the menu."""
    prompts = [*_spoken(message, tts), Speak(prompt, tts.voice, tts.language)]
    if offer is not None:
        prompts.append(offer)
    return VoiceScript.of(
        _menu(_url(f"{base}/gather", lang, n=n + 1, tries=0), prompts),
        ContinueAt(_url(f"{base}/twiml", lang, n=n + 1, reprompt=1)),
    )


def reprompt(
    *,
    base: str,
    prompt: str,
    n: int,
    tts: Tts,
    lead: str | None = None,
    tries: int = 1,
    lang: str = "",
) -> VoiceScript:
    """Another chance after silence or an invalid key (``tries`` counts the invalid keys);
    silence after it says goodbye."""
    ask = _menu(
        _url(f"{base}/gather", lang, n=n + 1, tries=tries),
        [Speak(prompt, tts.voice, tts.language)],
    )
    lead_in = [Speak(said(lead, tts), tts.voice, tts.language)] if lead else []
    bye = Speak(said(GOODBYE, tts), tts.voice, tts.language)
    return VoiceScript.of(*lead_in, ask, bye, EndCall())


def goodbye(*, text: str, tts: Tts) -> VoiceScript:
    """Say ``text`` and hang up (a voicemail is the same: say it once, hang up)."""
    return VoiceScript.of(Speak(text, tts.voice, tts.language), EndCall())


voicemail = goodbye


def transfer(
    *,
    number: str,
    tts: Tts,
    caller_id: str | None = None,
    whisper_url: str | None = None,
    queue: str | None = None,
    wait_url: str | None = None,
    done_url: str | None = None,
) -> VoiceScript:
    """Connect the customer to an agent: dial the centre's number (the agent first hears the
    whisper at ``whisper_url``), or hold them in the centre's named queue. ``done_url`` hears
    how the transfer ended."""
    hold = Speak(said(CONNECTING, tts), tts.voice, tts.language)
    if queue:
        return VoiceScript.of(hold, WaitInQueue(queue, wait_url=wait_url, done_url=done_url))
    to = TransferToNumber(number, caller_id=caller_id, whisper_url=whisper_url, done_url=done_url)
    return VoiceScript.of(hold, to)


def whisper(*, summary: str, tts: Tts) -> VoiceScript:
    """What the agent hears before the customer is connected."""
    return VoiceScript.of(Speak(summary, tts.voice, tts.language))


def agent_dequeue(*, queue: str, whisper_url: str) -> VoiceScript:
    """For the agents' phones in queue mode: take the next caller, announced first."""
    return VoiceScript.of(TakeFromQueue(queue, announce_url=whisper_url))


def ask_callback_time(*, action: str, tts: Tts) -> VoiceScript:
    """Key in the time for the callback (e.g. 1 4 3 0 then hash), or hash for the first slot."""
    ask = Speak(said(CALLBACK_TIME, tts), tts.voice, tts.language)
    return VoiceScript.of(
        AskForKeys(
            action=action,
            prompts=(ask,),
            max_keys=4,
            timeout_s=8,
            end_key="#",
            submit_empty=True,
        )
    )


def repeat(*, base: str, n: int, lang: str = "") -> VoiceScript:
    return VoiceScript.of(ContinueAt(_url(f"{base}/twiml", lang, n=n)))
