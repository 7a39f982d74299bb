"""The supervisor board over HTTP, as a browser drives it: a supervisor opens it from the menu
and sees each queue's agents and waiting work (also in the stream's first event); an agent may
not; pausing voice, a queue's targets and moving a waiting hand-off are CSRF-protected forms,
audited, and bad input gets a message beside its field."""

from __future__ import annotations

import pytest
from sqlmodel import select

from admin_ui.users import create_user
from alerts.models import AuditEntry, HandOff
from callcentre.queues import set_skills
from herald.runtime import Runtime
from tests.api.test_agent_pages import PASSWORD, LogIn, _staff, _words, log_in
from tests.service.callcentre.test_agent_console import _pressed_agent

__all__ = ["log_in"]  # the fixture, shared with the agent console's page tests


async def _supervisor(runtime: Runtime) -> None:
    await _staff(runtime)
    async with runtime.deps.sessions() as session:
        user = await create_user(
            session=session, username="sam", password=PASSWORD, role="supervisor"
        )
        await set_skills(session=session, user=user, queues=[])


async def test_a_supervisor_sees_the_board_and_an_agent_does_not(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _supervisor(runtime)
    await _pressed_agent(runtime.deps, "C-1", "fraud")
    fiona, csrf, _ = await log_in("fiona")
    assert (
        await fiona.post("/agent/state", data={"csrf_token": csrf, "state": "available"})
    ).status_code == 303
    refused = await fiona.get("/supervisor")
    assert refused.status_code == 403
    assert "Supervisor board" not in (await fiona.get("/agent")).text  # no menu link

    sam, _, landed = await log_in("sam", "/supervisor")
    assert landed.headers["location"] == "/supervisor"  # back where the login began
    got = await sam.get("/supervisor")
    assert got.status_code == 200
    assert "script-src 'self'" in got.headers["content-security-policy"]
    text = _words(got)
    assert '<a href="/supervisor">Supervisor board</a>' in got.text
    assert "Fraud" in text and "Transfers waiting 1" in text
    assert "Waiting now ( 1 )" in text and "Customer C-1" in text
    assert "Large debit" in text  # the alert type's row: calls today, pacer, pause
    stream = await sam.get("/supervisor/stream")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: board\n" in stream.text and "Customer C-1" in stream.text


async def test_pause_targets_and_move_are_forms_with_clear_errors(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _supervisor(runtime)
    handoff = await _pressed_agent(runtime.deps, "C-1", "fraud")
    sam, csrf, _ = await log_in("sam", "/supervisor")

    forged = await sam.post("/supervisor/voice", data={"alert_type": "*", "action": "pause"})
    assert forged.status_code == 403
    paused = await sam.post(
        "/supervisor/voice",
        data={"csrf_token": csrf, "alert_type": "*", "action": "pause", "reason": "incident"},
    )
    assert paused.status_code == 303
    page = _words(await sam.get(paused.headers["location"]))
    assert "All voice calls are paused: alerts go by SMS or email instead." in page
    assert "incident" in page and "0 — paused" in page
    unknown = await sam.post(
        "/supervisor/voice", data={"csrf_token": csrf, "alert_type": "nope", "action": "pause"}
    )
    assert unknown.status_code == 422 and "Choose an alert type" in unknown.text
    resumed = await sam.post(
        "/supervisor/voice", data={"csrf_token": csrf, "alert_type": "*", "action": "resume"}
    )
    assert resumed.status_code == 303
    assert "All voice calls are paused" not in (await sam.get("/supervisor")).text

    bad = await sam.post(
        "/supervisor/queues/fraud/targets",
        data={"csrf_token": csrf, "target_answer_seconds": "soon", "agents_target": "-1"},
    )
    assert bad.status_code == 422
    assert 'id="t-fraud-err">Target answer time: a whole number of seconds' in bad.text
    assert 'id="a-fraud-err">Agents wanted: a whole number' in bad.text
    assert "Traceback" not in bad.text
    good = await sam.post(
        "/supervisor/queues/fraud/targets",
        data={"csrf_token": csrf, "target_answer_seconds": "25", "agents_target": "3"},
    )
    assert good.status_code == 303
    board = _words(await sam.get("/supervisor"))
    assert "Answered within 25 s today" in board and "0 of 3 agents wanted are working" in board

    moved = await sam.post(
        f"/supervisor/handoffs/{handoff.id}/move", data={"csrf_token": csrf, "queue": "general"}
    )
    assert moved.status_code == 303
    again = await sam.post(
        f"/supervisor/handoffs/{handoff.id}/move", data={"csrf_token": csrf, "queue": "nowhere"}
    )
    assert again.status_code == 409 and "Choose a queue" in again.text
    async with runtime.deps.sessions() as session:
        row = await session.get(HandOff, handoff.id)
        assert row is not None and row.queue == "general"
        actions = set(
            (
                await session.exec(
                    select(AuditEntry.kind, AuditEntry.action).where(AuditEntry.actor == "sam")
                )
            ).all()
        )
    assert {
        ("voice_switch", "pause"),
        ("voice_switch", "resume"),
        ("call_queue", "targets"),
        ("handoff", "move_queue"),
    } <= actions


@pytest.mark.parametrize("path", ["/supervisor", "/supervisor/stream"])
async def test_an_agent_may_not_open_the_board_or_its_stream(
    runtime: Runtime, log_in: LogIn, path: str
) -> None:
    await _supervisor(runtime)
    gary, _, _ = await log_in("gary")
    assert (await gary.get(path)).status_code == 403


async def test_the_forecast_form_shows_the_day_or_says_what_is_wrong(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _supervisor(runtime)
    sam, csrf, _ = await log_in("sam", "/supervisor")
    form = await sam.get("/supervisor/forecast")
    assert form.status_code == 200 and "Customers to call" in form.text
    bad = await sam.post(
        "/supervisor/forecast",
        data={
            "csrf_token": csrf,
            "alert_type": "",
            "recipients": "lots",
            "agents": "3",
            "start": "9h",
        },
    )
    assert bad.status_code == 422 and "Traceback" not in bad.text
    assert 'id="f-recipients-err">Customers to call: a whole number' in bad.text
    assert 'id="f-start-err">Start time: hours and minutes' in bad.text
    assert 'id="f-alert_type-err">Choose the alert type' in bad.text
    ran = await sam.post(
        "/supervisor/forecast",
        data={
            "csrf_token": csrf,
            "alert_type": "large_debit",
            "recipients": "800",
            "agents": "3",
            "start": "09:00",
        },
    )
    assert ran.status_code == 200
    text = _words(ran)
    assert "Expected day" in text and "Pacing off" in text and "Pacing on" in text
    assert "<svg" in ran.text and "<polyline" in ran.text
