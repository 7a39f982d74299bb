"""Admin sessions: the logged-in staff user, CSRF tokens, and safe post-login redirects."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.api.deps import get_deps
from alerts.models import User

SESSION_USER = "user_id"
SESSION_ROLE = "role"
SESSION_CSRF = "csrf"
HOME = "/admin/customers"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_deps(request).sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    username: str
    role: str


def csrf_token(request: Request) -> str:
    """This browser session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return secrets.compare_digest(expected.encode(), submitted.encode())


def log_in(request: Request, user: User) -> None:
    """Start a fresh session for `user` (new CSRF token, nothing carried over)."""
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_ROLE] = user.role
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def safe_next(target: str | None) -> str:
    """Only local admin paths, never another site (no open redirect)."""
    if not target or not target.startswith("/admin") or any(ord(c) < 32 for c in target):
        return HOME
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/admin/login?next={quote(here, safe='')}"


async def current_admin(request: Request, session: SessionDep) -> StaffUser:
    """The logged-in staff user; a page request without one is sent to the login form."""
    user_id = request.session.get(SESSION_USER)
    user = await session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.id is None:
        request.session.pop(SESSION_USER, None)
        request.session.pop(SESSION_ROLE, None)
        raise HTTPException(303, "log in first", headers={"Location": login_url(request)})
    request.session[SESSION_ROLE] = user.role
    return StaffUser(id=user.id, username=user.username, role=user.role)


CurrentAdmin = Annotated[StaffUser, Depends(current_admin)]
