"""What a "call me now" call's final status does to its hand-off (alerts.delivery.direct)."""

from __future__ import annotations

import pytest

from alerts.delivery.direct import MACHINE_ANSWERED, call_now_event


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
