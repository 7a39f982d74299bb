"""Call-centre hours page (/admin/hours): the weekly schedule, holidays, a 14-day preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import page
from admin_ui.security import SessionDep, StaffUser, require_page, staff_context
from alerts.alert_types.review import overview
from alerts.columns import utcnow
from callcentre.models import WEEKDAYS
from callcentre.state import (
    CentreIn,
    HoursIn,
    _opening,
    list_centres,
    load_hours,
    save_centre,
    save_hours,
)
from rules.facts import zone_of

router = APIRouter(include_in_schema=False)
CanSetHours = Annotated[StaffUser, Depends(require_page("call_centre"))]
DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
PREVIEW_DAYS = 14


@dataclass(frozen=True, slots=True)
class PreviewDay:
    day: date
    open: bool
    hours: str
    why: str
    blackout: tuple[str, ...] = ()


def preview(hours: HoursIn, today: date, days: int = PREVIEW_DAYS) -> list[PreviewDay]:
    """Open or closed on each of the next ``days`` days (from ``today``, the centre's date)."""
    rules_hours = hours.to_hours()
    out = []
    for n in range(days):
        day = today + timedelta(days=n)
        openings, why = rules_hours.openings_on(day)
        label = (
            "Holiday"
            if why.startswith("holiday")
            else ("Special day" if why.startswith("special") else "")
        )
        out.append(
            PreviewDay(
                day=day,
                open=bool(openings),
                hours=", ".join(o.describe() for o in openings).replace(
                    "00:00-24:00", "Open all day"
                )
                or "Closed",
                why=label,
                blackout=tuple(sorted(rules_hours.blackouts.get(day, ()))),
            )
        )
    return out


def parse_form(form: dict[str, str]) -> tuple[HoursIn | None, dict[str, str]]:
    """The hours from the page's fields, or the message for each field that is wrong."""
    errors: dict[str, str] = {}
    tz = form.get("timezone", "").strip() or "UTC"
    try:
        zone_of(tz)
    except ValueError:
        errors["timezone"] = (
            f"“{tz}” is not a time zone we know. Use a name like Europe/Amsterdam or UTC."
        )
    weekly: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        text = form.get(f"day_{day}", "").strip()
        spans = [s.strip() for s in text.replace(";", ",").split(",") if s.strip()]
        for span in spans:
            try:
                _opening(span)
            except ValueError:
                errors[f"day_{day}"] = (
                    f"“{span}” is not a time range we understand: write opening and closing "
                    "time like 08:00-17:00, closing after opening (24:00 for midnight). "
                    "Leave empty when closed all day."
                )
                break
        weekly[day] = spans
    holidays: list[date] = []
    for line in form.get("holidays", "").replace(",", "\n").splitlines():
        if not line.strip():
            continue
        try:
            holidays.append(date.fromisoformat(line.strip()))
        except ValueError:
            errors["holidays"] = (
                f"“{line.strip()}” is not a date: write one date per line as YYYY-MM-DD, "
                "for example 2026-12-25."
            )
            break
    blackouts: dict[date, list[str]] = {}
    for line in form.get("blackouts", "").splitlines():
        if not line.strip():
            continue
        day_text, _, types_text = line.partition(":")
        types = [t.strip() for t in types_text.split(",") if t.strip()]
        blackout_day: date | None
        try:
            blackout_day = date.fromisoformat(day_text.strip())
        except ValueError:
            blackout_day = None
        if blackout_day is None or not types:
            errors["blackouts"] = (
                f"“{line.strip()}” is not a blackout we understand: write the date, a colon and "
                "the alert types that send nothing that day, for example "
                "2026-12-31: large_debit, low_balance."
            )
            break
        blackouts[blackout_day] = sorted(set(blackouts.get(blackout_day, [])) | set(types))
    if errors:
        return None, errors
    try:
        return HoursIn(
            timezone=tz,
            weekly={d: s for d, s in weekly.items() if s},
            holidays=sorted(set(holidays)),
            blackouts=dict(sorted(blackouts.items())),
        ), {}
    except ValidationError as exc:
        return None, {"timezone": "; ".join(str(e["msg"]) for e in exc.errors())}


def _fields(hours: HoursIn) -> dict[str, str]:
    return {
        "timezone": hours.timezone,
        **{f"day_{d}": ", ".join(hours.weekly.get(d, [])) for d in WEEKDAYS},
        "holidays": "\n".join(d.isoformat() for d in hours.holidays),
        "blackouts": "\n".join(
            f"{d.isoformat()}: {', '.join(t)}" for d, t in hours.blackouts.items()
        ),
    }


async def _render(
    request: Request,
    user: StaffUser,
    session: Any,
    centre: str,
    *,
    fields: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> HTMLResponse:
    centres = await list_centres(session)
    chosen = next((c for c in centres if c.key == centre), centres[0] if centres else None)
    hours = chosen.hours if chosen else await load_hours(session)
    now = utcnow()
    today = now.astimezone(zone_of(hours.timezone)).date()
    return page(
        request,
        "hours.html",
        staff_context(
            request,
            user,
            title="Call-centre hours",
            centres=centres,
            centre=chosen,
            fields={**_fields(hours), **(fields or {})},
            errors=errors or {},
            days=[(d, DAY_NAMES[d]) for d in WEEKDAYS],
            preview=preview(hours, today),
            saved=saved,
            type_keys=[r.key for r in await overview(session=session, now=now)],
        ),
        status_code=422 if errors else 200,
    )


@router.get("/admin/hours")
async def hours_page(
    request: Request, user: CanSetHours, session: SessionDep, centre: str = "", saved: str = ""
) -> HTMLResponse:
    return await _render(request, user, session, centre, saved=bool(saved))


@router.post("/admin/hours", response_model=None)
async def hours_save(request: Request, user: CanSetHours, session: SessionDep) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    centre = form.get("centre", "")
    hours, errors = parse_form(form)
    if hours is not None:
        known = {r.key for r in await overview(session=session, now=utcnow())}
        unknown = sorted({t for types in hours.blackouts.values() for t in types} - known)
        if unknown:
            hours, errors = (
                None,
                {
                    "blackouts": f"There is no alert type {', '.join(unknown)}. Use the short "
                    "names listed below the field."
                },
            )
    if hours is None:
        return await _render(request, user, session, centre, fields=form, errors=errors)
    centres = await list_centres(session)
    chosen = next((c for c in centres if c.key == centre), None)
    if chosen is None:
        await save_hours(session=session, hours=hours, now=utcnow())
    else:
        await save_centre(
            session=session,
            key=chosen.key,
            centre=CentreIn(name=chosen.name, hours=hours),
            now=utcnow(),
        )
    suffix = f"&centre={chosen.key}" if chosen else ""
    return RedirectResponse(f"/admin/hours?saved=1{suffix}", status_code=303)
