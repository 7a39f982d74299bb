"""Recordings page (/admin/recordings): every voice recording per alert type, language and
part; upload, replace, listen, remove, and what is said when a part has no recording."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.responses import HTMLResponse, Response

from admin_ui.security import SessionDep
from admin_ui.studio.access import CanPublish, CanView
from admin_ui.studio.views import flash, studio_page
from alerts.access import allowed
from alerts.alert_types.audio_checks import check_audio
from alerts.alert_types.recordings import (
    MEDIA_PATH,
    RecordingError,
    RecordingNotFound,
    delete_recording,
    save_recording,
    sniff_audio,
)
from alerts.alert_types.review import overview
from alerts.api.deps import files_dir, get_deps
from alerts.api.recordings import list_recordings, media_signer
from alerts.columns import utcnow

router = APIRouter(include_in_schema=False)
PAGE = "/admin/recordings"


async def _listing(request: Request, session: Any) -> list[dict[str, Any]]:
    deps, signer = get_deps(request), media_signer(request)
    rows = await overview(session=session, now=utcnow())
    out: list[dict[str, Any]] = []
    for row in rows:
        listing = await list_recordings(row.key, deps, signer)
        if not listing.locales:
            continue
        out.append({"key": row.key, "name": row.name, "locales": listing.locales})
    uses: dict[str, list[str]] = {}
    for t in out:
        for loc in t["locales"]:
            for seg in loc.segments:
                if seg.recording is not None:
                    where = f"{t['name']} ({loc.locale}, part {seg.segment + 1})"
                    uses.setdefault(seg.recording.sha256, []).append(where)
    for t in out:
        for loc in t["locales"]:
            for seg in loc.segments:
                if seg.recording is not None:
                    seg.recording.listen_url = f"{MEDIA_PATH}/{signer.sign(seg.recording.id)}"
    for t in out:
        t["uses"] = uses
    return out


async def _render(
    request: Request, user: Any, session: Any, errors: dict[str, str] | None = None
) -> HTMLResponse:
    return studio_page(
        request,
        "recordings.html",
        user,
        title="Recordings",
        types=await _listing(request, session),
        errors=errors or {},
        may_upload=allowed(user.role, "publish"),
        status_code=422 if errors else 200,
    )


@router.get(PAGE)
async def recordings_page(request: Request, user: CanView, session: SessionDep) -> HTMLResponse:
    return await _render(request, user, session)


@router.post(f"{PAGE}/upload", response_model=None)
async def upload(
    request: Request,
    user: CanPublish,
    session: SessionDep,
    alert_type: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "",
    segment: Annotated[int, Form()] = 0,
    audio: UploadFile | None = None,
) -> Response:
    slot = f"{alert_type}/{locale}/{segment}"
    data = await audio.read() if audio is not None else b""
    kind = sniff_audio(data) if data else None
    message = None
    if not data:
        message = "Please choose a WAV or MP3 file first."
    elif kind is None:
        message = "This file is not WAV or MP3 audio. Please export the recording as .wav or .mp3."
    else:
        try:
            check_audio(data, kind)
        except ValueError as exc:
            message = f"This recording cannot be used: {exc}."
    if message is None:
        assert kind is not None
        try:
            await save_recording(
                session,
                files_dir=files_dir(request),
                alert_type=alert_type,
                locale=locale,
                segment=segment,
                data=data,
                content_type=kind,
                actor=user.username,
            )
        except (RecordingError, RecordingNotFound) as exc:
            message = f"This recording cannot be used: {exc}."
    if message is not None:
        return await _render(request, user, session, {slot: message})
    flash(request, "Recording saved. Calls play it from now on; listen to it below.")
    return RedirectResponse(f"{PAGE}#slot-{alert_type}-{locale}-{segment}", status_code=303)


@router.post(f"{PAGE}/remove", response_model=None)
async def remove(
    request: Request,
    user: CanPublish,
    session: SessionDep,
    alert_type: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "",
    segment: Annotated[int, Form()] = 0,
) -> Response:
    """Remove one part's recording: the computer voice reads that part again."""
    try:
        await delete_recording(
            session,
            files_dir=files_dir(request),
            alert_type=alert_type,
            locale=locale,
            segment=segment,
        )
    except RecordingNotFound:
        slot = f"{alert_type}/{locale}/{segment}"
        message = "There is no recording here any more (someone may have removed it already)."
        return await _render(request, user, session, {slot: message})
    flash(request, "Recording removed. Calls read this part with the computer voice again.")
    return RedirectResponse(f"{PAGE}#slot-{alert_type}-{locale}-{segment}", status_code=303)
