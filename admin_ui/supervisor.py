"""The supervisor board (``/supervisor``): every queue live (server-sent events), the voice
kill switch, queue targets and moving waiting work. Thin: the figures and actions are
callcentre.board and callcentre.voice_switch."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import ValidationError
from starlette.responses import HTMLResponse

from admin_ui.live import live_stream
from admin_ui.rendering import page, templates
from admin_ui.security import SessionDep, StaffUser, require_page, staff_context
from alerts.api.deps import get_deps
from alerts.columns import utcnow
from callcentre.board import (
    Board,
    BoardError,
    QueueTargetsIn,
    board,
    move_waiting,
    set_queue_targets,
)
from callcentre.forecast import ForecastIn, agents_today, forecast, learned_rates
from callcentre.live_pacing import VoicePacer
from callcentre.models import ALL_ALERT_TYPES
from callcentre.queues import AGENT_STATES
from callcentre.voice_switch import pause_voice, resume_voice

router = APIRouter(include_in_schema=False)

CanSupervise = Annotated[StaffUser, Depends(require_page("supervise"))]
BOARD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
NOTICES = {
    "paused": "Voice is paused for that alert type: its alerts go by SMS or email instead.",
    "paused_all": "All voice calls are paused: alerts go by SMS or email instead.",
    "resumed": "Voice resumed: calls are placed again, as the pacer allows.",
    "targets": "The queue's targets are saved.",
    "moved": "The hand-off was moved: the new queue's agents see it now.",
}


def _pacer(request: Request) -> VoicePacer | None:
    pacer = get_deps(request).pacer
    return pacer if isinstance(pacer, VoicePacer) else None


def _live(data: Board, csrf: str, errors: dict[str, str] | None = None) -> str:
    return templates.get_template("supervisor/_board.html").render(
        board=data, csrf_token=csrf, states=AGENT_STATES, errors=errors or {}
    )


async def _page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    data = await board(session=session, now=utcnow(), pacer=_pacer(request))
    ctx: dict[str, Any] = staff_context(
        request,
        user,
        title="Supervisor board",
        board=data,
        states=AGENT_STATES,
        notice=notice,
        errors=errors or {},
        all_key=ALL_ALERT_TYPES,
    )
    response = page(request, "supervisor/board.html", ctx, status_code=status)
    response.headers["Content-Security-Policy"] = BOARD_CSP
    return response


@router.get("/supervisor")
async def board_page(
    request: Request, user: CanSupervise, session: SessionDep, done: str = ""
) -> HTMLResponse:
    return await _page(request, user, session, notice=NOTICES.get(done))


@router.get("/supervisor/stream")
async def stream(request: Request, user: CanSupervise) -> StreamingResponse:
    """Server-sent events: the board's figures (as HTML) whenever one changes. A client that
    is not an EventSource gets the current board once."""
    deps = get_deps(request)
    csrf = staff_context(request, user)["csrf_token"]
    pacer = _pacer(request)

    async def read() -> Board:
        async with deps.sessions() as session:
            return await board(session=session, now=utcnow(), pacer=pacer)

    return live_stream(request, "board", read, lambda data: _live(data, csrf))


@router.post("/supervisor/voice", response_model=None)
async def voice_switch(
    request: Request,
    user: CanSupervise,
    session: SessionDep,
    alert_type: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    data = await board(session=session, now=utcnow(), pacer=None)
    known = {t.key for t in data.alert_types} | {ALL_ALERT_TYPES}
    if alert_type not in known:
        errors = {"voice": "Choose an alert type (or all voice calls)."}
        return await _page(request, user, session, errors=errors, status=422)
    if action == "pause":
        await pause_voice(
            session=session,
            alert_type=alert_type,
            by=user.username,
            reason=reason.strip(),
            now=utcnow(),
        )
        done = "paused_all" if alert_type == ALL_ALERT_TYPES else "paused"
        return RedirectResponse(f"/supervisor?done={done}", status_code=303)
    if action == "resume":
        await resume_voice(session=session, alert_type=alert_type)
        return RedirectResponse("/supervisor?done=resumed", status_code=303)
    errors = {"voice": "Choose Pause or Resume."}
    return await _page(request, user, session, errors=errors, status=422)


def _field_errors(exc: ValidationError, key: str) -> dict[str, str]:
    words = {
        "target_answer_seconds": "Target answer time: a whole number of seconds from 1 to 86400.",
        "agents_target": "Agents wanted: a whole number from 0 to 10000, or leave it empty.",
    }
    out = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "target_answer_seconds"
        out[f"{key}.{name}"] = words.get(name, str(err["msg"]))
    return out


@router.post("/supervisor/queues/{key}/targets", response_model=None)
async def queue_targets(
    key: str,
    request: Request,
    user: CanSupervise,
    session: SessionDep,
    target_answer_seconds: Annotated[str, Form()] = "",
    agents_target: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        targets = QueueTargetsIn.model_validate(
            {
                "target_answer_seconds": target_answer_seconds.strip(),
                "agents_target": agents_target.strip() or None,
            }
        )
        await set_queue_targets(session=session, key=key, targets=targets)
    except ValidationError as exc:
        return await _page(request, user, session, errors=_field_errors(exc, key), status=422)
    except BoardError as exc:
        errors = {f"{key}.target_answer_seconds": str(exc)}
        return await _page(request, user, session, errors=errors, status=404)
    return RedirectResponse("/supervisor?done=targets", status_code=303)


@router.post("/supervisor/handoffs/{handoff_id}/move", response_model=None)
async def move(
    handoff_id: int,
    request: Request,
    user: CanSupervise,
    session: SessionDep,
    queue: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        await move_waiting(session=session, handoff_id=handoff_id, queue=queue)
    except BoardError as exc:
        errors = {"move": str(exc)}
        return await _page(request, user, session, errors=errors, status=409)
    return RedirectResponse("/supervisor?done=moved", status_code=303)


FORECAST_WORDS = {
    "alert_type": "Choose the alert type of the campaign.",
    "recipients": "Customers to call: a whole number from 1 to 200000.",
    "agents": "Agents: a whole number from 0 to 5000.",
    "start": "Start time: hours and minutes, like 09:30 (UTC).",
}


async def _forecast_page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    result: object = None,
    status: int = 200,
) -> HTMLResponse:
    data = await board(session=session, now=utcnow(), pacer=None)
    ctx = staff_context(
        request,
        user,
        title="Forecast before a launch",
        alert_types=data.alert_types,
        values=values,
        errors=errors or {},
        result=result,
    )
    response = page(request, "supervisor/forecast.html", ctx, status_code=status)
    response.headers["Content-Security-Policy"] = BOARD_CSP
    return response


@router.get("/supervisor/forecast")
async def forecast_form(request: Request, user: CanSupervise, session: SessionDep) -> HTMLResponse:
    now = utcnow()
    values = {
        "alert_type": "",
        "recipients": "1000",
        "agents": str(await agents_today(session, now)),
        "start": f"{(now.hour + 1) % 24:02d}:00",
    }
    return await _forecast_page(request, user, session, values=values)


@router.post("/supervisor/forecast")
async def forecast_run(
    request: Request,
    user: CanSupervise,
    session: SessionDep,
    alert_type: Annotated[str, Form()] = "",
    recipients: Annotated[str, Form()] = "",
    agents: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
) -> HTMLResponse:
    values = {
        "alert_type": alert_type,
        "recipients": recipients.strip(),
        "agents": agents.strip(),
        "start": start.strip(),
    }
    try:
        form = ForecastIn.model_validate(values)
    except ValidationError as exc:
        errors = {
            str(e["loc"][0]): FORECAST_WORDS.get(str(e["loc"][0]), str(e["msg"]))
            for e in exc.errors()
        }
        return await _forecast_page(
            request, user, session, values=values, errors=errors, status=422
        )
    rates = await learned_rates(session, form.alert_type, utcnow())
    result = await asyncio.to_thread(forecast, form, utcnow(), rates)
    return await _forecast_page(request, user, session, values=values, result=result)
