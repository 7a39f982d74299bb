"""Who may do what in the studio: ``CanView``, ``CanEdit``, ``CanPublish``.

The one place the studio's routes are guarded, so they can be pointed at the roles and
permission table of ``admin_ui.security`` in one edit. For now each is the logged-in staff user
(``current_admin``) with a check of their role: viewers read, editors also edit drafts,
publishers and administrators also publish and switch alert types on or off.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from admin_ui.security import CurrentAdmin, StaffUser, csrf_token, current_admin

EDIT_ROLES = frozenset({"editor", "publisher", "admin"})
PUBLISH_ROLES = frozenset({"publisher", "admin"})


class StudioForbidden(Exception):
    """The staff user's role does not allow this; the message says what they may not do."""

    def __init__(self, user: StaffUser, message: str) -> None:
        super().__init__(message)
        self.user, self.message = user, message


async def _can_edit(user: CurrentAdmin) -> StaffUser:
    if user.role not in EDIT_ROLES:
        raise StudioForbidden(
            user, f"Your role ({user.role}) may look at alert types but not change them."
        )
    return user


async def _can_publish(user: CurrentAdmin) -> StaffUser:
    if user.role not in PUBLISH_ROLES:
        raise StudioForbidden(
            user,
            f"Your role ({user.role}) may not publish alert types or switch them on or off. "
            "Ask a publisher or an administrator.",
        )
    return user


CanView = Annotated[StaffUser, Depends(current_admin)]
CanEdit = Annotated[StaffUser, Depends(_can_edit)]
CanPublish = Annotated[StaffUser, Depends(_can_publish)]


async def forbidden_page(request: Request, exc: Exception) -> HTMLResponse:
    """The page shown for StudioForbidden (registered by the app factory)."""
    assert isinstance(exc, StudioForbidden)
    return page(
        request,
        "message.html",
        {
            "user": exc.user,
            "csrf_token": csrf_token(request),
            "title": "Not allowed",
            "heading": "You may not do this",
            "message": exc.message,
        },
        status_code=403,
    )
