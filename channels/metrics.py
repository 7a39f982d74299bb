"""Herald's Prometheus metrics: the definitions, and one-line helpers for the code that counts.

Here in ``channels`` because every package may import it (like ``masking``); the exposition
(``/metrics``, the queue gauges read from Redis, each worker's own port) is ``herald.metrics``.
Every name is listed in docs/operations.md; ``deploy/grafana-dashboard.json`` charts them.

To add a metric: define it below with a ``herald_`` name and help text, count it with one line
where the event happens, and add it to docs/operations.md (a test checks the list).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

P = ParamSpec("P")
T = TypeVar("T")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

SENDS = Counter(
    "herald_sends_total",
    "Messages handed to a provider, by channel, provider and result "
    "(accepted, retry_later, contact_problem, configuration, permanent).",
    ["channel", "provider", "result"],
)
ATTEMPT_STATUS = Counter(
    "herald_attempt_status_total",
    "Delivery attempts moved to a status (delivered, failed, no_answer, ...), by channel.",
    ["channel", "status"],
)
RETRIES = Counter(
    "herald_retries_total",
    "Sends retried later after a transient provider error, by channel.",
    ["channel"],
)
FALLBACKS = Counter(
    "herald_fallbacks_total",
    "Fallbacks: kind=provider when a provider failed and the next one was tried (failover), "
    "kind=step when an alert moved on to its plan's next step.",
    ["kind", "channel"],
)
DECISION_SECONDS = Histogram(
    "herald_decision_seconds",
    "Time to decide a pass of pending events into alerts (rules, preferences, plans).",
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_SECONDS = Histogram(
    "herald_webhook_seconds",
    "Time to answer a provider webhook, by route and HTTP status.",
    ["route", "status"],
    buckets=LATENCY_BUCKETS,
)
PACING_RATE = Gauge(
    "herald_pacing_rate_per_second",
    "Voice alerts released per second for an alert type, as last decided by the pacer.",
    ["alert_type"],
)
INGESTED_FILES = Counter(
    "herald_ingested_files_total",
    "Back-office files ingested, by result (done, failed, duplicate_file).",
    ["status"],
)
INGESTED_RECORDS = Counter(
    "herald_ingested_records_total",
    "Records read from back-office files, by outcome (read, events, duplicates, quarantined, "
    "unknown_accounts).",
    ["outcome"],
)
# Read on each scrape of the API's /metrics (herald.metrics), not counted in code.
QUEUE_DEPTH = Gauge(
    "herald_queue_depth", "Jobs waiting in an arq queue (due now and deferred).", ["queue", "due"]
)
QUEUE_OLDEST_SECONDS = Gauge(
    "herald_queue_oldest_job_age_seconds",
    "How long the oldest due job of an arq queue has been due (0 when none is due).",
    ["queue"],
)
JOBS_IN_PROGRESS = Gauge("herald_jobs_in_progress", "Jobs a worker holds right now (all queues).")
QUARANTINE_OPEN = Gauge(
    "herald_quarantine_open", "Quarantined records not yet resolved (retried or dismissed)."
)


def sent(channel: str, provider: str, result: str) -> None:
    SENDS.labels(channel=channel, provider=provider, result=result).inc()


def attempt_moved(channel: str, status: str) -> None:
    ATTEMPT_STATUS.labels(channel=channel, status=status).inc()


def ingested(report: object) -> None:
    """Count one ingested file from its report (``alerts.ingestion.files.IngestReport``)."""
    INGESTED_FILES.labels(status=str(getattr(report, "status", "done"))).inc()
    for outcome, field in (
        ("read", "records"),
        ("events", "events_created"),
        ("duplicates", "duplicates"),
        ("quarantined", "quarantined"),
        ("unknown_accounts", "unknown_accounts"),  # set aside too, until the customer exists
    ):
        INGESTED_RECORDS.labels(outcome=outcome).inc(int(getattr(report, field, 0)))


def timed(histogram: Histogram) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorate a coroutine function: each call's duration is observed in ``histogram``."""

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return wrapper

    return decorate
