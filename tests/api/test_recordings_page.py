"""The recordings page: the listing per alert type, language and part, uploads with their
inline errors, the audio element's signed URL, and who may upload."""

from __future__ import annotations

import io
import re
import wave

import httpx
import pytest
from sqlmodel import col, select

from alerts.alert_types.audio_checks import check_audio
from alerts.models import AuditEntry
from herald.runtime import Runtime
from tests.api.test_admin_ui import csrf_of
from tests.api.test_studio_pages import _login


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return buffer.getvalue()


def test_check_audio_refuses_odd_rates_and_lengths() -> None:
    assert check_audio(wav(), "audio/wav").sample_rate == 8000
    with pytest.raises(ValueError, match="sample rate is 7000 Hz"):
        check_audio(wav(rate=7000), "audio/wav")
    with pytest.raises(ValueError, match="too short"):
        check_audio(wav(seconds=0.05), "audio/wav")
    with pytest.raises(ValueError, match="no MP3 audio frame"):
        check_audio(b"ID3\0\0\0\0\0\0\0nothing", "audio/mpeg")


async def test_upload_listen_and_replace(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await _login(client, runtime, "pat", "publisher")
    page = await client.get("/admin/recordings")
    assert page.status_code == 200 and "Large debit" in page.text
    assert "Computer voice (no recording yet)" in page.text
    assert 'href="/admin/recordings"' in page.text
    form = {"csrf_token": csrf_of(page.text), "alert_type": "large_debit", "locale": "en"}
    form["segment"] = "0"
    bad = await client.post(
        "/admin/recordings/upload",
        data=form,
        files={"audio": ("x.wav", wav(rate=7000), "audio/wav")},
    )
    assert bad.status_code == 422 and "sample rate is 7000 Hz" in bad.text
    text = await client.post(
        "/admin/recordings/upload", data=form, files={"audio": ("x.txt", b"hello", "text/plain")}
    )
    assert text.status_code == 422 and "not WAV or MP3" in text.text
    ok = await client.post(
        "/admin/recordings/upload", data=form, files={"audio": ("x.wav", wav(), "audio/wav")}
    )
    assert ok.status_code == 303
    page = await client.get("/admin/recordings")
    assert "Recording saved" in page.text and "The recording" in page.text
    src = re.search(r'<audio controls preload="none" src="([^"]+)"', page.text)
    assert src is not None and src.group(1).startswith("/media/recordings/")
    audio = await client.get(src.group(1))
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    again = await client.post(
        "/admin/recordings/upload",
        data={**form, "csrf_token": csrf_of(page.text)},
        files={"audio": ("y.wav", wav(2.0), "audio/wav")},
    )
    assert again.status_code == 303


async def test_a_viewer_sees_but_cannot_upload(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await _login(client, runtime, "vic", "viewer")
    page = await client.get("/admin/recordings")
    assert page.status_code == 200 and 'name="audio"' not in page.text
    refused = await client.post(
        "/admin/recordings/upload",
        data={"csrf_token": csrf_of(page.text), "alert_type": "large_debit", "locale": "en"},
    )
    assert refused.status_code == 403


async def test_remove_a_recording_then_the_part_is_spoken_again(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "pat", "publisher")
    page = await client.get("/admin/recordings")
    form = {"csrf_token": csrf_of(page.text), "alert_type": "large_debit", "locale": "en"}
    form["segment"] = "0"
    ok = await client.post(
        "/admin/recordings/upload", data=form, files={"audio": ("x.wav", wav(), "audio/wav")}
    )
    assert ok.status_code == 303
    page = await client.get("/admin/recordings")
    assert "Remove the recording" in page.text
    gone = await client.post("/admin/recordings/remove", data=form)
    assert gone.status_code == 303
    page = await client.get("/admin/recordings")
    assert "Recording removed" in page.text and "<audio" not in page.text
    assert "Remove the recording" not in page.text
    again = await client.post("/admin/recordings/remove", data=form)
    assert again.status_code == 422 and "no recording here any more" in again.text
    async with runtime.deps.sessions() as session:
        entries = (
            await session.exec(
                select(AuditEntry).where(
                    col(AuditEntry.kind) == "recording", col(AuditEntry.action) == "delete"
                )
            )
        ).all()
    assert [e.actor for e in entries] == ["pat"]
