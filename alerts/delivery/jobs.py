"""Thin arq entry points: jobs carry ids, never payloads; one place maps outcomes to arq retries."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from alerts.columns import utcnow
from alerts.delivery.reconcile import STUCK_AFTER_S
from alerts.delivery.steps import RetryLater, run_step
from alerts.delivery.sweep import SweepCursor, sweep
from alerts.deps import AlertDeps

logger = logging.getLogger(__name__)


async def run_step_job(ctx: dict[str, Any], alert_id: int, step_index: int) -> str:
    deps: AlertDeps = ctx["deps"]
    # Which run of which job (the fault-injection runs time a killed worker's job's re-run).
    logger.debug("running job_id=%s try=%s", ctx.get("job_id"), ctx.get("job_try", 1))
    try:
        result = await run_step(
            deps=deps,
            alert_id=alert_id,
            step_index=step_index,
            now=utcnow(),
            try_no=int(ctx.get("job_try", 1)),
        )
    except RetryLater as exc:
        logger.warning(
            "transient failure alert_id=%s step=%s, retry in %.0fs: %s",
            alert_id,
            step_index,
            exc.defer_seconds,
            exc,
        )
        raise Retry(defer=exc.defer_seconds) from exc
    return f"{result.action}: {result.detail}"


async def sweep_job(ctx: dict[str, Any]) -> str:
    deps: AlertDeps = ctx["deps"]
    # The worker's context lives as long as the worker: each sweep goes on where the last stopped.
    cursor = ctx.setdefault("sweep_cursor", SweepCursor())
    stuck_after_s = float(ctx.get("stuck_after_s", STUCK_AFTER_S))
    found = await sweep(deps=deps, now=utcnow(), cursor=cursor, stuck_after_s=stuck_after_s)
    return f"re-enqueued {found}"
