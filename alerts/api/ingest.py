"""Ingestion over HTTP: bodies streamed to disk with a size limit, reports, the quarantine."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as Path_
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from alerts.api.deps import KEY_MAX, MAX_ID, DepsDep, FilesDirDep, require, require_token
from alerts.api.errors import ApiError, error_responses
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import AlertDeps
from alerts.ingestion.files import IngestReport, ingest_file
from alerts.ingestion.quarantine import (
    file_state,
    find_file,
    list_files,
    list_quarantine,
    resume_command,
    retry_quarantine,
)
from alerts.models import IngestFile

logger = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 2 * 1024**3
BACKGROUND_ABOVE_BYTES = 8 * 1024**2
RETRY_AFTER_SECONDS = 5  # told to an upload turned away because enough ingests are running
router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["ingest"],
    responses=error_responses(401, 403, 422, 500, 503),
)


class IngestResult(BaseModel):
    """The ingestion report of one file."""

    filename: str
    sha256: str
    adapter: str | None = Field(description="the format it was read as (None: not recognised)")
    status: str = Field(description="done, failed or duplicate_file")
    records: int
    events_created: int
    duplicates: int
    already_stored: int = Field(
        default=0,
        description="resuming an interrupted file: events its interrupted run had stored "
        "(recognised, not stored twice)",
    )
    quarantined: int
    unknown_accounts: int
    problems: list[str]
    error: str | None = Field(description="why the file could not be read, when it could not")
    file_id: int | None
    bytes: int
    seconds: float
    mb_per_s: float
    records_per_s: float
    alerts_created: int
    report_url: str = Field(description="GET it for the stored report")


class IngestAccepted(BaseModel):
    """A large body is ingested in the background: poll ``report_url``."""

    status: str = Field(default="accepted")
    sha256: str
    bytes: int
    report_url: str


class FileReport(BaseModel):
    """A received file's report as stored (``status`` is ``ingesting`` until it is done)."""

    id: int | None
    sha256: str
    filename: str
    adapter: str
    status: str = Field(
        description="ingesting, done or failed; interrupted for a file a crash left half-read "
        "(no progress for 2 minutes): `resume` says how to read it again"
    )
    source: str = Field(description="cli, api or watch")
    records: int
    events_created: int
    duplicates: int
    quarantined: int
    unknown_accounts: int
    bytes: int
    seconds: float
    problems: list[str]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    mb_per_s: float | None
    resume: str | None = Field(
        default=None, description="the command that reads an interrupted file again"
    )


class QuarantinedOut(BaseModel):
    id: int | None
    file_id: int
    file: str = Field(description="the file's name")
    line: int | None
    record_id: str | None
    field: str | None
    value: str | None
    reason: str
    status: str
    at: str


class RetriedFile(BaseModel):
    file_id: int | None
    file: str
    events_created: int | None = None
    still_quarantined: int | None = None
    error: str | None = Field(default=None, description="why the file could not be re-read")


class RetryResult(BaseModel):
    accounts_resolved: int = Field(description="events whose account now has a customer")
    files: list[RetriedFile]
    still_open: int
    alerts_created: int


async def _receive(request: Request, directory: Path) -> tuple[Path, str, int]:
    """Stream the body into a temporary file beside the kept files; (path, sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".upload", delete=False) as tmp:
        path = Path(tmp.name)
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ApiError(
                        413,
                        f"body larger than {MAX_UPLOAD_BYTES} bytes; split "
                        "the export or use `herald ingest` on the file",
                    )
                digest.update(chunk)
                tmp.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise ApiError(400, "empty body: send the XML document as the request body")
    return path, digest.hexdigest(), size


async def _ingest(
    deps: AlertDeps, path: Path, adapter: str | None, name: str, store_dir: Path
) -> tuple[IngestReport, int]:
    try:
        async with deps.sessions() as session:
            report = await ingest_file(
                session=session,
                path=path,
                adapter_key=adapter,
                display_name=name,
                source="api",
                store_dir=store_dir,
            )
        alerts = await evaluate_pending(deps=deps, now=utcnow())
        logger.info("api ingest file_sha256=%s alerts=%s", report.sha256[:12], len(alerts))
        return report, len(alerts)
    finally:
        path.unlink(missing_ok=True)


def _take_slot(state: Any) -> Callable[[], None]:
    """Count one more running ingest in this process, or answer 429 when the limit is reached
    (each holds a record tree and a database session); returns the release (idempotent)."""
    limit: int = state.settings.max_concurrent_ingests
    running: int = getattr(state, "ingests_running", 0)
    if running >= limit:
        raise ApiError(
            429,
            f"{limit} ingests are already running in this process (the limit, "
            "HERALD_MAX_CONCURRENT_INGESTS); nothing of this upload was read or stored",
            hint=f"send the file again in {RETRY_AFTER_SECONDS} s, or use `herald ingest`",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    state.ingests_running = running + 1
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            state.ingests_running -= 1

    return release


_INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": IngestAccepted, "description": "large body: ingesting in the background"},
    422: {
        "description": "no record could be read: the report, whose error says why (the file is "
        "recorded as failed); or the request is not valid: the error envelope",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/IngestResult"},
                        {"$ref": "#/components/schemas/ErrorResponse"},
                    ]
                }
            }
        },
    },
    **error_responses(400, 413, 429),
}


AdapterName = "an adapter's key (herald adapters lists them), or auto to recognise the file"


@router.post(
    "/ingest",
    response_model=IngestResult,
    responses=_INGEST_RESPONSES,
    dependencies=[Depends(require("ingest"))],
)
async def ingest_named_in_query(
    request: Request,
    response: Response,
    deps: DepsDep,
    store: FilesDirDep,
    adapter: Annotated[str, Query(min_length=1, max_length=KEY_MAX, description=AdapterName)] = (
        "auto"
    ),
) -> IngestResult | JSONResponse:
    """Ingest one XML document sent as the body (the adapter in ``?adapter=``, or recognised);
    as ``POST /ingest/{adapter}``."""
    return await ingest(request, response, deps, store, adapter)


@router.post(
    "/ingest/{adapter}",
    response_model=IngestResult,
    responses=_INGEST_RESPONSES,
    dependencies=[Depends(require("ingest"))],
)
async def ingest(
    request: Request,
    response: Response,
    deps: DepsDep,
    store: FilesDirDep,
    adapter: Annotated[str, Path_(min_length=1, max_length=KEY_MAX, description=AdapterName)],
) -> IngestResult | JSONResponse:
    """Ingest one XML document sent as the body. Small bodies answer with the report; large ones
    with 202 and the report's URL (poll it until `status` is no longer `ingesting`)."""
    release = _take_slot(request.app.state)
    try:
        path, sha256, size = await _receive(request, store)
    except BaseException:
        release()
        raise
    name = request.headers.get("X-Filename") or f"upload-{sha256[:12]}.xml"
    key = None if adapter == "auto" else adapter
    report_url = f"/api/v1/ingest/files/{sha256}"
    if size > BACKGROUND_ABOVE_BYTES:
        task = asyncio.create_task(_ingest(deps, path, key, name, store))
        tasks: set[asyncio.Task[tuple[IngestReport, int]]] = request.app.state.background
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(lambda _task: release())  # the slot lasts until it is done
        accepted = IngestAccepted(sha256=sha256, bytes=size, report_url=report_url)
        return JSONResponse(accepted.model_dump(mode="json"), status_code=202)
    try:
        report, alerts = await _ingest(deps, path, key, name, store)
    finally:
        release()
    if report.status == "failed" and report.records == 0:
        response.status_code = 422  # the report, not the error envelope: the file was recorded
    return IngestResult(**report.as_dict(), alerts_created=alerts, report_url=report_url)


def file_view(row: IngestFile) -> FileReport:
    state = file_state(row, utcnow())
    return FileReport(
        **row.model_dump(exclude={"stored_path", "status", "progress_at"}),
        status=state,
        mb_per_s=round(row.bytes / 1e6 / row.seconds, 2) if row.seconds else None,
        resume=resume_command(row) if state == "interrupted" else None,
    )


FileIdQuery = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="only records of this received file")
]


@router.get("/ingest/files")
async def files(
    deps: DepsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[FileReport]:
    """The received files' reports, newest first (at most 1000)."""
    async with deps.sessions() as session:
        rows = await list_files(session=session, limit=limit)
    return [file_view(r) for r in rows]


@router.get("/ingest/files/{sha256}", responses=error_responses(404))
async def get_file(
    sha256: Annotated[str, Path_(min_length=1, max_length=64, description="the file's SHA-256")],
    deps: DepsDep,
) -> FileReport:
    async with deps.sessions() as session:
        row = await find_file(session=session, sha256=sha256)
    if row is None:
        raise ApiError(404, f"no file with sha256 {sha256} (still receiving, or never sent)")
    return file_view(row)


@router.get("/quarantine")
async def quarantine(deps: DepsDep, file_id: FileIdQuery = None) -> list[QuarantinedOut]:
    """Records set aside, with the precise reason, oldest first."""
    async with deps.sessions() as session:
        rows = await list_quarantine(session=session, file_id=file_id)
    return [QuarantinedOut.model_validate(r) for r in rows]


@router.post("/quarantine/retry", dependencies=[Depends(require("ingest"))])
async def quarantine_retry(deps: DepsDep, file_id: FileIdQuery = None) -> RetryResult:
    """Re-decide events of accounts now known and re-read files that had bad records."""
    async with deps.sessions() as session:
        report = await retry_quarantine(session=session, now=utcnow(), file_id=file_id)
    created = await evaluate_pending(deps=deps, now=utcnow())
    return RetryResult(**report.as_dict(), alerts_created=len(created))
