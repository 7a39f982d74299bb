"""Studio pages: the list of alert types, new ones, on/off, drafts deleted, versions and diffs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import HTMLResponse, Response

from admin_ui.routes import csrf_refused
from admin_ui.security import SessionDep, csrf_ok
from admin_ui.studio.access import CanEdit, CanPublish, CanView
from admin_ui.studio.editor import router as editor_router
from admin_ui.studio.email_trial import router as email_trial_router
from admin_ui.studio.phone import router as phone_router
from admin_ui.studio.recordings_page import router as recordings_page_router
from admin_ui.studio.views import flash, studio_page
from alerts.alert_types.drafts import (
    DraftError,
    discard_draft,
    get_draft,
    new_draft,
    restore_as_draft,
    set_enabled,
)
from alerts.alert_types.review import diff_specs, overview
from alerts.alert_types.store import AlertTypeError, SimultaneousSave, get_row, versions
from alerts.columns import utcnow

router = APIRouter(include_in_schema=False)
BASE = "/admin/alert-types"
CsrfField = Annotated[str, Form(alias="csrf_token")]


def _refused(request: Request) -> HTMLResponse:
    return csrf_refused(request)


@router.get(BASE)
async def alert_types(request: Request, user: CanView, session: SessionDep) -> HTMLResponse:
    rows = await overview(session=session, now=utcnow())
    return studio_page(request, "list.html", user, title="Alert types", rows=rows)


@router.get(f"{BASE}/new")
async def new_form(
    request: Request, user: CanEdit, session: SessionDep, copy_from: str = ""
) -> HTMLResponse:
    rows = await overview(session=session, now=utcnow())
    return studio_page(
        request,
        "new.html",
        user,
        title="New alert type",
        rows=[r for r in rows if r.version],
        copy_from=copy_from,
        name="",
        key="",
        error=None,
    )


@router.post(f"{BASE}/new", response_model=None)
async def create(
    request: Request,
    user: CanEdit,
    session: SessionDep,
    csrf: CsrfField = "",
    name: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    copy_from: Annotated[str, Form()] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return _refused(request)
    try:
        await new_draft(
            session=session, key=key, name=name, actor=user.username, copy_from=copy_from or None
        )
    except DraftError as exc:
        rows = await overview(session=session, now=utcnow())
        return studio_page(
            request,
            "new.html",
            user,
            status_code=422,
            title="New alert type",
            rows=[r for r in rows if r.version],
            copy_from=copy_from,
            name=name,
            key=key,
            error=str(exc),
        )
    flash(request, "Draft created. Nothing is sent until you publish it.")
    return RedirectResponse(f"{BASE}/{key.strip()}", status_code=303)


@router.post(f"{BASE}/{{key}}/enabled", response_model=None)
async def switch(
    key: str,
    request: Request,
    user: CanPublish,
    session: SessionDep,
    csrf: CsrfField = "",
    enabled: Annotated[str, Form()] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return _refused(request)
    on = enabled == "on"
    try:
        row = await set_enabled(session=session, key=key, enabled=on, actor=user.username)
    except (DraftError, AlertTypeError, SimultaneousSave, LookupError) as exc:
        flash(request, f"Not changed: {exc}", error=True)
    else:
        state = "on: new events can raise it" if on else "off: no new alert is raised"
        flash(request, f"{row.name} is now {state} (version {row.version}).")
    return RedirectResponse(BASE, status_code=303)


@router.post(f"{BASE}/{{key}}/draft/delete", response_model=None)
async def delete_draft(
    key: str, request: Request, user: CanEdit, session: SessionDep, csrf: CsrfField = ""
) -> Response:
    if not csrf_ok(request, csrf):
        return _refused(request)
    published = await get_row(session, key)
    try:
        await discard_draft(session=session, key=key, actor=user.username)
    except DraftError as exc:
        flash(request, str(exc), error=True)
        return RedirectResponse(BASE, status_code=303)
    if published is None:
        flash(request, f"The draft “{key}” is deleted.")
        return RedirectResponse(BASE, status_code=303)
    flash(request, f"Your changes are thrown away; version {published.version} stays as it is.")
    return RedirectResponse(f"{BASE}/{key}", status_code=303)


@router.get(f"{BASE}/{{key}}/versions")
async def version_list(
    key: str,
    request: Request,
    user: CanView,
    session: SessionDep,
    a: int | None = None,
    b: int | None = None,
) -> HTMLResponse:
    row = await get_row(session, key)
    found = await versions(session, key)
    if row is None or not found:
        return studio_page(
            request, "missing.html", user, status_code=404, title="Not found", key=key
        )
    by_number = {v.version: v for v in found}
    newest = found[0].version
    a = a if a in by_number else (found[1].version if len(found) > 1 else newest)
    b = b if b in by_number else newest
    lines = diff_specs(by_number[a].spec, by_number[b].spec)
    only_changes = [line for line in lines if line.changed]
    return studio_page(
        request,
        "versions.html",
        user,
        title=f"Versions of {row.name}",
        row=row,
        versions=found,
        a=by_number[a],
        b=by_number[b],
        lines=only_changes,
        has_draft=await get_draft(session, key) is not None,
    )


@router.post(f"{BASE}/{{key}}/versions/{{number}}/restore", response_model=None)
async def restore(
    key: str,
    number: int,
    request: Request,
    user: CanEdit,
    session: SessionDep,
    csrf: CsrfField = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return _refused(request)
    try:
        await restore_as_draft(session=session, key=key, version=number, actor=user.username)
    except DraftError as exc:
        flash(request, str(exc), error=True)
        return RedirectResponse(f"{BASE}/{key}/versions", status_code=303)
    flash(
        request,
        f"Version {number} is now your draft. Review it and publish it to make it current.",
    )
    return RedirectResponse(f"{BASE}/{key}", status_code=303)


# Last: its /admin/alert-types/{key} would otherwise take /admin/alert-types/new.
router.include_router(phone_router)
router.include_router(email_trial_router)
router.include_router(editor_router)
router.include_router(recordings_page_router)
