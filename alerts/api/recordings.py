"""HTTP API for recorded voice segments (upload, list, delete) and the public media URL.

``PUT /api/v1/alert-types/{key}/recordings/{locale}/{segment}`` takes the raw audio as the body
(``Content-Type: audio/mpeg``, ``audio/wav`` or ``audio/x-wav``, at most 10 MB); ``segment`` is
the 0-based paragraph of the locale's voice message. ``GET .../recordings`` shows every locale's
segments, which can take a recording and how each is spoken now. Errors are the API's envelope
(``alerts.api.errors``) with a ``hint``, as in the alert types API. ``GET
/media/recordings/{token}`` has no bearer token: Twilio fetches the audio there during a call,
and the signed token, valid an hour, is the key.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field, JsonValue
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.media import MediaGone, resolve_media
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
    voice_locales,
)
from alerts.alert_types.store import get_spec, seed_catalogue
from alerts.api.deps import (
    ActorDep,
    DepsDep,
    FilesDirDep,
    KeyPath,
    require,
    require_token,
)
from alerts.api.errors import ApiError, error_responses
from alerts.deps import AlertDeps
from alerts.links import MediaLinkError, MediaSigner
from rules.alert_types import AlertTypeSpec

logger = logging.getLogger(__name__)

CACHE_CONTROL = "private, max-age=300"
PREVIEW_CHARS = 120

router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["recordings"],
    responses=error_responses(400, 401, 403, 404, 422, 500, 503),
)
media_router = APIRouter(tags=["media"])

Locale = Annotated[str, Path(max_length=20, description="a locale of the alert type, e.g. en")]
SegmentIndex = Annotated[
    int, Path(ge=0, le=1000, description="0-based paragraph of the voice message")
]
_AUDIO_BODY: dict[str, JsonValue] = {
    "requestBody": {
        "required": True,
        "content": {
            ct: {"schema": {"type": "string", "format": "binary"}} for ct in ACCEPTED_TYPES
        },
    }
}


def media_signer(request: Request) -> MediaSigner:
    return MediaSigner(request.app.state.settings.secret_key.get_secret_value())


SignerDep = Annotated[MediaSigner, Depends(media_signer)]


class RecordingFields(BaseModel):
    id: int
    alert_type: str
    locale: str
    segment: int
    segment_text: str = Field(description="the words of the segment when it was recorded")
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    created_at: datetime
    current: bool = Field(
        description="False: the segment's wording changed since; it is spoken by text-to-speech"
    )


class RecordingOut(RecordingFields):
    listen_url: str = Field(description="signed media URL, valid an hour")


class SegmentOut(BaseModel):
    segment: int
    text: str = Field(description="the segment's template (the first 120 characters)")
    carries_data: bool
    can_record: bool
    spoken_by: str = Field(description="recording or text-to-speech")
    why: str
    recording: RecordingOut | None


class LocaleOut(BaseModel):
    locale: str
    fallback: bool
    segments: list[SegmentOut]


class RecordingsListing(BaseModel):
    key: str
    locales: list[LocaleOut]
    unplaced: list[RecordingOut] = Field(description="recordings of segments that no longer exist")


class RecordingDeleted(BaseModel):
    deleted: RecordingFields


@asynccontextmanager
async def _session(deps: AlertDeps) -> AsyncIterator[AsyncSession]:
    """A session on a database holding at least the default catalogue (fresh installs)."""
    async with deps.sessions() as session:
        await seed_catalogue(session)
        yield session


async def _spec(session: AsyncSession, key: str) -> AlertTypeSpec:
    spec = await get_spec(session, key)
    if spec is None:
        raise ApiError(
            404,
            f"no alert type {key!r}",
            hint="GET /api/v1/alert-types lists the known keys",
        )
    return spec


async def _body(request: Request) -> bytes:
    """The raw body, refused with 413 as soon as it is over the limit."""
    too_large = ApiError(
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


def _fields(row: Recording, *, current: bool) -> RecordingFields:
    return RecordingFields(
        id=row.id,
        alert_type=row.alert_type,
        locale=row.locale,
        segment=row.segment,
        segment_text=row.segment_text,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        current=current,
    )


def _public(
    row: Recording, *, public_url: str, signer: MediaSigner, current: bool = True
) -> RecordingOut:
    return RecordingOut(
        **_fields(row, current=current).model_dump(),
        listen_url=media_url(public_url, signer, row),  # signed, expires in an hour
    )


@router.put(
    "/alert-types/{key}/recordings/{locale}/{segment}",
    openapi_extra=_AUDIO_BODY,
    responses={
        201: {"description": "stored", "model": RecordingOut},
        200: {"description": "replaced"},
        **error_responses(409, 413, 415),
    },
    dependencies=[Depends(require("publish"))],
)
async def put_recording(
    key: KeyPath,
    locale: Locale,
    segment: SegmentIndex,
    request: Request,
    response: Response,
    deps: DepsDep,
    directory: FilesDirDep,
    signer: SignerDep,
    actor: ActorDep,
) -> RecordingOut:
    """Store the audio of one segment (201), or replace the one there (200)."""
    data = await _body(request)
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
                actor=actor,
            )
        except RecordingTooLarge as exc:
            raise ApiError(413, str(exc), hint="shorten the recording or encode it as MP3") from exc
        except UnsupportedAudio as exc:
            raise ApiError(
                415, str(exc), hint="send a .wav or .mp3 file with its own Content-Type"
            ) from exc
        except RecordingError as exc:
            raise ApiError(
                422,
                str(exc),
                hint=f"GET /api/v1/alert-types/{key}/recordings shows which segments can "
                "take a recording",
            ) from exc
        except RecordingNotFound as exc:
            raise ApiError(
                404, str(exc), hint="GET /api/v1/alert-types lists the known keys"
            ) from exc
        except IntegrityError as exc:  # another upload created the same slot at that moment
            raise ApiError(
                409,
                f"another upload for segment {segment} of {key} ({locale}) arrived at the same "
                "moment",
                hint="send the audio again; the last upload wins",
            ) from exc
    response.status_code = 201 if before is None else 200
    return _public(row, public_url=deps.public_url, signer=signer)


@router.get("/alert-types/{key}/recordings")
async def list_recordings(key: KeyPath, deps: DepsDep, signer: SignerDep) -> RecordingsListing:
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
                SegmentOut(
                    segment=index,
                    text=source[:PREVIEW_CHARS] + ("…" if len(source) > PREVIEW_CHARS else ""),
                    carries_data=carries_data(source),
                    can_record=not carries_data(source),
                    spoken_by="recording" if kind == "play" else "text-to-speech",
                    why=why,
                    recording=None
                    if row is None
                    else _public(row, public_url=deps.public_url, signer=signer, current=current),
                )
            )
        locales.append(
            LocaleOut(locale=locale, fallback=locale == spec.fallback_locale, segments=listed)
        )
    leftover = [
        _public(r, public_url=deps.public_url, signer=signer, current=False)
        for r in rows
        if r.id not in placed
    ]
    return RecordingsListing(key=key, locales=locales, unplaced=leftover)


@router.delete(
    "/alert-types/{key}/recordings/{locale}/{segment}", dependencies=[Depends(require("publish"))]
)
async def remove_recording(
    key: KeyPath,
    locale: Locale,
    segment: SegmentIndex,
    deps: DepsDep,
    directory: FilesDirDep,
) -> RecordingDeleted:
    """Delete one segment's recording; that segment is spoken by text-to-speech again."""
    async with _session(deps) as session:
        await _spec(session, key)
        try:
            row = await delete_recording(
                session, files_dir=directory, alert_type=key, locale=locale, segment=segment
            )
        except RecordingNotFound as exc:
            raise ApiError(
                404, str(exc), hint=f"GET /api/v1/alert-types/{key}/recordings lists them"
            ) from exc
    return RecordingDeleted(deleted=_fields(row, current=False))


@media_router.api_route(MEDIA_PATH + "/{token}", methods=["GET", "HEAD"], include_in_schema=False)
async def media(token: str, deps: DepsDep, directory: FilesDirDep, signer: SignerDep) -> Response:
    """The audio of a recording, for Twilio's <Play> (no login: the signed token is the key)."""
    try:
        async with deps.sessions() as session:
            audio = await resolve_media(
                session=session, files_dir=directory, signer=signer, token=token
            )
    except MediaLinkError as exc:
        return PlainTextResponse(str(exc), status_code=410 if exc.expired else 403)
    except MediaGone as exc:
        return PlainTextResponse(str(exc), status_code=404)
    return FileResponse(
        audio.path, media_type=audio.content_type, headers={"Cache-Control": CACHE_CONTROL}
    )
