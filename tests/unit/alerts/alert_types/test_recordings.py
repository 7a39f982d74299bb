"""The play-or-say rule of voice segments, the segment split, audio sniffing, media tokens."""

from __future__ import annotations

import io
import time
import wave

import pytest

from alerts.alert_types.recordings import (
    WHY_DATA,
    WHY_NO_RECORDING,
    WHY_OUTDATED,
    WHY_RECORDED,
    Segment,
    carries_data,
    plan_segments,
    segment_renderer,
    sniff_audio,
    split_segments,
)
from alerts.links import MediaLinkError, MediaSigner

MESSAGE = (
    "This is Herald Bank with an important security alert.\n"
    "\n"
    "A payment of {{ amount }} {{ currency }} was taken from your account.\n"
    "  \t\n"
    "Please listen carefully to the options.\n"
)
CONTEXT = {"amount": "750.00", "currency": "EUR"}


def test_paragraphs_are_segments_stripped_and_without_empties() -> None:
    assert split_segments(MESSAGE) == [
        "This is Herald Bank with an important security alert.",
        "A payment of {{ amount }} {{ currency }} was taken from your account.",
        "Please listen carefully to the options.",
    ]
    assert split_segments("\r\n\r\n  One.\r\nstill one.\r\n\r\n\r\n\r\nTwo.  \n\n") == [
        "One.\nstill one.",
        "Two.",
    ]
    assert split_segments("") == [] and split_segments(" \n\n \n") == []


def test_a_jinja_block_across_a_blank_line_stays_one_renderable_segment() -> None:
    template = (
        "Hello.\n\n{% if amount %}\nYou paid {{ amount }}.\n\nThat is a lot.\n{% endif %}\n\nBye."
    )
    segments = split_segments(template)
    assert segments == [
        "Hello.",
        "{% if amount %}\nYou paid {{ amount }}.\n\nThat is a lot.\n{% endif %}",
        "Bye.",
    ]
    render = segment_renderer(CONTEXT, where="content.en.voice.message")
    assert render(segments[1]).split() == ["You", "paid", "750.00.", "That", "is", "a", "lot."]


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("This is Herald Bank.", False),
        ("A payment of {{ amount }}.", True),
        ("{%- if late %}Sorry.{% endif %}", True),
        ("Braces { alone } are words.", False),
    ],
)
def test_carries_data_means_any_jinja_expression_or_statement(segment: str, expected: bool) -> None:
    assert carries_data(segment) is expected


def test_plan_plays_recorded_fixed_segments_and_speaks_the_rest() -> None:
    rendered: list[str] = []

    def render(source: str) -> str:
        rendered.append(source)
        return segment_renderer(CONTEXT, where="test")(source)

    plan = plan_segments(MESSAGE, render, {0: "https://h.example/media/recordings/t0"})
    assert plan == [
        Segment("play", "https://h.example/media/recordings/t0", 0, WHY_RECORDED),
        Segment("say", "A payment of 750.00 EUR was taken from your account.", 1, WHY_DATA),
        Segment("say", "Please listen carefully to the options.", 2, WHY_NO_RECORDING),
    ]
    assert len(rendered) == 2  # a played segment is never rendered


def test_customer_data_is_spoken_even_if_a_recording_exists_and_outdated_ones_are_spoken() -> None:
    urls = {i: f"https://h.example/media/recordings/t{i}" for i in range(3)}
    plan = plan_segments(MESSAGE, segment_renderer(CONTEXT, where="t"), urls, outdated={2})
    assert [(s.kind, s.index, s.why) for s in plan] == [
        ("play", 0, WHY_RECORDED),
        ("say", 1, WHY_DATA),
        ("say", 2, WHY_OUTDATED),
    ]
    assert plan[1].value == "A payment of 750.00 EUR was taken from your account."


def test_a_segment_that_renders_to_nothing_is_left_out() -> None:
    template = "Hello.\n\n{% if overdue %}Your invoice is overdue.{% endif %}\n\nBye."
    plan = plan_segments(template, segment_renderer({"overdue": False}, where="t"), {})
    assert [(s.index, s.value) for s in plan] == [(0, "Hello."), (2, "Bye.")]


def tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 80)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (tiny_wav(), "audio/wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 20, "audio/mpeg"),
        (bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 20, "audio/mpeg"),  # MPEG-1 layer III
        (bytes([0xFF, 0xF1, 0x50, 0x80]) + b"\x00" * 20, None),  # AAC in ADTS, not MP3
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),  # RIFF but not WAVE
        (b"<?xml version='1.0'?>", None),
        (b"", None),
    ],
)
def test_audio_is_recognised_by_its_first_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_audio(data) == expected


def test_media_token_round_trip_and_tampering() -> None:
    signer = MediaSigner("secret-one-0123456789")
    token = signer.sign(42)
    assert signer.load(token) == 42
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (tampered, "not-a-token", MediaSigner("another-secret-012345").sign(42)):
        with pytest.raises(MediaLinkError) as caught:
            signer.load(bad)
        assert caught.value.expired is False and "not valid" in str(caught.value)


def test_media_token_expires_after_max_age() -> None:
    signed_long_ago = MediaSigner("s" * 20, clock=lambda: time.time() - 3601).sign(7)
    with pytest.raises(MediaLinkError) as caught:
        MediaSigner("s" * 20, max_age_seconds=3600).load(signed_long_ago)
    assert caught.value.expired is True and "expired" in str(caught.value)
    assert MediaSigner("s" * 20, max_age_seconds=7200).load(signed_long_ago) == 7
