"""Text-to-speech on the server for the studio's preview: espeak-ng, offline, as a WAV file.

It is an approximation of the provider's voice (Twilio's Polly or Google voices sound better),
so that an administrator can hear the length, the pauses and the numbers of a message before
it is published. Nothing sent to customers is synthesised here.
"""

from __future__ import annotations

import asyncio
import shutil

MAX_CHARS = 3000  # a long voice message is about 2,000 characters
TIMEOUT_S = 15.0
# espeak-ng's voice for a language (its own names); others are read with the English voice.
VOICES = {
    "en": "en",
    "nl": "nl",
    "fr": "fr",
    "de": "de",
    "es": "es",
    "it": "it",
    "pt": "pt",
    "pl": "pl",
    "sv": "sv",
    "da": "da",
    "fi": "fi",
    "nb": "nb",
    "cs": "cs",
    "tr": "tr",
}
ENGINE = "espeak-ng"
APPROXIMATION = "an approximation of the provider's voice (espeak-ng)"


class SpeechUnavailable(RuntimeError):
    """The engine is not installed or failed; the message says what to do."""


def voice_for(locale: str) -> str:
    return VOICES.get(locale.lower(), VOICES.get(locale.lower().split("-")[0], "en"))


def available() -> bool:
    return shutil.which(ENGINE) is not None


async def synthesise(text: str, locale: str) -> bytes:
    """``text`` spoken in ``locale``'s voice, as WAV bytes."""
    engine = shutil.which(ENGINE)
    if engine is None:
        raise SpeechUnavailable(
            "text-to-speech preview needs espeak-ng on the server (Debian: apt-get install "
            "espeak-ng); the text is shown above"
        )
    # The text goes in on stdin, never on the command line (no option can be smuggled in).
    process = await asyncio.create_subprocess_exec(
        engine,
        "--stdout",
        "-v",
        voice_for(locale),
        "-s",
        "160",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        audio, errors = await asyncio.wait_for(
            process.communicate(text[:MAX_CHARS].encode()), TIMEOUT_S
        )
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise SpeechUnavailable(f"espeak-ng took longer than {TIMEOUT_S:.0f} s") from exc
    if process.returncode != 0 or not audio.startswith(b"RIFF"):
        raise SpeechUnavailable(f"espeak-ng failed: {errors.decode(errors='replace')[:200]}")
    return audio
