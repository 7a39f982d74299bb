"""Recorded audio in a real call: the administrator uploads a recording of the first segment;
the call plays it from a signed URL (the simulator fetches it) and speaks the segment that
carries customer data."""

from __future__ import annotations

import httpx
import pytest

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from herald.worker import drain
from tests.api.test_recordings_api import tiny_wav
from tests.conftest import Stack
from tests.factories import api_headers, make_customer, make_event

pytestmark = pytest.mark.integration
PHONE = "+15550005555"


async def _call(stack: Stack) -> list[dict[str, object]]:
    stack.set_scenario({"recipients": {PHONE: {"voice": {"answer": "human", "presses": ["2"]}}}})
    deps = stack.runtime.deps
    await make_customer(deps, phone=PHONE, order=("voice",))
    await make_event(deps)
    await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    [call] = [c for c in stack.sim.state.calls.values() if c.to == PHONE]
    return list(call.transcript)


async def test_a_recorded_segment_is_played_and_the_data_segment_spoken(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as client:
        uploaded = await client.put(
            "/api/v1/alert-types/large_debit/recordings/en/0",
            content=tiny_wav(),
            headers={**api_headers(stack.settings), "Content-Type": "audio/wav"},
        )
        assert uploaded.status_code in (200, 201), uploaded.text
        refused = await client.put(
            "/api/v1/alert-types/large_debit/recordings/en/1",
            content=tiny_wav(),
            headers={**api_headers(stack.settings), "Content-Type": "audio/wav"},
        )
        assert refused.status_code == 422  # it carries the amount: always text-to-speech
    transcript = await _call(stack)
    verbs = [t["verb"] for t in transcript]
    played = [t for t in transcript if t["verb"] == "Play"]
    assert len(played) == 1 and played[0]["status"] == 200  # Twilio could fetch the audio
    assert "/media/recordings/" in str(played[0]["url"])
    said = [str(t.get("text", "")) for t in transcript if t["verb"] == "Say"]
    assert any("750.00 euros" in s for s in said)
    assert not any("important security message" in s for s in said)  # played, not spoken
    assert verbs.index("Play") < next(i for i, t in enumerate(transcript) if t["verb"] == "Say")


async def test_without_a_recording_every_segment_is_spoken(stack: Stack) -> None:
    transcript = await _call(stack)
    assert not [t for t in transcript if t["verb"] == "Play"]
    said = [str(t.get("text", "")) for t in transcript if t["verb"] == "Say"]
    assert any("important security message" in s for s in said)
    assert any("750.00 euros" in s for s in said)
