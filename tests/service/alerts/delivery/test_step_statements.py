"""How many SQL statements one plan step costs (a count, not a timing): each statement is a
round trip and ~1 ms of worker CPU, so a change that adds one to every step shows here.

Before the count was cut (docs/throughput.md, "Delivery") an SMS step took 21 statements and an
email step 25; the counts below are what the step needs: read once, create the attempt, move it
to sending (with its time) beside the alert's move, commit; after the send, move it to sent.

These are the counts of a step run alone (``run_step``: a retry, a step that is not the plain
case, a batch that met a conflict). A worker's SMS and email steps run in batches
(alerts.delivery.batch): a batch costs 7 statements for SMS and 10 for email whatever its
size, counted in test_batch.py (``SMS_BATCH``, ``EMAIL_BATCH``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from alerts.delivery.steps import run_step
from alerts.models import DeliveryAttempt
from herald.runtime import Runtime
from tests.factories import attempts_of
from tests.service.alerts.wiring import T0, Wired, make_person, raise_alert, run

SMS_STEP = 8  # read; insert attempt; UPDATE -> sending; alert; events; status change; sent; event
EMAIL_STEP = 12  # the same, then: alert re-read; alert -> delivered; outbox; status change
# SQLite's dialect inserts the two history rows of the first commit one by one (PostgreSQL's
# sends them in one INSERT): one more statement there.
SQLITE_EXTRA = 1


def allowed(runtime: Runtime, count: int) -> int:
    return count + (SQLITE_EXTRA if runtime.engine.dialect.name == "sqlite" else 0)


@contextmanager
def statements_of(runtime: Runtime) -> Iterator[list[str]]:
    """The statements the engine runs inside the block (transaction control not counted)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)


async def _first_step(wired: Wired, runtime: Runtime, channel: str) -> tuple[list[str], str]:
    """The first step of a second alert: the first one's step read the alert type's document
    (once per version and process); the counted one reads only its version."""
    await make_person(wired.deps, order=(channel,))
    warm = await raise_alert(wired, T0, amount="750.00", event_id="E-0")
    assert await run(wired, warm, 0, T0) == "sent"
    alert = await raise_alert(wired, T0, amount="760.00", event_id="E-1")
    assert alert.plan[0].channel == channel
    with statements_of(runtime) as seen:
        action = await run(wired, alert, 0, T0)
    return seen, action


async def _attempt(wired: Wired, alert_id: int | None) -> DeliveryAttempt:
    assert alert_id is not None
    (attempt,) = await attempts_of(wired.deps, alert_id)
    return attempt


async def test_an_sms_step_costs_at_most_its_statements(wired: Wired, runtime: Runtime) -> None:
    seen, action = await _first_step(wired, runtime, "sms")
    assert action == "sent"
    assert len(wired.sms.sent) == 2
    assert len(seen) <= allowed(runtime, SMS_STEP), " ".join(seen)
    attempt = await _attempt(wired, wired.sms.sent[-1].alert_id)
    assert (attempt.status, attempt.provider_sid) == ("sent", "fake_sms-2")
    assert attempt.sending_started_at is not None  # written by the move to sending


async def test_an_email_step_costs_at_most_its_statements(wired: Wired, runtime: Runtime) -> None:
    seen, action = await _first_step(wired, runtime, "email")
    assert action == "sent"
    assert len(wired.email.sent) == 2
    assert len(seen) <= allowed(runtime, EMAIL_STEP), " ".join(seen)
    attempt = await _attempt(wired, wired.email.sent[-1].alert_id)
    assert attempt.status == "sent"


async def test_a_step_run_again_after_it_was_sent_sends_nothing(
    wired: Wired, runtime: Runtime
) -> None:
    """The joined read finds the attempt the first run made: the second run stops there."""
    await _first_step(wired, runtime, "sms")
    alert_id = wired.sms.sent[-1].alert_id
    with statements_of(runtime) as again:
        result = await run_step(deps=wired.deps, alert_id=alert_id, step_index=0, now=T0)
    assert result.action == "skipped"
    assert len(wired.sms.sent) == 2
    assert again == ["SELECT"]
