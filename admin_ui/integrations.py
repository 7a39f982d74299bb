"""Admin UI back to the CRM: webhook receivers (add, pause, resume), the delivery log with
replay, and the CSV exports of responses and hand-offs (streamed, for millions of rows)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import form_day, not_a_day, page
from admin_ui.security import SessionDep, StaffUser, require_page, staff_context
from alerts import audit
from alerts.columns import utcnow
from alerts.crm import exports
from alerts.crm.deliver import replay
from alerts.crm.subscriptions import (
    STATUSES,
    counts_by_status,
    create_subscription,
    list_subscriptions,
    log_lines,
    set_active,
)
from alerts.outbox import KINDS

router = APIRouter(include_in_schema=False)

CanIntegrate = Annotated[StaffUser, Depends(require_page("integrations"))]
CanExport = Annotated[StaffUser, Depends(require_page("export"))]
LOG_PAGE = 50
EXPORT_DAYS = 30
NOTICES = {
    "paused": "The receiver is paused: nothing new is sent to it until you resume it.",
    "resumed": "The receiver is active again: it gets the events from now on.",
    "replayed": "The delivery will be sent again within a few seconds.",
}
KIND_GROUPS = {
    "response": "Responses",
    "handoff": "Hand-offs",
    "alert": "Alerts",
    "preference": "Preferences and consent",
}


def _groups() -> list[tuple[str, str, list[str]]]:
    """(entity, words, kinds) for the event picker."""
    return [
        (entity, words, [k for k in KINDS if k.startswith(f"{entity}.")])
        for entity, words in KIND_GROUPS.items()
    ]


async def _page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    status: str = "",
    receiver: int | None = None,
    before: int | None = None,
    notice: str | None = None,
    error: str | None = None,
    secret: tuple[str, str] | None = None,
    form: dict[str, object] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lines = await log_lines(
        session,
        status=status or None,
        subscription_id=receiver,
        limit=LOG_PAGE + 1,
        before_id=before,
    )
    more = len(lines) > LOG_PAGE
    lines = lines[:LOG_PAGE]
    return page(
        request,
        "integrations.html",
        staff_context(
            request,
            user,
            title="CRM webhooks",
            subscriptions=await list_subscriptions(session),
            counts=await counts_by_status(session),
            statuses=STATUSES,
            groups=_groups(),
            lines=lines,
            older=lines[-1].delivery.id if more and lines else None,
            filters={"status": status, "receiver": receiver or ""},
            notice=notice,
            error=error,
            secret=secret,
            form=form or {"url": "", "events": ["*"]},
        ),
        status_code=status_code,
    )


@router.get("/admin/integrations")
async def integrations_page(
    request: Request,
    user: CanIntegrate,
    session: SessionDep,
    status: str = "",
    receiver: Annotated[int | None, Query(ge=1)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    done: str = "",
) -> HTMLResponse:
    if status not in ("", *STATUSES):
        status = ""
    return await _page(
        request,
        user,
        session,
        status=status,
        receiver=receiver,
        before=before,
        notice=NOTICES.get(done),
    )


@router.post("/admin/integrations", response_model=None)
async def integrations_create(
    request: Request,
    user: CanIntegrate,
    session: SessionDep,
    url: Annotated[str, Form()] = "",
    events: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = events or []
    try:
        row = await create_subscription(
            session, url=url.strip(), events=chosen, actor=user.username, now=utcnow()
        )
    except ValueError as exc:
        return await _page(
            request,
            user,
            session,
            error=f"The receiver was not added: {exc}.",
            form={"url": url, "events": chosen},
            status_code=400,
        )
    return await _page(
        request,
        user,
        session,
        notice=f"Receiver {row.url} added. Copy its signing secret now into the receiver's "
        "settings: it is shown only this once.",
        secret=(f"Signing secret for {row.url}", row.secret),
    )


@router.post("/admin/integrations/{subscription_id}/active", response_model=None)
async def integrations_active(
    request: Request,
    subscription_id: int,
    user: CanIntegrate,
    session: SessionDep,
    active: Annotated[str, Form()] = "no",
) -> Response:
    on = active == "yes"
    try:
        await set_active(session, subscription_id=subscription_id, active=on)
    except KeyError:
        return await _page(
            request, user, session, error="There is no such receiver.", status_code=404
        )
    return RedirectResponse(
        f"/admin/integrations?done={'resumed' if on else 'paused'}", status_code=303
    )


@router.post("/admin/integrations/deliveries/{delivery_id}/replay", response_model=None)
async def integrations_replay(
    request: Request, delivery_id: int, user: CanIntegrate, session: SessionDep
) -> Response:
    try:
        await replay(session, delivery_id=delivery_id, now=utcnow())
    except KeyError:
        return await _page(
            request, user, session, error="There is no such delivery.", status_code=404
        )
    return RedirectResponse("/admin/integrations?done=replayed", status_code=303)


# --- CSV exports ---------------------------------------------------------------------------


def _export_range(since: str, until: str) -> tuple[date, date, list[str]]:
    problems = []
    end = form_day(until) if until.strip() else utcnow().date()
    start = form_day(since)
    if end is None:
        problems.append(not_a_day(until))
        end = utcnow().date()
    if since.strip() and start is None:
        problems.append(not_a_day(since))
    start = start or end - timedelta(days=EXPORT_DAYS - 1)
    if end < start:
        problems.append(f"the range ends ({end}) before it starts ({start})")
    return start, end, problems


@router.get("/admin/exports")
async def exports_page(
    request: Request, user: CanExport, session: SessionDep, since: str = "", until: str = ""
) -> HTMLResponse:
    start, end, problems = _export_range(since, until)
    counts = {}
    if not problems:
        window = exports.day_range(start, end)
        counts = {
            "responses": await exports.count_rows(session, exports.responses_query(*window)),
            "handoffs": await exports.count_rows(session, exports.handoffs_query(*window)),
        }
    return page(
        request,
        "exports.html",
        staff_context(
            request,
            user,
            title="Exports",
            since=start.isoformat(),
            until=end.isoformat(),
            counts=counts,
            problems=problems,
            response_columns=exports.RESPONSE_COLUMNS,
            handoff_columns=exports.HANDOFF_COLUMNS,
        ),
        status_code=400 if problems else 200,
    )


@router.get("/admin/exports/{name}.csv", response_model=None)
async def exports_csv(
    request: Request,
    name: str,
    user: CanExport,
    session: SessionDep,
    since: str = "",
    until: str = "",
) -> Response:
    start, end, problems = _export_range(since, until)
    stream = {"responses": exports.responses_csv, "handoffs": exports.handoffs_csv}.get(name)
    if stream is None or problems:
        return RedirectResponse(f"/admin/exports?since={since}&until={until}", status_code=303)
    # Personal data leaves Herald: who took which days is in the audit log.
    audit.record(
        session,
        kind="export",
        entity_id=name,
        action="download",
        after={"since": start.isoformat(), "until": end.isoformat(), "by": user.username},
    )
    await session.commit()
    return StreamingResponse(
        stream(request.app.state.deps, start, end),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="herald-{name}-{start}-{end}.csv"',
            "Cache-Control": "no-store",
        },
    )
