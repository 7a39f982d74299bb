"""Recorded voice segments through the API: upload, list, replace, delete, refusals, the signed
media URL Twilio fetches, and the play-or-say plan of a call built from them."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from alerts.alert_types.recordings import (
    MAX_RECORDING_BYTES,
    WHY_DATA,
    WHY_NO_RECORDING,
    WHY_OUTDATED,
    WHY_RECORDED,
    message_segments,
    segment_renderer,
)
from alerts.alert_types.store import get_spec
from alerts.api.recordings import media_router, router
from alerts.links import MediaSigner
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.envelope import error_of
from tests.factories import api_headers

TYPES = "/api/v1/alert-types"
RECORDINGS = f"{TYPES}/large_debit/recordings"
MESSAGE = (
    "This is Herald Bank with an important security alert.\n\n"
    "A payment of {{ amount }} {{ currency }} to {{ description }} was taken from your "
    "account.\n\n"
    "Please listen carefully to the options."
)
DUTCH = "Dit is Herald Bank met een belangrijke melding.\n\nEr is {{ amount }} afgeschreven."
WAV = "audio/wav"


def tiny_wav(frames: int = 2000, level: int = 0) -> bytes:
    """A real (short: 0.25 s by default, silent or flat) 8 kHz mono WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(level.to_bytes(2, "little", signed=True) * frames)
    return buffer.getvalue()


def _wav_at(rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * rate)
    return buffer.getvalue()


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    app = create_app(settings, runtime)
    if not any(getattr(r, "path", "") == "/media/recordings/{token}" for r in app.routes):
        app.include_router(router)  # until herald.app includes them itself
        app.include_router(media_router)
    return app


@pytest.fixture
async def client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client, on an alert type whose voice message has three paragraphs (en) and
    two (nl)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=settings.public_url,
        headers=api_headers(settings),
    ) as c:
        content = {  # the seeded fr, de and es content removed (a merge patch's null)
            "en": {"voice": {"message": MESSAGE}},
            "nl": {"voice": {"message": DUTCH}},
            **dict.fromkeys(("fr", "de", "es")),
        }
        patched = await c.patch(f"{TYPES}/large_debit", json={"content": content})
        assert patched.status_code == 200, patched.text
        yield c


@pytest.fixture
async def anonymous(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Twilio, or anyone else without the API token, on the same app."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as c:
        yield c


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    locale: str = "en",
    segment: int = 0,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.put(
        f"{RECORDINGS}/{locale}/{segment}",
        content=data,
        headers={"Content-Type": WAV, **(headers or {})},
    )


def stored(settings: Settings) -> list[Path]:
    folder = settings.files_dir / "recordings"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def segment_of(listing: dict[str, Any], locale: str, index: int) -> dict[str, Any]:
    by_locale = {entry["locale"]: entry for entry in listing["locales"]}
    found: dict[str, Any] = by_locale[locale]["segments"][index]
    return found


async def test_upload_list_replace_and_delete(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    first = tiny_wav()
    created = await upload(client, first, headers={"X-Herald-Actor": "alice@bank.example"})
    assert created.status_code == 201, created.text
    row = created.json()
    assert (row["alert_type"], row["locale"], row["segment"]) == ("large_debit", "en", 0)
    assert row["content_type"] == WAV and row["size_bytes"] == len(first)
    assert row["uploaded_by"] == "alice@bank.example" and row["current"] is True
    assert row["segment_text"] == "This is Herald Bank with an important security alert."
    [path] = stored(settings)
    assert path.name == f"{row['sha256']}.wav" and path.read_bytes() == first

    listing = (await client.get(RECORDINGS)).json()
    assert [entry["locale"] for entry in listing["locales"]] == ["en", "nl"]
    intro, payment, options = (segment_of(listing, "en", i) for i in range(3))
    assert (intro["spoken_by"], intro["why"], intro["recording"]["id"]) == (
        "recording",
        WHY_RECORDED,
        row["id"],
    )
    assert payment["carries_data"] is True and payment["can_record"] is False
    assert (payment["spoken_by"], payment["why"]) == ("text-to-speech", WHY_DATA)
    assert options["can_record"] is True and options["recording"] is None
    assert options["why"] == WHY_NO_RECORDING
    assert segment_of(listing, "nl", 0)["recording"] is None and listing["unplaced"] == []

    second = tiny_wav(frames=2160, level=1000)
    replaced = await upload(client, second)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == row["id"] and replaced.json()["uploaded_by"] == "shared-token"
    [path] = stored(settings)  # the first audio is gone with the recording that used it
    assert path.read_bytes() == second

    deleted = await client.delete(f"{RECORDINGS}/en/0")
    assert deleted.status_code == 200 and deleted.json()["deleted"]["id"] == row["id"]
    assert stored(settings) == []
    listing = (await client.get(RECORDINGS)).json()
    assert segment_of(listing, "en", 0)["spoken_by"] == "text-to-speech"
    again = await client.delete(f"{RECORDINGS}/en/0")
    assert again.status_code == 404 and "no recording" in error_of(again)["message"]


async def test_the_same_audio_in_two_slots_is_stored_once_and_kept_while_used(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    audio = tiny_wav()
    assert (await upload(client, audio, segment=0)).status_code == 201
    assert (await upload(client, audio, segment=2)).status_code == 201
    assert len(stored(settings)) == 1
    assert (await client.delete(f"{RECORDINGS}/en/0")).status_code == 200
    assert len(stored(settings)) == 1  # segment 2 still plays it
    assert (await client.delete(f"{RECORDINGS}/en/2")).status_code == 200
    assert stored(settings) == []


@pytest.mark.parametrize(
    ("content_type", "data", "says"),
    [
        ("text/plain", tiny_wav(), "Content-Type 'text/plain' is not accepted"),
        ("audio/mpeg", tiny_wav(), "is audio/wav audio but Content-Type says audio/mpeg"),
        ("audio/x-wav", b"<xml>not audio at all</xml>", "not WAV or MP3 audio"),
    ],
)
async def test_not_the_audio_it_claims_is_415(
    client: httpx.AsyncClient, settings: Settings, content_type: str, data: bytes, says: str
) -> None:
    refused = await client.put(
        f"{RECORDINGS}/en/0", content=data, headers={"Content-Type": content_type}
    )
    assert refused.status_code == 415, refused.text
    assert says in error_of(refused)["message"] and error_of(refused)["hint"]
    assert error_of(refused)["code"] == "unsupported_media_type"
    assert stored(settings) == []


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (tiny_wav(frames=80), "too short to be heard"),
        (_wav_at(7000), "the sample rate is 7000 Hz"),
    ],
)
async def test_audio_that_will_not_play_well_on_a_call_is_422(
    client: httpx.AsyncClient, settings: Settings, data: bytes, says: str
) -> None:
    """The API makes the same checks as the recordings page (rate, length)."""
    refused = await upload(client, data)
    assert refused.status_code == 422, refused.text
    assert says in error_of(refused)["message"] and "cannot be played on a call" in refused.text
    assert stored(settings) == []


async def test_x_wav_and_mp3_are_accepted(client: httpx.AsyncClient) -> None:
    assert (
        await upload(client, tiny_wav(), headers={"Content-Type": "audio/x-wav"})
    ).status_code == 201
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 4000
    saved = await upload(client, mp3, segment=2, headers={"Content-Type": "audio/mpeg"})
    assert saved.status_code == 201 and saved.json()["content_type"] == "audio/mpeg"


async def test_a_segment_with_customer_data_cannot_take_a_recording(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    refused = await upload(client, tiny_wav(), segment=1)
    assert refused.status_code == 422, refused.text
    detail = error_of(refused)["message"]
    assert "customer data" in detail and "{{ }}" in detail
    assert "always spoken by text-to-speech" in detail and "segments that can: 0, 2" in detail
    assert "/recordings" in error_of(refused)["hint"]
    assert stored(settings) == []


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        (f"{RECORDINGS}/en/3", 422, "segment 3 does not exist"),
        (f"{RECORDINGS}/fr/0", 422, "no voice message in locale 'fr' (locales with one: en, nl)"),
        (f"{TYPES}/low_balanse/recordings/en/0", 404, "no alert type 'low_balanse'"),
        (f"{RECORDINGS}/en/-1", 422, "parameters are not valid"),
    ],
)
async def test_slots_that_do_not_exist_are_refused(
    client: httpx.AsyncClient, path: str, status: int, says: str
) -> None:
    refused = await client.put(path, content=tiny_wav(), headers={"Content-Type": WAV})
    assert refused.status_code == status, refused.text
    assert says in error_of(refused)["message"]


async def test_too_large_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    data = tiny_wav() + b"\x00" * MAX_RECORDING_BYTES
    refused = await upload(client, data)
    assert refused.status_code == 413 and "10 MB" in error_of(refused)["message"]
    assert stored(settings) == []


async def test_uploads_and_listings_need_the_token(anonymous: httpx.AsyncClient) -> None:
    assert (await upload(anonymous, tiny_wav())).status_code == 401
    assert (await anonymous.get(RECORDINGS)).status_code == 401
    assert (await anonymous.delete(f"{RECORDINGS}/en/0")).status_code == 401
    wrong = await upload(anonymous, tiny_wav(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


async def test_the_media_url_serves_the_audio_without_a_token(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    audio = tiny_wav(frames=2400, level=500)
    row = (await upload(client, audio)).json()
    url = row["listen_url"]
    assert url.startswith(f"{settings.public_url}/media/recordings/")
    served = await anonymous.get(url)
    assert served.status_code == 200 and served.content == audio
    assert served.headers["content-type"] == WAV
    assert served.headers["cache-control"] == "private, max-age=300"

    tampered = await anonymous.get(url[:-3] + ("xyz" if not url.endswith("xyz") else "abc"))
    assert tampered.status_code == 403 and tampered.text == "this audio link is not valid"

    secret = settings.secret_key.get_secret_value()
    old = MediaSigner(secret, clock=lambda: time.time() - 3700).sign(row["id"])
    expired = await anonymous.get(f"/media/recordings/{old}")
    assert expired.status_code == 410 and expired.text == "this audio link has expired"

    Path(settings.files_dir / "recordings" / f"{row['sha256']}.wav").unlink()
    missing = await anonymous.get(url)
    assert missing.status_code == 404 and "missing" in missing.text

    assert (await client.delete(f"{RECORDINGS}/en/0")).status_code == 200
    gone = await anonymous.get(url)
    assert gone.status_code == 404 and gone.text == "this recording no longer exists"


async def test_a_call_plays_the_recordings_and_speaks_the_customer_data(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, settings: Settings, runtime: Runtime
) -> None:
    intro, options = tiny_wav(level=100), tiny_wav(level=200)
    assert (await upload(client, intro, segment=0)).status_code == 201
    assert (await upload(client, options, segment=2)).status_code == 201
    signer = MediaSigner(settings.secret_key.get_secret_value())
    context = {"amount": "750.00", "currency": "EUR", "description": "Shop Ltd"}
    render = segment_renderer(context, where="content.en.voice.message")

    async def plan(locale: str) -> list[Any]:
        async with runtime.deps.sessions() as session:
            spec = await get_spec(session, "large_debit")
            assert spec is not None
            return await message_segments(
                session,
                spec=spec,
                locale=locale,
                render=render,
                public_url=settings.public_url,
                signer=signer,
            )

    english = await plan("en")
    assert [(s.kind, s.index, s.why) for s in english] == [
        ("play", 0, WHY_RECORDED),
        ("say", 1, WHY_DATA),
        ("play", 2, WHY_RECORDED),
    ]
    assert english[1].value == "A payment of 750.00 EUR to Shop Ltd was taken from your account."
    assert (await anonymous.get(english[0].value)).content == intro
    assert (await anonymous.get(english[2].value)).content == options

    # German has no voice message: the fallback locale's message and recordings are used.
    assert [(s.kind, s.index) for s in await plan("de")] == [("play", 0), ("say", 1), ("play", 2)]
    # Dutch has its own message and no recordings: all of it is spoken.
    dutch = await plan("nl")
    assert [(s.kind, s.why) for s in dutch] == [("say", WHY_NO_RECORDING), ("say", WHY_DATA)]
    assert dutch[1].value == "Er is 750.00 afgeschreven."

    # The administrator rewords the introduction: its recording no longer matches, so the new
    # words are spoken until it is recorded again.
    reworded = MESSAGE.replace("important security alert", "urgent security alert")
    content = {"en": {"voice": {"message": reworded}}}
    assert (await client.patch(f"{TYPES}/large_debit", json={"content": content})).is_success
    assert [(s.kind, s.why) for s in await plan("en")] == [
        ("say", WHY_OUTDATED),
        ("say", WHY_DATA),
        ("play", WHY_RECORDED),
    ]
    listing = (await client.get(RECORDINGS)).json()
    outdated = segment_of(listing, "en", 0)
    assert outdated["why"] == WHY_OUTDATED and outdated["recording"]["current"] is False
