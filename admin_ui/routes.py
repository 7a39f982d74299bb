"""Admin UI pages: login/logout, customer search, the customer's single view, open hand-offs;
the 403 pages of a refused role or CSRF token."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import JsonValue
from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import HTMLResponse

from admin_ui.agent import router as agent_router
from admin_ui.consent_page import router as consent_router
from admin_ui.forward import router as forward_router
from admin_ui.hours import router as hours_router
from admin_ui.ingestion import router as ingestion_router
from admin_ui.integrations import router as integrations_router
from admin_ui.rendering import page
from admin_ui.reports import router as reports_router
from admin_ui.responses import router as response_router
from admin_ui.security import (
    HOME,
    CanView,
    CsrfRefused,
    CurrentAdmin,
    PageForbidden,
    SessionDep,
    StaffUser,
    csrf_ok,
    log_in,
    require_page,
    safe_next,
    staff_context,
)
from admin_ui.staff import router as staff_router
from admin_ui.supervisor import router as supervisor_router
from admin_ui.throttle import LoginThrottle, too_many_message
from admin_ui.unsubscribe import router as unsubscribe_router
from admin_ui.users import authenticate, end_sessions
from alerts.api.deps import client_ip
from alerts.customers.history import HistoryQuery, customer_history
from alerts.delivery.alarms import list_alarms
from alerts.lifecycle import HANDOFF_OPEN
from alerts.models import TRIAL_CUSTOMER_REF, Account, Alert, ChannelAlarm, Customer, HandOff

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
router.include_router(response_router)
router.include_router(ingestion_router)
router.include_router(forward_router)
router.include_router(unsubscribe_router)
router.include_router(consent_router)
router.include_router(staff_router)
router.include_router(integrations_router)
router.include_router(reports_router)
router.include_router(agent_router)
router.include_router(hours_router)
router.include_router(supervisor_router)

PAGE_SIZE = 50
HANDOFF_LIMIT = 200
CSRF_MESSAGE = (
    "This form has expired or did not come from Herald. Go back, reload the page and try again."
)


_ctx = staff_context


async def _alarms(session: AsyncSession) -> list[ChannelAlarm]:
    """Active channel alarms, shown at the top of the staff pages."""
    return [a for a in await list_alarms(session=session) if a.cleared_at is None]


def csrf_refused(request: Request, user: StaffUser | None = None) -> HTMLResponse:
    logger.warning("CSRF check failed path=%s", request.url.path)
    return page(
        request,
        "message.html",
        _ctx(
            request,
            user,
            title="Form expired",
            heading="This form could not be accepted",
            message=CSRF_MESSAGE,
        ),
        status_code=403,
    )


async def page_forbidden(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageForbidden)
    return page(
        request,
        "message.html",
        _ctx(
            request,
            exc.user,
            title="Not allowed",
            heading="Your role does not allow this",
            message=f"You are logged in as {exc.user.username} ({exc.user.role}). This needs "
            f"the “{exc.capability.replace('_', ' ')}” permission: ask an administrator if "
            "you need it.",
        ),
        status_code=403,
    )


async def csrf_handler(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, CsrfRefused)
    return csrf_refused(request, exc.user)


PAGE_HANDLERS: dict[type[Exception], Any] = {
    PageForbidden: page_forbidden,
    CsrfRefused: csrf_handler,
}

EXPIRED_MESSAGE = "Your session ended after {minutes} minutes without activity. Log in again."


# --- login / logout --------------------------------------------------------------------------


@router.get("/admin/login")
async def login_form(request: Request, next: str = HOME, expired: str = "") -> HTMLResponse:
    minutes = request.app.state.settings.admin_session_minutes
    return page(
        request,
        "login.html",
        _ctx(
            request,
            None,
            title="Log in",
            error=None,
            notice=EXPIRED_MESSAGE.format(minutes=minutes) if expired else None,
            next=safe_next(next),
            username="",
        ),
    )


def _login_again(
    request: Request, username: str, next: str, error: str, status: int, wait: int = 0
) -> HTMLResponse:
    response = page(
        request,
        "login.html",
        _ctx(
            request,
            None,
            title="Log in",
            error=error,
            notice=None,
            next=safe_next(next),
            username=username,
        ),
        status_code=status,
    )
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


@router.post("/admin/login", response_model=None)
async def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
    next: Annotated[str, Form()] = HOME,
) -> HTMLResponse | RedirectResponse:
    if not csrf_ok(request, csrf_token_field):
        return csrf_refused(request)
    settings = request.app.state.settings
    throttle = LoginThrottle(
        request.app.state.runtime.pool,
        user_limit=settings.login_user_limit,
        address_limit=settings.login_address_limit,
        window_s=settings.login_window_minutes * 60,
    )
    address = client_ip(request)
    wait = await throttle.retry_after(username, address)
    if wait:
        logger.warning("login throttled address=%s retry_after=%s", address, wait)
        return _login_again(request, username, next, too_many_message(wait), 429, wait)
    user = await authenticate(session=session, username=username, password=password)
    if user is None:
        logger.info("login refused")
        await throttle.failed(username, address)
        return _login_again(request, username, next, "Wrong username or password.", 401)
    await throttle.succeeded(username)
    log_in(request, user)
    logger.info("login user_id=%s role=%s", user.id, user.role)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/admin/logout", response_model=None, dependencies=[Depends(require_page("view"))])
async def logout(
    request: Request,
    session: SessionDep,
    user: CurrentAdmin,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> HTMLResponse | RedirectResponse:
    if not csrf_ok(request, csrf_token_field):
        return csrf_refused(request)
    await end_sessions(session=session, user_id=user.id)  # a copied cookie is refused too
    request.session.clear()
    return RedirectResponse("/admin/login", status_code=303)


# --- pages -----------------------------------------------------------------------------------


@router.get("/admin", dependencies=[Depends(require_page("view"))])
async def admin_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@dataclass(frozen=True, slots=True)
class CustomerRow:
    ref: str
    name: str
    accounts: list[str]
    alerts: int
    last_status: str | None


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@router.get("/admin/customers")
async def customers(
    request: Request,
    user: CanView,
    session: SessionDep,
    q: str = "",
    page_arg: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    page_no = max(1, int(page_arg)) if page_arg.isdigit() else 1
    q = q.strip()
    # The studio's made-up trial customer is nobody's customer: not listed (their page opens).
    where = [col(Customer.external_ref) != TRIAL_CUSTOMER_REF]
    if q:
        pattern = _like(q)
        where.append(
            or_(
                col(Customer.external_ref).ilike(pattern, escape="\\"),
                col(Customer.name).ilike(pattern, escape="\\"),
            )
        )
    total = (await session.exec(select(func.count()).select_from(Customer).where(*where))).one()
    found = (
        await session.exec(
            select(Customer)
            .where(*where)
            .order_by(col(Customer.created_at).desc(), col(Customer.id).desc())
            .offset((page_no - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    ids = [c.id for c in found]
    accounts: dict[int, list[str]] = {}
    counts: dict[int, int] = {}
    last: dict[int, str] = {}
    if ids:
        for account in (
            await session.exec(
                select(Account)
                .where(col(Account.customer_id).in_(ids))
                .order_by(col(Account.account_id))
            )
        ).all():
            accounts.setdefault(account.customer_id, []).append(account.account_id)
        for cid, n in (
            await session.exec(
                select(Alert.customer_id, func.count())
                .where(col(Alert.customer_id).in_(ids))
                .group_by(col(Alert.customer_id))
            )
        ).all():
            counts[cid] = n
        newest = (
            select(func.max(Alert.id))
            .where(col(Alert.customer_id).in_(ids))
            .group_by(col(Alert.customer_id))
            .scalar_subquery()
        )
        for cid, status in (
            await session.exec(
                select(Alert.customer_id, Alert.status).where(col(Alert.id).in_(newest))
            )
        ).all():
            last[cid] = status
    rows = [
        CustomerRow(
            ref=c.external_ref,
            name=c.name,
            accounts=accounts.get(c.id or 0, []),
            alerts=counts.get(c.id or 0, 0),
            last_status=last.get(c.id or 0),
        )
        for c in found
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    return page(
        request,
        "customers.html",
        _ctx(
            request,
            user,
            title="Customers",
            alarms=await _alarms(session),
            rows=rows,
            q=q,
            page_no=page_no,
            pages=pages,
            total=total,
        ),
    )


@router.get("/admin/customers/{ref}")
async def customer_detail(
    ref: str,
    request: Request,
    user: CanView,
    session: SessionDep,
    query: Annotated[HistoryQuery, Query()],
) -> HTMLResponse:
    """The single view, one page of it: ``?before=`` (alerts), ``?skips_before=`` (events
    without an alert) and ``?changes_before=`` move each list to its next, older page."""
    history = await customer_history(
        session=session, external_ref=ref, mask_contacts=False, query=query
    )
    if history is None:
        return page(
            request,
            "message.html",
            _ctx(
                request,
                user,
                title="Customer not found",
                heading="Customer not found",
                message=f"There is no customer with the reference “{ref}”. Check the reference or "
                "search for the customer by name.",
            ),
            status_code=404,
        )
    customer = history.customer
    return page(
        request,
        "customer.html",
        _ctx(
            request,
            user,
            title=f"{customer.name} ({customer.ref})",
            h=history,
            query=query,
            tz=customer.timezone,
        ),
    )


class _HandOffRow(TypedDict):
    """One line of the open hand-offs table (templates/handoffs.html)."""

    id: int | None
    at: datetime
    tz: str | None
    ref: str | None
    name: str | None
    kind: str
    status: str
    intent: str | None
    channel: str | None
    text: str | None
    alert_type: str | None
    summary: str
    callback_at: datetime | None
    task: str | None
    queue: str | None
    claimed_by: str | None


def _handoff_row(handoff: HandOff) -> _HandOffRow:
    # Read leniently, not through alerts.responses.values.context_of: the console lists every
    # open hand-off, and one whose context lacks a field still shows with what it has.
    context = handoff.context or {}
    customer, alert, answer = (_part(context, name) for name in ("customer", "alert", "answer"))
    summary = ""
    if alert.get("amount"):
        summary = f"{alert.get('amount')} {alert.get('currency') or ''}".strip()
        if alert.get("merchant"):
            summary += f" to {alert['merchant']}"
    return {
        "id": handoff.id,
        "at": handoff.created_at,
        "tz": _text(customer.get("timezone")),
        "ref": _text(customer.get("ref")),
        "name": _text(customer.get("name")),
        "kind": handoff.kind,
        "status": handoff.status,
        "intent": _text(answer.get("intent")),
        "channel": _text(answer.get("channel")),
        "text": _text(answer.get("text")),
        "alert_type": _text(alert.get("type")),
        "summary": summary,
        "callback_at": _when(context.get("callback_at")),
        "task": _text(context.get("task") or context.get("why") or context.get("call_error")),
        "queue": handoff.queue,
        "claimed_by": handoff.claimed_by,
    }


def _part(context: dict[str, JsonValue], name: str) -> dict[str, JsonValue]:
    value = context.get(name)
    return value if isinstance(value, dict) else {}


def _text(value: JsonValue) -> str | None:
    return None if value is None else str(value)


def _when(value: JsonValue) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@router.get("/admin/handoffs")
async def handoffs(
    request: Request,
    user: CanView,
    session: SessionDep,
    page_arg: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    """Every open hand-off, longest waiting first, a page at a time (none is left out)."""
    page_no = max(1, int(page_arg)) if page_arg.isdigit() else 1
    is_open = col(HandOff.status).in_(HANDOFF_OPEN)
    total = (await session.exec(select(func.count()).select_from(HandOff).where(is_open))).one()
    open_ones = (
        await session.exec(
            select(HandOff)
            .where(is_open)
            .order_by(col(HandOff.created_at), col(HandOff.id))
            .offset((page_no - 1) * HANDOFF_LIMIT)
            .limit(HANDOFF_LIMIT)
        )
    ).all()
    return page(
        request,
        "handoffs.html",
        _ctx(
            request,
            user,
            title="Open hand-offs",
            alarms=await _alarms(session),
            rows=[_handoff_row(h) for h in open_ones],
            limit=HANDOFF_LIMIT,
            total=int(total),
            page_no=page_no,
            pages=max(1, -(-int(total) // HANDOFF_LIMIT)),
        ),
    )
