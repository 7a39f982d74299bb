"""Admin UI: received files with their ingestion reports, and the quarantined records."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import col, select
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from admin_ui.security import CanView, SessionDep, csrf_token
from alerts.columns import utcnow
from alerts.ingestion.quarantine import file_state, list_quarantine, resume_command
from alerts.models import IngestFile

router = APIRouter(include_in_schema=False)
FILE_LIMIT = 100


@router.get("/admin/ingestion")
async def ingestion(
    request: Request, user: CanView, session: SessionDep, file_id: int | None = None
) -> HTMLResponse:
    files = (
        await session.exec(select(IngestFile).order_by(col(IngestFile.id).desc()).limit(FILE_LIMIT))
    ).all()
    now = utcnow()
    quarantined = await list_quarantine(session=session, file_id=file_id, limit=500)
    return page(
        request,
        "ingestion.html",
        {
            "user": user,
            "csrf_token": csrf_token(request),
            "title": "Ingestion",
            "files": files,
            "states": {f.id: file_state(f, now) for f in files},
            "resume": resume_command,
            "quarantined": quarantined,
            "file_id": file_id,
            "limit": FILE_LIMIT,
        },
    )
