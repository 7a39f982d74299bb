"""What a "call me now" call's status does to its hand-off, and the agent's whisper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.responses.transfers import MACHINE_ANSWERED, call_now_event, whisper_text
from alerts.responses.values import HandOffContext


@pytest.mark.parametrize(
    "status,answered_by,handoff,expected",
    [
        ("no_answer", None, "offered", ("release", "the customer did not answer")),
        ("busy", None, "queued", ("release", "the customer's line was busy")),
        ("completed", "machine_start", "offered", ("release", MACHINE_ANSWERED)),
        ("failed", None, "offered", ("fail", "the call to the customer failed")),
        ("completed", "human", "connected", ("complete", "the call ended")),
        (
            "completed",
            None,
            "offered",
            ("release", "the call ended before the customer was put through"),
        ),
        # Once connected, how the transfer ended decides; a late status changes nothing.
        ("no_answer", None, "connected", None),
        ("completed", None, "completed", None),
        ("ringing", None, "offered", None),
        (None, None, "offered", None),
    ],
)
def test_a_call_now_status_moves_the_handoff(
    status: str | None, answered_by: str | None, handoff: str, expected: tuple[str, str] | None
) -> None:
    assert call_now_event(status, answered_by, handoff) == expected


def test_the_whisper_is_the_alert_in_one_breath() -> None:
    context = HandOffContext.model_validate(
        {
            "answer": {"channel": "voice", "key": "1", "intent": "agent", "at": datetime.now(UTC)},
            "customer": {"ref": "C-1", "name": "Ann Smith", "locale": "en", "timezone": "UTC"},
            "alert": {
                "type": "large_debit",
                "status": "delivered",
                "raised_at": datetime.now(UTC),
                "amount": "750.00",
                "currency": "EUR",
                "description": "Shop Ltd",
            },
        }
    )
    assert whisper_text(context) == (
        "Herald large debit alert for Ann Smith: 750.00 EUR, Shop Ltd. They pressed 1 to speak "
        "to an agent. Details are on your screen."
    )
    assert "No details" in whisper_text(None)
