"""What Herald answers a provider's webhook with, provider-neutral: the next part of a call
(say, play, ask for keys, continue elsewhere, transfer, end) or the texts to send back.

The alert domain builds these; a channel renders them on its wire (``channels.twiml`` for
Twilio). Nothing here names a provider's verb or parameter, so a second voice provider renders
the same scripts its own way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Speak:
    """Text-to-speech in ``voice``, speaking ``language`` (e.g. "Polly.Amy", "en-GB")."""

    text: str
    voice: str
    language: str


@dataclass(frozen=True, slots=True)
class PlayAudio:
    """A recording, fetched by the provider from ``url``."""

    url: str


@dataclass(frozen=True, slots=True)
class AskForKeys:
    """Say ``prompts`` while listening for keypad input, then post what was keyed to
    ``action``. Silence falls through to the next step unless ``submit_empty``."""

    action: str
    prompts: tuple[Speak | PlayAudio, ...]
    max_keys: int = 1
    timeout_s: int = 6
    end_key: str | None = None  # the key that ends the input early ("#")
    submit_empty: bool = False


@dataclass(frozen=True, slots=True)
class ContinueAt:
    """Carry on with the script the provider fetches from ``url``."""

    url: str


@dataclass(frozen=True, slots=True)
class EndCall:
    """Hang up."""


@dataclass(frozen=True, slots=True)
class TransferToNumber:
    """Put the caller through to ``number``. The person answering first hears the script at
    ``whisper_url``; when the transfer ends the provider posts how it went to ``done_url``."""

    number: str
    caller_id: str | None = None
    whisper_url: str | None = None
    done_url: str | None = None


@dataclass(frozen=True, slots=True)
class WaitInQueue:
    """Hold the caller in the named queue until an agent takes them (``wait_url``: what they
    hear meanwhile); ``done_url`` hears how it ended (taken, hung up, ...)."""

    queue: str
    wait_url: str | None = None
    done_url: str | None = None


@dataclass(frozen=True, slots=True)
class TakeFromQueue:
    """For an agent's phone: take the next caller waiting in ``queue``; the caller first hears
    the script at ``announce_url``."""

    queue: str
    announce_url: str


VoiceStep = (
    Speak
    | PlayAudio
    | AskForKeys
    | ContinueAt
    | EndCall
    | TransferToNumber
    | WaitInQueue
    | TakeFromQueue
)


@dataclass(frozen=True, slots=True)
class VoiceScript:
    """The next part of a call, step by step."""

    steps: tuple[VoiceStep, ...]

    @classmethod
    def of(cls, *steps: VoiceStep) -> VoiceScript:
        return cls(tuple(steps))


@dataclass(frozen=True, slots=True)
class TextReply:
    """The texts to send back to the number an SMS came from (none: acknowledge silently)."""

    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """A rendered answer to a provider's webhook: the HTTP body and its media type."""

    body: str
    media_type: str
