"""Admin UI for who may do what: users and roles, personal API tokens, the audit log (read-only)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import form_day, not_a_day, page
from admin_ui.security import (
    CanAudit,
    CanManageUsers,
    CanUseTokens,
    SessionDep,
    StaffUser,
    require_page,
    staff_context,
)
from admin_ui.users import change_role, create_user, list_users, reset_password, set_disabled
from alerts.access import ROLE_WORDS, ROLES, allowed
from alerts.audit import AuditQuery, find_entries, known_values, to_csv
from alerts.models import User
from alerts.tokens import TokenError, create_token, list_tokens, revoke_token

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 100
AUDIT_CSV_LIMIT = 50_000
NOTICES = {
    "created": "The user was created. Give them their username and password.",
    "role": "The role was changed. The user's open sessions have ended.",
    "disabled": "The user was disabled: they can no longer log in and their tokens stop working.",
    "enabled": "The user was enabled again.",
    "revoked": "The token was revoked: calls with it are refused from now on.",
}


_ctx = staff_context


# --- users -------------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    notice: str | None = None,
    error: str | None = None,
    secret: tuple[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "users.html",
        _ctx(
            request,
            user,
            title="Users and roles",
            users=await list_users(session=session),
            roles=ROLES,
            role_words=ROLE_WORDS,
            notice=notice,
            error=error,
            secret=secret,
            form=form or {"username": "", "role": "viewer"},
        ),
        status_code=status_code,
    )


@router.get("/admin/users")
async def users_page(
    request: Request, user: CanManageUsers, session: SessionDep, done: str = ""
) -> HTMLResponse:
    return await _users_page(request, user, session, notice=NOTICES.get(done))


@router.post("/admin/users", response_model=None)
async def users_create(
    request: Request,
    user: CanManageUsers,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
) -> Response:
    try:
        await create_user(session=session, username=username, password=password, role=role)
    except ValueError as exc:
        return await _users_page(
            request,
            user,
            session,
            error=f"The user was not created: {exc}.",
            form={"username": username, "role": role},
            status_code=400,
        )
    return RedirectResponse("/admin/users?done=created", status_code=303)


async def _user_action(
    request: Request, user: StaffUser, session: SessionDep, action: Any, done: str
) -> Response:
    try:
        await action
    except ValueError as exc:
        return await _users_page(
            request, user, session, error=f"Not changed: {exc}.", status_code=400
        )
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


@router.post("/admin/users/{user_id}/role", response_model=None)
async def users_role(
    request: Request,
    user_id: int,
    user: CanManageUsers,
    session: SessionDep,
    role: Annotated[str, Form()] = "",
) -> Response:
    return await _user_action(
        request, user, session, change_role(session=session, user_id=user_id, role=role), "role"
    )


@router.post("/admin/users/{user_id}/disable", response_model=None)
async def users_disable(
    request: Request,
    user_id: int,
    user: CanManageUsers,
    session: SessionDep,
    disabled: Annotated[str, Form()] = "yes",
) -> Response:
    off = disabled != "no"
    return await _user_action(
        request,
        user,
        session,
        set_disabled(session=session, user_id=user_id, disabled=off),
        "disabled" if off else "enabled",
    )


@router.post("/admin/users/{user_id}/password", response_model=None)
async def users_password(
    request: Request,
    user_id: int,
    user: CanManageUsers,
    session: SessionDep,
) -> Response:
    try:
        changed, password = await reset_password(session=session, user_id=user_id)
    except ValueError as exc:
        return await _users_page(
            request, user, session, error=f"Not changed: {exc}.", status_code=400
        )
    return await _users_page(
        request,
        user,
        session,
        notice=f"The password of {changed.username} was reset and their sessions ended. "
        "Give them the new password below; it is shown only this once.",
        secret=(f"New password for {changed.username}", password),
    )


# --- personal API tokens -----------------------------------------------------------------------


async def _tokens_page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    *,
    notice: str | None = None,
    error: str | None = None,
    secret: tuple[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    everyone = allowed(user.role, "manage_tokens")
    names: dict[int, str] = {}
    others: list[Any] = []
    if everyone:
        names = {u.id: u.username for u in await list_users(session=session) if u.id is not None}
        others = [
            t for t in await list_tokens(session=session, user_id=None) if t.user_id != user.id
        ]
    return page(
        request,
        "tokens.html",
        _ctx(
            request,
            user,
            title="My API tokens",
            tokens=await list_tokens(session=session, user_id=user.id),
            others=others,
            names=names,
            everyone=everyone,
            notice=notice,
            error=error,
            secret=secret,
            base_url=str(request.base_url).rstrip("/"),
        ),
        status_code=status_code,
    )


@router.get("/admin/tokens")
async def tokens_page(
    request: Request, user: CanUseTokens, session: SessionDep, done: str = ""
) -> HTMLResponse:
    return await _tokens_page(request, user, session, notice=NOTICES.get(done))


@router.post("/admin/tokens", response_model=None)
async def tokens_create(
    request: Request,
    user: CanUseTokens,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
) -> Response:
    me = await session.get(User, user.id)
    assert me is not None  # the session's user was just loaded
    try:
        token, secret = await create_token(session=session, user=me, name=name)
    except TokenError as exc:
        return await _tokens_page(
            request, user, session, error=f"No token was created: {exc}.", status_code=400
        )
    return await _tokens_page(
        request,
        user,
        session,
        notice=f"Token “{token.name}” created. Copy it now: it is shown only this once, and "
        "Herald keeps only a fingerprint of it.",
        secret=(f"Token “{token.name}”", secret),
    )


@router.post("/admin/tokens/{token_id}/revoke", response_model=None)
async def tokens_revoke(
    request: Request,
    token_id: int,
    user: CanUseTokens,
    session: SessionDep,
) -> Response:
    owner = None if allowed(user.role, "manage_tokens") else user.id
    try:
        await revoke_token(session=session, token_id=token_id, owner_id=owner)
    except TokenError as exc:
        return await _tokens_page(request, user, session, error=f"{exc}.", status_code=404)
    return RedirectResponse("/admin/tokens?done=revoked", status_code=303)


# --- audit log (read-only: no route changes it) ------------------------------------------------


def _audit_query(
    who: str, kind: str, since: str, until: str, before: int | None, limit: int
) -> tuple[AuditQuery, list[str]]:
    problems = []
    start, end = form_day(since), form_day(until)
    if since.strip() and start is None:
        problems.append(not_a_day(since))
    if until.strip() and end is None:
        problems.append(not_a_day(until))
    query = AuditQuery(
        actor=who,
        kind=kind,
        since=datetime.combine(start, time(), UTC) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        before_id=before,
        limit=limit,
    )
    return query, problems


@router.get("/admin/audit")
async def audit_page(
    request: Request,
    user: CanAudit,
    session: SessionDep,
    who: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Every change by staff and tokens, newest first, filtered by who, kind and dates (UTC)."""
    query, problems = _audit_query(who, kind, since, until, before, AUDIT_PAGE + 1)
    entries = [] if problems else list(await find_entries(session=session, query=query))
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    actors, kinds = await known_values(session=session)
    filters = {"who": who, "kind": kind, "since": since, "until": until}
    return page(
        request,
        "audit.html",
        _ctx(
            request,
            user,
            title="Audit log",
            entries=entries,
            more=more,
            older=entries[-1].id if more and entries else None,
            actors=actors,
            kinds=kinds,
            filters=filters,
            problems=problems,
        ),
        status_code=400 if problems else 200,
    )


@router.get("/admin/audit.csv", dependencies=[Depends(require_page("audit"))])
async def audit_csv(
    session: SessionDep,
    who: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    query, problems = _audit_query(who, kind, since, until, None, AUDIT_CSV_LIMIT)
    if problems:
        return Response("; ".join(problems), status_code=400, media_type="text/plain")
    body = to_csv(await find_entries(session=session, query=query))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="herald-audit-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
