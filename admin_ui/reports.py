"""Admin UI: the reports (funnel, response rates, delivery health, calls avoided, customers'
choices) with their charts drawn as inline SVG from the same numbers as the tables, each table
as CSV, and the upload of the telephony system's inbound call counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from sqlmodel import col, select
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import page
from admin_ui.security import SessionDep, StaffUser, require_page, staff_context
from alerts.models import AlertType
from alerts.reports.base import MIN_ALERTS_FOR_RATE, ReportInputError
from alerts.reports.calls import (
    COLUMNS,
    DEFAULT_COST_PER_CALL,
    OPTIONAL,
    SMALL_COUNTS,
    CallImportError,
    CallImportReport,
    import_calls,
)
from alerts.reports.choices import KIND_WORDS, KINDS
from alerts.reports.export import REPORTS, ReportQuery, build, table_names, to_csv
from alerts.reports.funnel import GROUPS, STEP_SHORT, STEP_WORDS, STEPS
from alerts.reports.handoffs import (
    ABANDONED_TARGET,
    QUEUES,
    SERVICE_LEVEL_TARGET,
    TARGET_ANSWER_SECONDS,
)
from callcentre.staffing import agents_needed

router = APIRouter(include_in_schema=False)
CanReport = Annotated[StaffUser, Depends(require_page("reports"))]
QueryDep = Annotated[ReportQuery, Query()]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CHANNEL_WORDS = {"voice": "Voice call", "sms": "SMS", "email": "Email"}
SUMMARIES = {
    "funnel": "From events to resolved: how many alerts were sent, reached the customer, were "
    "answered, went to the call centre and were resolved; why the rest were skipped.",
    "response-rates": "How often customers answer on each channel, and how quickly.",
    "delivery": "Provider failures, retries, fallbacks, how fast the first attempt goes out, "
    "alerts that expired.",
    "calls-avoided": "Inbound calls before each alert type went live against after, and what "
    "that saves.",
    "choices": "Opt-outs, opt-ins, withdrawn consent and other preference changes over time.",
    "handoffs": "Transfers, callbacks and tasks per queue: answered within the target, "
    "abandoned against 3%, handle time, the agents the busiest hour needs.",
}
TEMPLATES = {name: f"reports/{name}.html" for name in REPORTS}


def _today() -> Any:
    return datetime.now(UTC).date()


def pct(value: float | None, digits: int = 0) -> str:
    """0.634 -> "63%"; None -> "—"."""
    if value is None:
        return "—"
    shown = round(value * 100, digits)
    return f"{shown:.{digits}f}%"


def duration(seconds: float | None) -> str:
    """75 -> "1 min 15 s"; 3700 -> "1 h 2 min"; None -> "—"."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    if s < 86400:
        return f"{s // 3600} h" + (f" {s % 3600 // 60} min" if s % 3600 // 60 else "")
    return f"{s // 86400} d" + (f" {s % 86400 // 3600} h" if s % 86400 // 3600 else "")


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def bar(label: str, value: float | None, top: float, text: str, tone: str = "") -> dict[str, Any]:
    """One bar of a chart: its width as a percentage of ``top`` (None: no bar is drawn)."""
    width = None if value is None or top <= 0 else max(0.0, min(100.0, 100.0 * value / top))
    return {"label": label, "pct": width, "text": text, "tone": tone}


def _funnel_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    total = data["total"]
    if data["filters"]["alert_type"] and len(data["rows"]) == 1:
        total = data["rows"][0]
    counts = [total[s] for s in STEPS if total[s] is not None]
    top = float(counts[0]) if counts else 0.0
    bars = []
    for step in STEPS:
        n = total[step]
        if n is None:
            continue
        share = total["share_of_previous_step"][step]
        text = f"{n:,}" + (f" · {pct(share)}" if share is not None else "")
        bars.append(bar(STEP_WORDS[step], n, top, text, "good" if step == "resolved" else ""))
    return bars


def _rate_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    bars = []
    for c in data["channels"]:
        label = CHANNEL_WORDS.get(c["channel"], c["channel"])
        if c["response_rate"] is None:
            n = c["alerts_reached"]
            alerts = "1 alert" if n == 1 else f"{n} alerts"
            text = f"{alerts}: too few for a rate (needs {MIN_ALERTS_FOR_RATE})"
            bars.append(bar(label, None, 1, text))
        else:
            text = f"{pct(c['response_rate'])} of {c['alerts_reached']:,} alerts"
            bars.append(bar(label, c["response_rate"], 1, text))
    return bars


def _failure_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    failures = data["failures"][:10]
    top = max((f["attempts"] for f in failures), default=0)
    return [
        bar(
            f"{CHANNEL_WORDS.get(f['channel'], f['channel'])}: {f['error']}"[:60],
            f["attempts"],
            top,
            f"{f['attempts']:,}",
            "bad",
        )
        for f in failures
    ]


def _latency_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = data["seconds_from_event_to_first_attempt"]
    row = next((r for r in rows if r["alert_type"] == "all"), rows[0] if rows else None)
    if row is None:
        return []
    top = max(v for v in (row["p50"], row["p95"], row["p99"]) if v is not None)
    return [
        bar(f"{label} of alerts within", row[key], top, duration(row[key]))
        for label, key in (("Half", "p50"), ("95%", "p95"), ("99%", "p99"))
    ]


def _calls_bars(data: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    rows = [r for r in data["alert_types"] if r["has_baseline"]]
    top = max(
        (max(r["calls_per_unit_before"] or 0, r["calls_per_unit_after"] or 0) for r in rows),
        default=0,
    )
    bars = []
    for r in rows:
        unit = "per 1,000 events" if r["rate_per"] == "1000 events" else "a day"
        name = names.get(r["alert_type"], r["alert_type"])
        for side, key, tone in (
            ("before", "calls_per_unit_before", ""),
            ("after", "calls_per_unit_after", "good"),
        ):
            value = r[key]
            bars.append(
                bar(f"{name}: {side}", value, top, f"{number(value, 1)} calls {unit}", tone)
            )
    return bars


def _choice_columns(data: dict[str, Any]) -> dict[str, Any]:
    days = data["days"]
    top = max((d["opted_out"] + d["consent_withdrawn"] for d in days), default=0)
    return {
        "top": top,
        "columns": [
            {
                "day": d["day"],
                "value": d["opted_out"] + d["consent_withdrawn"],
                "height": 0 if not top else 100 * (d["opted_out"] + d["consent_withdrawn"]) / top,
            }
            for d in days
        ],
    }


async def _names(session: SessionDep) -> dict[str, str]:
    rows = (
        await session.exec(select(AlertType.key, AlertType.name).order_by(col(AlertType.name)))
    ).all()
    return dict(rows)


def _charts(name: str, data: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    if name == "funnel":
        return {"funnel": _funnel_bars(data)}
    if name == "response-rates":
        return {"rates": _rate_bars(data)}
    if name == "delivery":
        return {"failures": _failure_bars(data), "latency": _latency_bars(data)}
    if name == "calls-avoided":
        return {"calls": _calls_bars(data, names)}
    if name == "handoffs":
        return {"handoffs": _queue_bars(data)}
    return {"opt_outs": _choice_columns(data)}


def _queue_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per queue, the share answered within the target (no bar when none was answered)."""
    return [
        bar(
            QUEUES.get(q["queue"], q["queue"]),
            q["answered_within_target_share"],
            1,
            f"{pct(q['answered_within_target_share'])} of {q['answered']:,} answered"
            if q["answered"]
            else "none answered yet",
            "good" if (q["answered_within_target_share"] or 0) >= SERVICE_LEVEL_TARGET else "bad",
        )
        for q in data["queues"]
    ]


async def _report_page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    name: str,
    query: ReportQuery,
    *,
    notice: CallImportReport | None = None,
    upload_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = await _names(session)
    error = None
    data: dict[str, Any] | None = None
    try:
        data = await build(
            session=session, name=name, query=query, today=_today(), staffing=agents_needed
        )
    except ReportInputError as exc:
        error = str(exc)
        status_code = 400
    filters = {k: v for k, v in query.model_dump().items() if v}
    return page(
        request,
        TEMPLATES[name],
        staff_context(
            request,
            user,
            title=REPORTS[name],
            report=name,
            reports=REPORTS,
            data=data,
            charts=_charts(name, data, names) if data else {},
            error=error,
            query=query,
            filters=filters,
            tables=table_names(name),
            names=names,
            pct=pct,
            duration=duration,
            number=number,
            channel_words=CHANNEL_WORDS,
            groups=GROUPS,
            steps=STEPS,
            step_words=STEP_WORDS,
            step_short=STEP_SHORT,
            kinds=KINDS,
            kind_words=KIND_WORDS,
            min_alerts=MIN_ALERTS_FOR_RATE,
            small_counts=SMALL_COUNTS,
            default_cost=DEFAULT_COST_PER_CALL,
            columns=COLUMNS,
            optional_columns=OPTIONAL,
            notice=notice,
            upload_error=upload_error,
            queues=QUEUES,
            target_answer=TARGET_ANSWER_SECONDS,
            service_level=SERVICE_LEVEL_TARGET,
            abandoned_target=ABANDONED_TARGET,
            as_of=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        ),
        status_code=status_code,
    )


@router.get("/admin/reports")
async def reports_index(request: Request, user: CanReport) -> HTMLResponse:
    return page(
        request,
        "reports/index.html",
        staff_context(request, user, title="Reports", reports=REPORTS, summaries=SUMMARIES),
    )


def _add(name: str) -> None:
    async def show(
        request: Request, user: CanReport, session: SessionDep, query: QueryDep
    ) -> HTMLResponse:
        return await _report_page(request, user, session, name, query)

    async def download(
        _: CanReport, session: SessionDep, query: QueryDep, table: str = table_names(name)[0]
    ) -> Response:
        try:
            data = await build(
                session=session, name=name, query=query, today=_today(), staffing=agents_needed
            )
            body = to_csv(name, table, data)
        except ReportInputError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
        period = data["range"]
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="herald-{name}-{table}-'
                f'{period["from"]}-{period["to"]}.csv"',
                "Cache-Control": "no-store",
            },
        )

    router.add_api_route(f"/admin/reports/{name}", show, methods=["GET"])
    router.add_api_route(f"/admin/reports/{name}.csv", download, methods=["GET"])


for _name in REPORTS:
    _add(_name)


@router.post(
    "/admin/reports/calls-avoided/import",
    dependencies=[Depends(require_page("ingest"))],
    response_model=None,
)
async def import_call_counts(
    request: Request,
    user: CanReport,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """The upload form: a CSV export of inbound calls per day and reason (docs/reports.md)."""
    query = ReportQuery()

    async def refused(message: str) -> HTMLResponse:
        return await _report_page(
            request, user, session, "calls-avoided", query, upload_error=message, status_code=400
        )

    if file is None or not file.filename:
        return await refused("Choose the CSV file to import first.")
    body = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(body) > MAX_UPLOAD_BYTES:
        return await refused(f"The file is over {MAX_UPLOAD_BYTES // 1024 // 1024} MB: split it.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return await refused(
            "The file is not UTF-8 text: export it from the telephony system as CSV (UTF-8)."
        )
    try:
        report = await import_calls(session=session, text=text, filename=file.filename)
    except CallImportError as exc:
        return await refused(str(exc))
    return await _report_page(request, user, session, "calls-avoided", query, notice=report)
