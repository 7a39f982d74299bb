"""The agent console (``/agent``): the agent's state, their live work queue (server-sent
events), claim, the screen-pop, notes and the outcome. Thin: the data and the actions are
callcentre.console and callcentre.screen_pop."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import HTMLResponse

from admin_ui.live import live_stream
from admin_ui.rendering import page, templates
from admin_ui.security import SessionDep, StaffUser, require_page, staff_context
from alerts.access import allowed
from alerts.api.deps import get_deps
from alerts.columns import utcnow
from callcentre.console import (
    Agent,
    ConsoleError,
    WorkList,
    add_note,
    call_back,
    claim,
    complete,
    work_for,
)
from callcentre.queues import (
    AGENT_STATES,
    agent_state,
    list_outcomes,
    list_queues,
    seen,
    set_agent_state,
    skills_of,
)
from callcentre.routing import LineError, set_agent_line
from callcentre.screen_pop import screen_pop

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

CanWork = Annotated[StaffUser, Depends(require_page("agent_console"))]
# The console runs one script of Herald's own (agent.js) that opens the live stream.
AGENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SEEN_EVERY = 20.0  # how often an open console marks its agent as present


def _agent(user: StaffUser) -> Agent:
    return Agent(id=user.id, username=user.username, any_queue=allowed(user.role, "any_queue"))


async def _work(session: SessionDep, user: StaffUser) -> WorkList:
    """The user's work list: their skills' queues; a supervisor without skills sees them all."""
    skills = await skills_of(session, user.id)
    if not skills and allowed(user.role, "any_queue"):
        skills = [q.key for q in await list_queues(session)]
    return await work_for(session=session, agent=user.username, skills=skills, now=utcnow())


def _console_page(
    request: Request, name: str, ctx: dict[str, Any], status: int = 200
) -> HTMLResponse:
    response = page(request, f"agent/{name}", ctx, status_code=status)
    response.headers["Content-Security-Policy"] = AGENT_CSP
    return response


async def _console(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    line_error: tuple[str, str] | None = None,  # (what was typed, what is wrong with it)
) -> HTMLResponse:
    state = await agent_state(session, user.id)
    work = await _work(session, user)
    names = {q.key: q.name for q in work.queues}
    return _console_page(
        request,
        "console.html",
        staff_context(
            request,
            user,
            title="Agent console",
            work=work,
            state=state.state if state else "away",
            line=state.line if state else None,
            line_typed=line_error[0] if line_error else None,
            line_error=line_error[1] if line_error else None,
            states=AGENT_STATES,
            skill_names=[names.get(s, s) for s in work.skills],
            any_queue=allowed(user.role, "any_queue"),
            error=error,
            notice=notice,
            now=utcnow(),
        ),
        status,
    )


@router.get("/agent")
async def console(
    request: Request, user: CanWork, session: SessionDep, done: str = ""
) -> HTMLResponse:
    notice = (
        "Completed: the outcome is in the customer's history. You are available again."
        if done == "completed"
        else None
    )
    return await _console(request, user, session, notice=notice)


@router.post("/agent/state", response_model=None)
async def change_state(
    request: Request,
    user: CanWork,
    session: SessionDep,
    state: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    if state not in AGENT_STATES:
        return await _console(request, user, session, error="Choose one of the states.", status=422)
    await set_agent_state(session=session, user_id=user.id, state=state, now=utcnow())
    return RedirectResponse("/agent", status_code=303)


@router.post("/agent/line", response_model=None)
async def change_line(
    request: Request,
    user: CanWork,
    session: SessionDep,
    line: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """The phone the agent takes live transfers on: while they are available, transfers of
    their queues are put through to it (callcentre.routing); empty: the centre's number."""
    try:
        await set_agent_line(session=session, user_id=user.id, raw=line, now=utcnow())
    except LineError as exc:
        return await _console(request, user, session, line_error=(line, str(exc)), status=422)
    return RedirectResponse("/agent", status_code=303)


@router.get("/agent/stream")
async def stream(request: Request, user: CanWork) -> StreamingResponse:
    """Server-sent events: the work list (as HTML) whenever it changes. A client that is not
    an EventSource (no ``Accept: text/event-stream``) gets the current list once."""
    deps = get_deps(request)
    csrf = staff_context(request, user)["csrf_token"]
    loop = asyncio.get_running_loop()
    marked: float | None = None

    async def read() -> Any:
        nonlocal marked
        async with deps.sessions() as session:
            work = await _work(session, user)
            if marked is None or loop.time() - marked >= SEEN_EVERY:
                await seen(session=session, user_id=user.id, now=utcnow())
                marked = loop.time()
        return work

    def render(work: Any) -> str:
        return templates.get_template("agent/_work.html").render(
            work=work, csrf_token=csrf, now=utcnow()
        )

    return live_stream(request, "work", read, render)


@router.post("/agent/handoffs/{handoff_id}/claim", response_model=None)
async def claim_work(
    handoff_id: int, request: Request, user: CanWork, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    try:
        await claim(session=session, agent=_agent(user), handoff_id=handoff_id, now=utcnow())
    except ConsoleError as exc:
        return await _console(request, user, session, error=str(exc), status=409)
    return RedirectResponse(f"/agent/handoffs/{handoff_id}", status_code=303)


async def _pop(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    handoff_id: int,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    pop = await screen_pop(
        deps=get_deps(request),
        session=session,
        handoff_id=handoff_id,
        mask_contacts=not allowed(user.role, "any_queue"),
    )
    if pop is None:
        return await _console(
            request, user, session, error="There is no such hand-off.", status=404
        )
    return _console_page(
        request,
        "handoff.html",
        staff_context(
            request,
            user,
            title=f"{pop.item.customer_name or 'Customer'} · hand-off {handoff_id}",
            pop=pop,
            tz=pop.item.tz,
            outcomes=await list_outcomes(session),
            mine=pop.handoff.claimed_by == user.username,
            error=error,
            notice=notice,
        ),
        status,
    )


@router.get("/agent/handoffs/{handoff_id}")
async def handoff_page(
    handoff_id: int, request: Request, user: CanWork, session: SessionDep
) -> HTMLResponse:
    """The screen-pop: the customer's single view for this hand-off."""
    return await _pop(request, user, session, handoff_id)


@router.post("/agent/handoffs/{handoff_id}/notes", response_model=None)
async def note(
    handoff_id: int,
    request: Request,
    user: CanWork,
    session: SessionDep,
    text: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        await add_note(
            session=session, agent=_agent(user), handoff_id=handoff_id, text=text, now=utcnow()
        )
    except ConsoleError as exc:
        return await _pop(request, user, session, handoff_id, error=str(exc), status=409)
    return RedirectResponse(f"/agent/handoffs/{handoff_id}#notes", status_code=303)


@router.post("/agent/handoffs/{handoff_id}/complete", response_model=None)
async def finish(
    handoff_id: int,
    request: Request,
    user: CanWork,
    session: SessionDep,
    outcome: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        await complete(
            session=session,
            agent=_agent(user),
            handoff_id=handoff_id,
            outcome=outcome,
            note=text,
            now=utcnow(),
        )
    except ConsoleError as exc:
        return await _pop(request, user, session, handoff_id, error=str(exc), status=409)
    return RedirectResponse("/agent?done=completed", status_code=303)


@router.post("/agent/handoffs/{handoff_id}/call", response_model=None)
async def click_to_call(
    handoff_id: int, request: Request, user: CanWork, session: SessionDep
) -> HTMLResponse:
    """Call the customer back now (a callback or task the agent claimed)."""
    try:
        said = await call_back(deps=get_deps(request), agent=_agent(user), handoff_id=handoff_id)
    except ConsoleError as exc:
        return await _pop(request, user, session, handoff_id, error=str(exc), status=409)
    return await _pop(request, user, session, handoff_id, notice=said)
