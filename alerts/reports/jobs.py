"""The arq job that keeps the report rollups current between reports (herald.worker runs it on
the default queue every few minutes), so a report's own refresh finds little left to do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts.reports.rollup import refresh_rollups

# Days one run may build: a long history is rolled up over a few runs, never in one long write
# (which SQLite would make every other writer wait for).
JOB_BUDGET_DAYS = 31
EVERY_MINUTES = 5


async def refresh_reports_job(ctx: dict[str, Any]) -> str:
    """Roll up what changed since the last refresh, up to ``JOB_BUDGET_DAYS`` days."""
    sessions = ctx["deps"].sessions
    async with sessions() as session:
        report = await refresh_rollups(
            session=session, today=datetime.now(UTC).date(), budget_days=JOB_BUDGET_DAYS
        )
    return (
        f"rolled up {len(report.built_days)} days ({len(report.changed_days)} changed), "
        f"{report.left_days} left"
    )
