"""State machines as tables: attempt statuses only move forward; outcomes steer the plan."""

from __future__ import annotations

# Rank of each normalised attempt status; a status may only replace one of lower rank.
# Every status at TERMINAL rank is final: late or duplicate callbacks after it change nothing.
TERMINAL = 9
ATTEMPT_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "ringing": 3,
    "in_progress": 4,
    "completed": TERMINAL,
    "delivered": TERMINAL,
    "busy": TERMINAL,
    "no_answer": TERMINAL,
    "failed": TERMINAL,
    "undelivered": TERMINAL,
    "canceled": TERMINAL,
}

ALERT_OPEN = frozenset({"pending", "delivering", "delivered"})
ALERT_STATUSES = ALERT_OPEN | {"closed", "failed", "expired"}


def may_move(current: str, new: str) -> bool:
    """True when `new` is a forward move from `current`."""
    cur = ATTEMPT_RANK.get(current)
    nxt = ATTEMPT_RANK.get(new)
    if cur is None or nxt is None:
        return False
    return nxt > cur


def outcome(channel: str, status: str, answered_by: str | None = None) -> str:
    """What an attempt's status means for the plan: "reached", "not_reached" or "pending"."""
    if status in ("busy", "no_answer", "failed", "undelivered", "canceled"):
        return "not_reached"
    if channel == "voice" and status == "completed":
        if answered_by and answered_by.startswith("machine"):
            return "not_reached"  # a voicemail was left; try the next channel
        return "reached"
    if channel == "sms" and status == "delivered":
        return "reached"
    if channel == "email" and status in ("sent", "delivered"):
        return "reached"
    return "pending"
