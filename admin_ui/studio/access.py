"""Who may do what in the studio: ``CanView``, ``CanEdit``, ``CanPublish``.

The one place the studio's routes are guarded, on the permission table (alerts.access) through
``admin_ui.security.require_page``: ``view`` to read, ``edit_drafts`` to change a draft,
``publish`` to publish, restore and switch alert types on or off (each post also checks the
session's CSRF token). A role without the permission gets a 403 page saying what to ask for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from admin_ui.security import StaffUser, csrf_token, require_page


class StudioForbidden(Exception):
    """The staff user's role does not allow this; the message says what they may not do."""

    def __init__(self, user: StaffUser, message: str) -> None:
        super().__init__(message)
        self.user, self.message = user, message


CanView = Annotated[StaffUser, Depends(require_page("view"))]
CanEdit = Annotated[StaffUser, Depends(require_page("edit_drafts"))]
CanPublish = Annotated[StaffUser, Depends(require_page("publish"))]


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
