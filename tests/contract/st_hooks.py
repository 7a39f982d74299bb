"""Schemathesis hooks for tests/contract/test_api_fuzz.py (loaded with SCHEMATHESIS_HOOKS).

Recordings are uploaded as raw audio bodies, which schemathesis cannot make from a JSON schema:
it gets a real one-second WAV (so the success path is fuzzed too) or arbitrary bytes (which
must be refused with 422, never a 500)."""

from __future__ import annotations

import io
import wave

import schemathesis
from hypothesis import strategies as st


def _wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x01" * int(seconds * rate))
    return out.getvalue()


AUDIO = st.one_of(st.just(_wav()), st.binary(max_size=4096))
for media in ("audio/wav", "audio/x-wav", "audio/mpeg"):
    schemathesis.openapi.media_type(media, AUDIO)
