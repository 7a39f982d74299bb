"""The reports under /api/v1/reports: each as JSON, each of its tables as CSV, and the import of
the telephony system's inbound call counts (CSV body)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from alerts.api.deps import DepsDep, require
from alerts.api.errors import error_responses
from alerts.api.report_models import MODELS, CallImportOut
from alerts.reports.base import ReportInputError
from alerts.reports.calls import CallImportError, import_calls
from alerts.reports.export import REPORTS, ReportQuery, build, table_names, to_csv

router = APIRouter(
    prefix="/api/v1/reports",
    dependencies=[Depends(require("reports"))],
    tags=["reports"],
    responses=error_responses(400, 401, 403, 422, 500, 503),
)
MAX_IMPORT_BYTES = 20 * 1024 * 1024

QueryDep = Annotated[ReportQuery, Query()]


def _today() -> Any:
    return datetime.now(UTC).date()


async def _json(request: Request, deps: DepsDep, name: str, query: ReportQuery) -> dict[str, Any]:
    staffing = getattr(request.app.state, "report_staffing", None)
    try:
        async with deps.sessions() as session:
            return await build(
                session=session, name=name, query=query, today=_today(), staffing=staffing
            )
    except ReportInputError as exc:
        raise HTTPException(400, str(exc)) from None


def _add(name: str, title: str) -> None:
    async def as_json(request: Request, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
        return await _json(request, deps, name, query)

    async def as_csv(
        request: Request, deps: DepsDep, query: QueryDep, table: str = table_names(name)[0]
    ) -> Response:
        data = await _json(request, deps, name, query)
        try:
            body = to_csv(name, table, data)
        except ReportInputError as exc:
            raise HTTPException(400, str(exc)) from None
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="herald-{name}-{table}.csv"'},
        )

    tables = ", ".join(f"`{t}`" for t in table_names(name))
    router.add_api_route(
        f"/{name}",
        as_json,
        methods=["GET"],
        summary=title,
        response_model=MODELS[name],
        description=f"{title}; docs/reports.md says how each figure is computed. Each table as "
        f"CSV, with the same numbers: `GET /api/v1/reports/{name}.csv?table=` one of {tables} "
        "(the same filters; `text/csv`).",
    )
    router.add_api_route(  # CSV, not JSON: described on the JSON route above
        f"/{name}.csv", as_csv, methods=["GET"], response_class=Response, include_in_schema=False
    )


for _name, _title in REPORTS.items():
    _add(_name, _title)


@router.post(
    "/inbound-calls",
    dependencies=[Depends(require("ingest"))],
    summary="Import the telephony system's inbound call counts (CSV body)",
    response_model=CallImportOut,
    responses=error_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string", "maxLength": MAX_IMPORT_BYTES},
                    "example": "date,reason,calls,alert_type\n"
                    "2026-11-02,card payment query,41,large_debit\n",
                }
            },
        }
    },
)
async def inbound_calls(
    request: Request,
    deps: DepsDep,
    filename: Annotated[str, Query(max_length=200, description="shown with the import")] = "api",
) -> dict[str, Any]:
    """Columns ``date, reason, calls`` and optionally ``alert_type`` (docs/reports.md); a day and
    reason imported before get the new count. Bad lines are reported by line number."""
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"the file is over {MAX_IMPORT_BYTES // 1024 // 1024} MB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "the file is not UTF-8 text: export it as CSV (UTF-8)") from None
    try:
        async with deps.sessions() as session:
            report = await import_calls(session=session, text=text, filename=filename)
    except CallImportError as exc:
        raise HTTPException(400, str(exc)) from None
    return report.as_json()
