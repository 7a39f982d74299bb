"""Ingestion over HTTP: bodies streamed to disk with a size limit, reports, the quarantine."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from alerts.api.deps import DepsDep, require_token
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import AlertDeps
from alerts.ingestion.files import IngestReport, ingest_file
from alerts.ingestion.quarantine import list_quarantine, retry_quarantine
from alerts.models import IngestFile

logger = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 2 * 1024**3
BACKGROUND_ABOVE_BYTES = 8 * 1024**2
router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)], tags=["ingest"])


def _files_dir(request: Request) -> Path:
    path: Path = request.app.state.settings.files_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


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
                    raise HTTPException(
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
        raise HTTPException(400, "empty body: send the XML document as the request body")
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


@router.post("/ingest")
@router.post("/ingest/{adapter}")
async def ingest(request: Request, deps: DepsDep, adapter: str = "auto") -> JSONResponse:
    """Ingest one XML document sent as the body. Small bodies answer with the report; large ones
    with 202 and the report's URL (poll it until `status` is no longer `ingesting`)."""
    store = _files_dir(request)
    path, sha256, size = await _receive(request, store)
    name = request.headers.get("X-Filename") or f"upload-{sha256[:12]}.xml"
    key = None if adapter == "auto" else adapter
    report_url = f"/api/v1/ingest/files/{sha256}"
    if size > BACKGROUND_ABOVE_BYTES:
        task = asyncio.create_task(_ingest(deps, path, key, name, store))
        tasks: set[asyncio.Task[tuple[IngestReport, int]]] = request.app.state.background
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return JSONResponse(
            {"status": "accepted", "sha256": sha256, "bytes": size, "report_url": report_url},
            status_code=202,
        )
    report, alerts = await _ingest(deps, path, key, name, store)
    body = {**report.as_dict(), "alerts_created": alerts, "report_url": report_url}
    status = 422 if report.status == "failed" and report.records == 0 else 200
    return JSONResponse(body, status_code=status)


def file_view(row: IngestFile) -> dict[str, Any]:
    return {
        **row.model_dump(mode="json", exclude={"stored_path"}),
        "mb_per_s": round(row.bytes / 1e6 / row.seconds, 2) if row.seconds else None,
    }


@router.get("/ingest/files")
async def list_files(deps: DepsDep, limit: int = 100) -> list[dict[str, Any]]:
    async with deps.sessions() as session:
        rows = (
            await session.exec(
                select(IngestFile).order_by(col(IngestFile.id).desc()).limit(min(limit, 1000))
            )
        ).all()
    return [file_view(r) for r in rows]


@router.get("/ingest/files/{sha256}")
async def get_file(sha256: str, deps: DepsDep) -> dict[str, Any]:
    async with deps.sessions() as session:
        row = (await session.exec(select(IngestFile).where(IngestFile.sha256 == sha256))).first()
    if row is None:
        raise HTTPException(404, f"no file with sha256 {sha256} (still receiving, or never sent)")
    return file_view(row)


@router.get("/quarantine")
async def quarantine(deps: DepsDep, file_id: int | None = None) -> list[dict[str, Any]]:
    async with deps.sessions() as session:
        return await list_quarantine(session=session, file_id=file_id)


@router.post("/quarantine/retry")
async def quarantine_retry(deps: DepsDep, file_id: int | None = None) -> dict[str, Any]:
    async with deps.sessions() as session:
        report = await retry_quarantine(session=session, now=utcnow(), file_id=file_id)
    created = await evaluate_pending(deps=deps, now=utcnow())
    return {**report.as_dict(), "alerts_created": len(created)}
