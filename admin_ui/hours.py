"""Admin UI: the call centre's opening hours — each weekday's openings in the centre's time zone,
holidays, and the next 14 days as the rules will see them. Everyone may look; changing them
needs the call_centre capability (supervisors and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import can, page
from admin_ui.security import CanView, SessionDep, StaffUser, require_page, staff_context
from alerts.alert_types.store import list_keys
from alerts.columns import utcnow
from callcentre.calendar import DAY_WORDS, hours_as_form, hours_from_form, next_days
from callcentre.state import (
    DAYS,
    CentreIn,
    HoursIn,
    list_centres,
    load_hours,
    save_centre,
    save_hours,
)

router = APIRouter(include_in_schema=False)
CanSetHours = Annotated[StaffUser, Depends(require_page("call_centre"))]
PREVIEW_DAYS = 14


def _today(hours: HoursIn, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(hours.timezone))


async def _page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    centre: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    centres = await list_centres(session)
    chosen = next((c for c in centres if c.key == centre), centres[0] if centres else None)
    hours = chosen.hours if chosen else await load_hours(session)
    now = _today(hours, utcnow())
    return page(
        request,
        "hours.html",
        staff_context(
            request,
            user,
            title="Call-centre hours",
            centres=centres,
            centre=chosen,
            days=[(d, DAY_WORDS[d]) for d in DAYS],
            values=values or hours_as_form(hours),
            errors=errors or {},
            preview=next_days(hours, now.date(), PREVIEW_DAYS),
            local_now=now,
            editable=can(user, "call_centre"),
            notice=notice,
        ),
        status_code=status_code,
    )


@router.get("/admin/hours")
async def hours_page(
    request: Request, user: CanView, session: SessionDep, centre: str = "", saved: str = ""
) -> HTMLResponse:
    notice = "Saved. The rules use the new hours from the next alert on." if saved else None
    return await _page(request, user, session, centre=centre, notice=notice)


@router.post("/admin/hours", response_model=None)
async def hours_save(request: Request, user: CanSetHours, session: SessionDep) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    centre_key = values.pop("centre", "")
    keys = frozenset(await list_keys(session=session))
    hours, errors = hours_from_form(values, alert_types=keys)
    if hours is None:
        return await _page(
            request,
            user,
            session,
            centre=centre_key,
            values=values,
            errors=errors,
            status_code=422,
        )
    centres = await list_centres(session)
    chosen = next((c for c in centres if c.key == centre_key), None)
    if chosen is None:
        await save_hours(session=session, hours=hours, now=utcnow())
    else:
        await save_centre(
            session=session,
            key=chosen.key,
            centre=CentreIn(name=chosen.name, hours=hours),
            now=utcnow(),
        )
    target = f"/admin/hours?saved=1&centre={chosen.key}" if chosen else "/admin/hours?saved=1"
    return RedirectResponse(target, status_code=303)
