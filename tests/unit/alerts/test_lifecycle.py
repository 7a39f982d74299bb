"""Attempt statuses only move forward; outcomes map statuses to the plan's next move."""

from __future__ import annotations

import pytest

from alerts.lifecycle import ATTEMPT_RANK, TERMINAL, may_move, outcome


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("queued", "sending", True),
        ("sending", "sent", True),
        ("sent", "ringing", True),
        ("ringing", "in_progress", True),
        ("in_progress", "completed", True),
        ("sent", "delivered", True),
        ("completed", "completed", False),  # duplicate callback
        ("completed", "ringing", False),  # late callback
        ("in_progress", "ringing", False),
        ("delivered", "sent", False),
        ("no_answer", "completed", False),  # terminal stays terminal
        ("sent", "bogus", False),
    ],
)
def test_forward_only(current: str, new: str, allowed: bool) -> None:
    assert may_move(current, new) is allowed


def test_every_terminal_status_has_an_outcome() -> None:
    for status, rank in ATTEMPT_RANK.items():
        if rank == TERMINAL:
            results = {outcome(ch, status) for ch in ("voice", "sms", "email")}
            assert results != {"pending"}, status


@pytest.mark.parametrize(
    ("channel", "status", "answered_by", "expected"),
    [
        ("voice", "completed", "human", "reached"),
        ("voice", "completed", None, "reached"),
        ("voice", "completed", "machine_end_beep", "not_reached"),
        ("voice", "no_answer", None, "not_reached"),
        ("voice", "busy", None, "not_reached"),
        ("voice", "ringing", None, "pending"),
        ("sms", "sent", None, "pending"),
        ("sms", "delivered", None, "reached"),
        ("sms", "undelivered", None, "not_reached"),
        ("email", "sent", None, "reached"),
        ("email", "failed", None, "not_reached"),
    ],
)
def test_outcomes(channel: str, status: str, answered_by: str | None, expected: str) -> None:
    assert outcome(channel, status, answered_by) == expected
