"""HTTP API for recorded voice segments (upload, list, delete) and the public media URL.

``PUT /api/v1/alert-types/{key}/recordings/{locale}/{segment}`` takes the raw audio as the body
(``Content-Type: audio/mpeg``, ``audio/wav`` or ``audio/x-wav``, at most 10 MB); ``segment`` is
the 0-based paragraph of the locale's voice message. ``GET .../recordings`` shows every locale's
segments, which can take a recording and how each is spoken now. Errors are JSON with ``detail``
and ``hint``, as in the alert types API. ``GET /media/recordings/{token}`` has no bearer token:
Twilio fetches the audio there during a call, and the signed token, valid an hour, is the key.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.recordings import (
    ACCEPTED_TYPES,
    MAX_RECORDING_BYTES,
    MEDIA_PATH,
    Recording,
    RecordingError,
    RecordingNotFound,
    RecordingTooLarge,
    UnsupportedAudio,
    all_recordings,
    carries_data,
    delete_recording,
    get_recording,
    is_current,
    media_url,
    save_recording,
    segment_rule,
    split_segments,
    stored_file,
    voice_locales,
)
from alerts.alert_types.store import get_spec, seed_catalogue
from alerts.api.alert_types import ActorHeader, Refused, _JSONErrorsRoute
from alerts.api.deps import DepsDep, require_token
from alerts.deps import AlertDeps
from alerts.links import MediaLinkError, MediaSigner
from rules.alert_types import AlertTypeSpec

logger = logging.getLogger(__name__)

DEFAULT_ACTOR = "api"
CACHE_CONTROL = "private, max-age=300"
PREVIEW_CHARS = 120

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["recordings"],
    route_class=_JSONErrorsRoute,
)
media_router = APIRouter(tags=["media"])

Locale = Annotated[str, Path(max_length=20, description="a locale of the alert type, e.g. en")]
SegmentIndex = Annotated[int, Path(ge=0, description="0-based paragraph of the voice message")]
_AUDIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            ct: {"schema": {"type": "string", "format": "binary"}} for ct in ACCEPTED_TYPES
        },
    }
}


def files_dir(request: Request) -> FilePath:
    path: FilePath = request.app.state.settings.files_dir
    return path


def media_signer(request: Request) -> MediaSigner:
    return MediaSigner(request.app.state.settings.secret_key.get_secret_value())


FilesDirDep = Annotated[FilePath, Depends(files_dir)]
SignerDep = Annotated[MediaSigner, Depends(media_signer)]


@asynccontextmanager
async def _session(deps: AlertDeps) -> AsyncIterator[AsyncSession]:
    """A session on a database holding at least the default catalogue (fresh installs)."""
    async with deps.sessions() as session:
        await seed_catalogue(session)
        yield session


async def _spec(session: AsyncSession, key: str) -> AlertTypeSpec:
    spec = await get_spec(session, key)
    if spec is None:
        raise Refused(
            404,
            f"no alert type {key!r}",
            hint="GET /api/v1/alert-types lists the known keys",
        )
    return spec


async def _body(request: Request) -> bytes:
    """The raw body, refused with 413 as soon as it is over the limit."""
    too_large = Refused(
        413,
        f"the audio is over the limit of {MAX_RECORDING_BYTES} bytes (10 MB)",
        hint="shorten the recording or encode it as MP3",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RECORDING_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_RECORDING_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _public(
    row: Recording, *, public_url: str, signer: MediaSigner, current: bool = True
) -> dict[str, Any]:
    return {
        "id": row.id,
        "alert_type": row.alert_type,
        "locale": row.locale,
        "segment": row.segment,
        "segment_text": row.segment_text,
        "content_type": row.content_type,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "uploaded_by": row.uploaded_by,
        "created_at": row.created_at.isoformat(),
        "current": current,  # False: the segment's wording changed since; it is spoken again
        "listen_url": media_url(public_url, signer, row),  # signed, expires in an hour
    }


@router.put(
    "/alert-types/{key}/recordings/{locale}/{segment}",
    openapi_extra=_AUDIO_BODY,
    responses={201: {"description": "stored"}, 200: {"description": "replaced"}},
)
async def put_recording(
    key: str,
    locale: Locale,
    segment: SegmentIndex,
    request: Request,
    response: Response,
    deps: DepsDep,
    directory: FilesDirDep,
    signer: SignerDep,
    actor: ActorHeader = None,
) -> dict[str, Any]:
    """Store the audio of one segment (201), or replace the one there (200)."""
    data = await _body(request)
    who = (actor or "").strip()[:100] or DEFAULT_ACTOR
    async with _session(deps) as session:
        before = await get_recording(session, key, locale, segment)
        try:
            row = await save_recording(
                session,
                files_dir=directory,
                alert_type=key,
                locale=locale,
                segment=segment,
                data=data,
                content_type=request.headers.get("content-type", ""),
                actor=who,
            )
        except RecordingTooLarge as exc:
            raise Refused(413, str(exc), hint="shorten the recording or encode it as MP3") from exc
        except UnsupportedAudio as exc:
            raise Refused(
                415, str(exc), hint="send a .wav or .mp3 file with its own Content-Type"
            ) from exc
        except RecordingError as exc:
            raise Refused(
                422,
                str(exc),
                hint=f"GET /api/v1/alert-types/{key}/recordings shows which segments can "
                "take a recording",
            ) from exc
        except RecordingNotFound as exc:
            raise Refused(
                404, str(exc), hint="GET /api/v1/alert-types lists the known keys"
            ) from exc
        except IntegrityError as exc:  # another upload created the same slot at that moment
            raise Refused(
                409,
                f"another upload for segment {segment} of {key} ({locale}) arrived at the same "
                "moment",
                hint="send the audio again; the last upload wins",
            ) from exc
    response.status_code = 201 if before is None else 200
    return _public(row, public_url=deps.public_url, signer=signer)


@router.get("/alert-types/{key}/recordings")
async def list_recordings(key: str, deps: DepsDep, signer: SignerDep) -> dict[str, Any]:
    """Each locale's voice segments: text, whether it can take a recording, how it is spoken
    now and why; plus recordings left over from segments that no longer exist."""
    async with _session(deps) as session:
        spec = await _spec(session, key)
        rows = await all_recordings(session, key)
    by_slot = {(r.locale, r.segment): r for r in rows}
    placed: set[int] = set()
    locales = []
    for locale in voice_locales(spec):
        segments = split_segments(spec.content[locale]["voice"]["message"])
        listed = []
        for index, source in enumerate(segments):
            row = by_slot.get((locale, index))
            current = row is not None and is_current(row, segments)
            if row is not None and row.id is not None:
                placed.add(row.id)
            kind, why = segment_rule(
                carries=carries_data(source),
                recorded=current,
                outdated=row is not None and not current,
            )
            listed.append(
                {
                    "segment": index,
                    "text": source[:PREVIEW_CHARS] + ("…" if len(source) > PREVIEW_CHARS else ""),
                    "carries_data": carries_data(source),
                    "can_record": not carries_data(source),
                    "spoken_by": "recording" if kind == "play" else "text-to-speech",
                    "why": why,
                    "recording": None
                    if row is None
                    else _public(row, public_url=deps.public_url, signer=signer, current=current),
                }
            )
        locales.append(
            {"locale": locale, "fallback": locale == spec.fallback_locale, "segments": listed}
        )
    leftover = [
        _public(r, public_url=deps.public_url, signer=signer, current=False)
        for r in rows
        if r.id not in placed
    ]
    return {"key": key, "locales": locales, "unplaced": leftover}


@router.delete("/alert-types/{key}/recordings/{locale}/{segment}")
async def remove_recording(
    key: str,
    locale: Locale,
    segment: SegmentIndex,
    deps: DepsDep,
    directory: FilesDirDep,
    signer: SignerDep,
) -> dict[str, Any]:
    """Delete one segment's recording; that segment is spoken by text-to-speech again."""
    async with _session(deps) as session:
        await _spec(session, key)
        try:
            row = await delete_recording(
                session, files_dir=directory, alert_type=key, locale=locale, segment=segment
            )
        except RecordingNotFound as exc:
            raise Refused(
                404, str(exc), hint=f"GET /api/v1/alert-types/{key}/recordings lists them"
            ) from exc
    deleted = _public(row, public_url=deps.public_url, signer=signer, current=False)
    deleted.pop("listen_url")
    return {"deleted": deleted}


@media_router.api_route(MEDIA_PATH + "/{token}", methods=["GET", "HEAD"], include_in_schema=False)
async def media(token: str, deps: DepsDep, directory: FilesDirDep, signer: SignerDep) -> Response:
    """The audio of a recording, for Twilio's <Play> (no login: the signed token is the key)."""
    try:
        recording_id = signer.load(token)
    except MediaLinkError as exc:
        return PlainTextResponse(str(exc), status_code=410 if exc.expired else 403)
    async with deps.sessions() as session:
        row = await session.get(Recording, recording_id)
    if row is None:
        return PlainTextResponse("this recording no longer exists", status_code=404)
    path = stored_file(directory, row)
    if path is None:
        logger.error(
            "recording file missing recording_id=%s alert_type=%s file_sha256=%s path=%s",
            row.id,
            row.alert_type,
            row.sha256[:12],
            row.stored_path,
        )
        return PlainTextResponse("this recording's audio is missing", status_code=404)
    return FileResponse(path, media_type=row.content_type, headers={"Cache-Control": CACHE_CONTROL})
