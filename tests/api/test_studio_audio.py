"""The studio's audible preview: each spoken part of the call synthesised on the server by
espeak-ng (a WAV), a recorded part played as it is (the signed media URL)."""

from __future__ import annotations

import re

import httpx
import pytest

from alerts.alert_types import speech
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.test_recordings_api import tiny_wav
from tests.api.test_studio_pages import _login
from tests.conftest import missing_infrastructure
from tests.factories import api_headers

PREVIEW = "/admin/alert-types/large_debit/preview"


@pytest.fixture
def engine() -> None:
    if not speech.available():
        missing_infrastructure("espeak-ng is not installed (apt-get install espeak-ng)")


async def test_each_spoken_part_can_be_heard_and_a_recording_is_played_as_it_is(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, engine: None
) -> None:
    uploaded = await client.put(
        "/api/v1/alert-types/large_debit/recordings/en/0",
        content=tiny_wav(),
        headers={**api_headers(settings), "Content-Type": "audio/wav"},
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    await _login(client, runtime, "ada", "viewer")
    page = await client.get(PREVIEW, params={"locale": "en"})
    assert "media-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(
        r'<audio controls preload="none" aria-label="[^"]+" src="([^"]+)"', page.text
    )
    assert len(sources) >= 3 and "approximation of the provider&#39;s voice" in page.text

    recorded = await client.get(sources[0].replace("&amp;", "&"))
    assert recorded.status_code == 307 and "/media/recordings/" in recorded.headers["location"]
    played = await client.get(recorded.headers["location"])
    assert played.status_code == 200 and played.content == tiny_wav()

    spoken = await client.get(sources[1].replace("&amp;", "&"))
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/wav"
    assert spoken.content.startswith(b"RIFF") and len(spoken.content) > 10_000  # seconds of it
    missing = await client.get(f"{PREVIEW}/voice.wav", params={"part": 99})
    assert missing.status_code == 404 and "parts" in missing.text


async def test_without_the_engine_the_page_says_what_to_install(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("alerts.alert_types.speech.shutil.which", lambda _name: None)
    await _login(client, runtime, "ben", "viewer")
    page = await client.get(PREVIEW)
    assert "apt-get install espeak-ng" in page.text and "<audio" not in page.text
    audio = await client.get(f"{PREVIEW}/voice.wav", params={"part": 1})
    assert audio.status_code == 503 and "needs espeak-ng" in audio.text


async def test_dutch_is_read_with_the_dutch_voice() -> None:
    assert speech.voice_for("nl-BE") == "nl" and speech.voice_for("xx") == "en"
