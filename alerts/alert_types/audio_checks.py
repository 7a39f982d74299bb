"""What an uploaded recording must be to play well on a call: its length and sample rate."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

MIN_SECONDS = 0.2
MAX_SECONDS = 300.0
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MP3_KBPS_V1_L3 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_KBPS_V2_L3 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


@dataclass(frozen=True, slots=True)
class AudioFacts:
    seconds: float
    sample_rate: int


def _wav(data: bytes) -> AudioFacts:
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, frames = w.getframerate(), w.getnframes()
    except (wave.Error, EOFError) as exc:
        raise ValueError(
            f"the WAV file cannot be read ({exc}); export it again as PCM WAV"
        ) from exc
    return AudioFacts(seconds=frames / rate if rate else 0.0, sample_rate=rate)


def _mp3(data: bytes) -> AudioFacts:
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]
        start = 10 + size
    for i in range(start, min(len(data) - 4, start + 64 * 1024)):
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:
            version = (data[i + 1] >> 3) & 3
            bitrate_index, rate_index = data[i + 2] >> 4, (data[i + 2] >> 2) & 3
            if version == 1 or rate_index == 3 or bitrate_index in (0, 15):
                continue
            rate = _MP3_RATES[version][rate_index]
            table = _MP3_KBPS_V1_L3 if version == 3 else _MP3_KBPS_V2_L3
            kbps = table[bitrate_index]
            return AudioFacts(seconds=(len(data) - i) * 8 / (kbps * 1000), sample_rate=rate)
    raise ValueError("no MP3 audio frame was found in the file; export it again as MP3")


def check_audio(data: bytes, kind: str) -> AudioFacts:
    """The length and sample rate of WAV or MP3 audio (``kind`` "audio/wav" or "audio/mpeg");
    ValueError with a message for an administrator when it will not play well on a call."""
    facts = _wav(data) if kind == "audio/wav" else _mp3(data)
    if facts.sample_rate not in SAMPLE_RATES:
        raise ValueError(
            f"the sample rate is {facts.sample_rate} Hz; calls need one of "
            f"{', '.join(str(r) for r in SAMPLE_RATES)} Hz "
            "(8000 Hz or 16000 Hz is best for phone calls)"
        )
    if facts.seconds < MIN_SECONDS:
        raise ValueError(f"the recording lasts {facts.seconds:.2f} s, too short to be heard")
    if facts.seconds > MAX_SECONDS:
        raise ValueError(
            f"the recording lasts {facts.seconds:.0f} s; a segment may last at most "
            f"{MAX_SECONDS:.0f} s (5 minutes): split it into shorter paragraphs"
        )
    return facts
