"""The lifecycle tables: every (state, event) pair of an alert, an attempt and a hand-off, the
forward-only attempt statuses, and how outcomes map statuses to the plan's next move."""

from __future__ import annotations

import pytest

from alerts.lifecycle import (
    ALERT,
    ALERT_OPEN,
    ATTEMPT,
    ATTEMPT_RANK,
    HANDOFF,
    HANDOFF_OPEN,
    TERMINAL,
    Lifecycle,
    may_move,
    outcome,
)


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


# Every legal move, written out by hand as a reader would check it (state: event -> new state).
# The tests below enumerate every (state, event) pair of each table against these grids: a move
# added to or dropped from a table without changing its grid fails.
ALERT_GRID = """
pending:    send->delivering reach->delivered next_step->pending answer->closed
            plan_copy->pending fail->failed expire->expired copy_undelivered->delivered
delivering: send->delivering reach->delivered next_step->pending answer->closed
            plan_copy->pending fail->failed expire->expired copy_undelivered->delivered
delivered:  reach->delivered next_step->pending answer->closed plan_copy->pending
            fail->failed expire->expired copy_undelivered->delivered
closed:     plan_copy->pending
failed:
expired:
"""

HANDOFF_GRID = """
queued:    offer->offered claim->claimed connect->connected complete->completed
           abandon->abandoned expire->expired fail->failed
offered:   claim->claimed release->queued connect->connected complete->completed
           abandon->abandoned expire->expired fail->failed
claimed:   release->queued connect->connected complete->completed fail->failed
connected: complete->completed abandon->abandoned fail->failed
completed:
abandoned:
expired:
failed:
"""


def parse_grid(grid: str) -> dict[tuple[str, str], str]:
    moves: dict[tuple[str, str], str] = {}
    state = ""
    for line in grid.strip().splitlines():
        head, sep, rest = line.partition(":")
        if sep and " " not in head.strip():
            state, line = head.strip(), rest
        for move in line.split():
            event, to = move.split("->")
            moves[(state, event)] = to
    return moves


@pytest.mark.parametrize(("table", "grid"), [(ALERT, ALERT_GRID), (HANDOFF, HANDOFF_GRID)])
def test_every_state_event_pair_against_the_table(table: Lifecycle, grid: str) -> None:
    expected = parse_grid(grid)
    assert {s for s, _ in expected} <= set(table.states)
    for state in table.states:
        for event in table.events:
            assert table.next_state(state, event) == expected.get((state, event)), (
                f"{table.name}: {event} in {state}"
            )


@pytest.mark.parametrize("table", [ALERT, ATTEMPT, HANDOFF])
def test_terminal_states_have_no_way_out_and_open_states_have_one(table: Lifecycle) -> None:
    for state in table.states:
        leaving = [e for e in table.events if table.next_state(state, e) not in (None, state)]
        if state in table.terminal:
            assert leaving == [], f"{table.name}: {state} is terminal but {leaving} leave it"
    for (state, _), to in table.moves.items():
        assert state in table.states and to in table.states


def test_every_attempt_pair_moves_forward_only_except_a_requeue_while_sending() -> None:
    for state in ATTEMPT.states:
        for event in ATTEMPT.events:
            to = ATTEMPT.next_state(state, event)
            if event == "requeue":
                assert to == ("queued" if state == "sending" else None), state
            elif ATTEMPT_RANK[event] > ATTEMPT_RANK[state] and event != "queued":
                assert to == event, (state, event)
            else:
                assert to is None, (state, event)


def test_a_delivered_attempt_can_never_be_requeued() -> None:
    """The defect of 56 attempts moved delivered -> queued: the table has no such move."""
    for state in ATTEMPT.terminal | {"sent", "ringing", "in_progress", "queued"}:
        assert ATTEMPT.next_state(state, "requeue") is None


def test_open_sets_match_the_tables() -> None:
    assert {"pending", "delivering", "delivered"} == ALERT_OPEN
    assert {"queued", "offered", "claimed", "connected"} == HANDOFF_OPEN
    assert HANDOFF.terminal == {"completed", "abandoned", "expired", "failed"}
