"""Admin sessions: the logged-in staff user, what their role lets them do on each page
(``require_page``), CSRF tokens, idle expiry, and safe post-login redirects."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.access import CAPABILITIES, allowed
from alerts.api.deps import client_ip, get_deps
from alerts.models import User

logger = logging.getLogger(__name__)

SESSION_USER = "user_id"
SESSION_ROLE = "role"
SESSION_CSRF = "csrf"
SESSION_SEEN = "seen"  # unix time of the session's last request
SESSION_AUTH = "auth"  # the user's auth_version at login
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
    request.session[SESSION_SEEN] = int(time.time())
    request.session[SESSION_AUTH] = user.auth_version


def safe_next(target: str | None) -> str:
    """Only local admin, agent-console and supervisor-board paths, never another site (no
    open redirect)."""
    if not target or any(ord(c) < 32 for c in target):
        return HOME
    agent = any(
        target == p or target.startswith((f"{p}/", f"{p}?")) for p in ("/agent", "/supervisor")
    )
    if not (target.startswith("/admin") or agent):
        return HOME
    return target


def login_url(request: Request, *, expired: bool = False) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # after logging in, come back to a page, not a form post
        here = request.headers.get("referer", "") or HOME
        here = safe_next(here[here.find("/admin") :] if "/admin" in here else HOME)
    return f"/admin/login?next={quote(here, safe='')}" + ("&expired=1" if expired else "")


def _session_minutes(request: Request) -> int:
    return int(request.app.state.settings.admin_session_minutes)


def _to_login(request: Request, *, expired: bool = False) -> HTTPException:
    request.session.clear()
    return HTTPException(
        303, "log in first", headers={"Location": login_url(request, expired=expired)}
    )


async def current_admin(request: Request, session: SessionDep) -> StaffUser:
    """The logged-in staff user; without one (or after the idle timeout, or once the user is
    disabled, their role changed or their password was reset) a request goes to the login form."""
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        raise _to_login(request)
    seen = request.session.get(SESSION_SEEN)
    now = int(time.time())
    if not isinstance(seen, int) or now - seen > _session_minutes(request) * 60:
        logger.info("admin session expired user_id=%s", user_id)
        raise _to_login(request, expired=True)
    user = await session.get(User, user_id)
    if (
        user is None
        or user.id is None
        or user.disabled
        or request.session.get(SESSION_AUTH) != user.auth_version
    ):
        raise _to_login(request)
    request.session[SESSION_ROLE] = user.role
    request.session[SESSION_SEEN] = now
    audit.set_origin(
        audit.Origin(actor=user.username, role=user.role, via="session", ip=client_ip(request))
    )
    return StaffUser(id=user.id, username=user.username, role=user.role)


CurrentAdmin = Annotated[StaffUser, Depends(current_admin)]


class PageForbidden(Exception):
    """A staff user's role lacks the capability a page or form needs (rendered as a 403 page)."""

    def __init__(self, user: StaffUser, capability: str) -> None:
        super().__init__(capability)
        self.user = user
        self.capability = capability


class CsrfRefused(Exception):
    """A form post without this session's CSRF token (rendered as a 403 page)."""

    def __init__(self, user: StaffUser | None) -> None:
        super().__init__("csrf")
        self.user = user


def require_page(capability: str) -> Callable[..., Awaitable[StaffUser]]:
    """A dependency for an admin page or form: the logged-in user when their role holds
    `capability` (alerts.access.PERMISSIONS), else a 403 page; a form post (any method but GET
    and HEAD) must also carry the session's CSRF token."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")

    async def check(request: Request, user: CurrentAdmin) -> StaffUser:
        if not allowed(user.role, capability):
            logger.warning(
                "forbidden path=%s user_id=%s role=%s needs=%s",
                request.url.path,
                user.id,
                user.role,
                capability,
            )
            raise PageForbidden(user, capability)
        if request.method not in ("GET", "HEAD"):
            form = await request.form()
            submitted = form.get("csrf_token")
            if not csrf_ok(request, submitted if isinstance(submitted, str) else None):
                logger.warning("CSRF check failed path=%s user_id=%s", request.url.path, user.id)
                raise CsrfRefused(user)
        return user

    check.capability = capability  # type: ignore[attr-defined]  # read by the route matrix test
    return check


CanView = Annotated[StaffUser, Depends(require_page("view"))]
CanManageUsers = Annotated[StaffUser, Depends(require_page("manage_users"))]
CanUseTokens = Annotated[StaffUser, Depends(require_page("own_tokens"))]
CanAudit = Annotated[StaffUser, Depends(require_page("audit"))]


def staff_context(request: Request, user: StaffUser | None, **values: Any) -> dict[str, Any]:
    """What every staff page's template gets: the user, this session's CSRF token, the rest."""
    return {"user": user, "csrf_token": csrf_token(request), **values}
