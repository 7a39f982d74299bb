"""Steps that run at the same time in one worker process share their database work.

Each step is still its own arq job (its job id the step's idempotency key; retries, the sweep
and the adoption of a killed worker's send stay per step). A job hands its step to the
process's ``StepBatcher`` and awaits its own result. The batcher gathers the steps that arrive
within a few milliseconds and runs, for all of them:

1. one SELECT of their rows (``read_steps``); a step that is not the plain case (an attempt
   exists already, a deadline passed, a voice step, a channel alarm, a contact point flagged,
   a step Herald wrote itself) runs alone, on the single-step path (``run_step``);
2. one transaction: the attempts inserted as "sending", each step's message built and its
   rate-limit slot taken in its own job's context (``wait_for_slot``; a step that must wait
   has its attempt taken back), the alerts moved to delivering, the history rows; COMMIT;
3. each job sends its own message (concurrently; the provider's pool is shared);
4. one transaction for the outcomes that arrive together: the attempts moved to the
   provider's status and id, the emails' alerts to delivered; COMMIT.

Crash-safety is the single path's: every attempt is committed as "sending" (with its time)
before its provider is asked, every move is a compare-and-set, and a kill at any instant
leaves either nothing (before the first COMMIT) or "sending" attempts that the next run looks
up at the provider before sending (``_adopt_earlier_send``). A batch that meets anything
unexpected (a conflict, a database error) is rolled back and each of its steps carries on
alone: before the send, from the start; after it, from the provider's answer (``after_send``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import ContentError
from alerts.columns import utcnow
from alerts.delivery.batch_rows import (
    Claim,
    NewAttempt,
    Sent,
    claim_sending,
    drop_attempts,
    insert_attempts,
    record_sent,
)
from alerts.delivery.gather import ALONE, Alone, Gather, answer
from alerts.delivery.messages import build_message
from alerts.delivery.plan import past_deadline
from alerts.delivery.rate_limits import (
    SlotHeldElsewhere,
    WaitForSlot,
    keep_distance,
    wait_for_slot,
)
from alerts.delivery.step_rows import StepRows, read_steps
from alerts.delivery.steps import StepResult, after_send, contact_problem, not_due, run_step
from alerts.deps import AlertDeps
from alerts.lifecycle import ATTEMPT, outcome
from alerts.models import DeliveryAttempt
from channels import metrics
from channels.base import ChannelError, OutboundMessage, Receipt
from channels.masking import mask

logger = logging.getLogger(__name__)

WINDOW_S = 0.05  # how long a batch waits for more steps after its first (at most)
MAX_STEPS = 64  # and how many it takes at most


@dataclass
class _Wanted:
    alert_id: int
    step_index: int
    try_no: int
    now: datetime
    context: contextvars.Context  # the job's (its rate-limit slot's owner)


@dataclass
class _Ready:
    """A step claimed by the batch: its attempt is committed as "sending"."""

    wanted: _Wanted
    attempt_id: int
    channel: str
    address: str
    message: OutboundMessage
    customer_id: int
    alert_type: str


@dataclass
class _Outcome:
    ready: _Ready
    receipt: Receipt


class StepBatcher:
    """The steps of one worker process's jobs, batched (see the module's docstring)."""

    def __init__(
        self, deps: AlertDeps, *, window_s: float = WINDOW_S, max_steps: int = MAX_STEPS
    ) -> None:
        self.deps = deps
        self._sending = 0  # steps claimed whose send has not ended yet
        self._claims: Gather[_Wanted] = Gather(self._claim, window_s, max_steps, expected=0)
        self._outcomes: Gather[_Outcome] = Gather(
            self._record, window_s, max_steps, ready=lambda _n: self._sending == 0
        )  # flush at once when no other send is on its way

    def expect(self, jobs: int) -> None:
        """``jobs`` step jobs have just been started together (herald.leases): their batch is
        run as soon as all have arrived (or the window ends), not at their first's window."""
        self._claims.expected = (self._claims.expected or 0) + jobs
        self._claims.announced_at = asyncio.get_running_loop().time()

    async def run(
        self, *, alert_id: int, step_index: int, now: datetime, try_no: int = 1
    ) -> StepResult:
        """Deliver one plan step with the others of its batch (``run_step``'s contract)."""
        wanted = _Wanted(alert_id, step_index, try_no, now, contextvars.copy_context())
        got = await self._claims.submit(wanted)
        if isinstance(got, StepResult):
            return got
        if not isinstance(got, _Ready):
            return await run_step(
                deps=self.deps, alert_id=alert_id, step_index=step_index, now=now, try_no=try_no
            )
        failed: ChannelError | None = None
        try:
            await keep_distance(self.deps.send_gate, kind=got.channel, message=got.message)
            receipt = await self.deps.channels[got.channel].send(got.message)
        except ChannelError as exc:
            failed = exc
        finally:
            self._sending -= 1
        if failed is not None:
            return await self._after(wanted, failed)
        done = await self._outcomes.submit(_Outcome(got, receipt))
        if isinstance(done, StepResult):
            return done
        return await self._after(wanted, receipt)

    async def _after(self, wanted: _Wanted, sent: Receipt | ChannelError) -> StepResult:
        return await after_send(
            deps=self.deps,
            alert_id=wanted.alert_id,
            step_index=wanted.step_index,
            now=wanted.now,
            try_no=wanted.try_no,
            sent=sent,
        )

    # --- 1 and 2: read, claim ------------------------------------------------------------

    async def _claim(self, items: list[tuple[_Wanted, asyncio.Future[Any]]]) -> None:
        logger.debug("claiming a batch of %d steps", len(items))
        now = utcnow()
        async with self.deps.sessions() as session:
            found = await read_steps(session, list({w.alert_id for w, _ in items}))
            fresh: list[tuple[_Wanted, asyncio.Future[Any], StepRows]] = []
            seen: set[int] = set()
            for wanted, future in items:
                first = None if wanted.alert_id in seen else self._first_look(wanted, found)
                seen.add(wanted.alert_id)
                if first is None:  # a second job for one alert in one batch: alone
                    answer(future, ALONE)
                elif isinstance(first, StepRows):
                    fresh.append((wanted, future, first))
                else:
                    answer(future, first)
            if not fresh:
                return
            conn = await session.connection()
            ids = await insert_attempts(
                conn,
                [
                    NewAttempt(
                        w.alert_id,
                        w.step_index,
                        r.alert.plan[w.step_index].channel,
                        r.alert.plan[w.step_index].address,
                        w.now,
                    )
                    for w, _, r in fresh
                ],
            )
            made = [
                (w, f, r, ids[w.alert_id, w.step_index])
                for w, f, r in fresh
                if (w.alert_id, w.step_index) in ids
            ]
            for w, f, _ in fresh:
                if (w.alert_id, w.step_index) not in ids:
                    answer(f, StepResult("skipped", "another worker created this attempt"))
            tasks = [
                asyncio.create_task(self._prepare(session, w, r, attempt_id), context=w.context)
                for w, _, r, attempt_id in made
            ]
            messages = await asyncio.gather(*tasks, return_exceptions=True)
            go: list[tuple[asyncio.Future[Any], _Ready]] = []
            claims: list[Claim] = []
            dropped: list[int] = []
            for (w, f, r, attempt_id), message in zip(made, messages, strict=True):
                if not isinstance(message, OutboundMessage):
                    dropped.append(attempt_id)
                    if isinstance(message, WaitForSlot | SlotHeldElsewhere):
                        answer(f, message)  # as the single path raises it
                    elif isinstance(message, Exception):
                        logger.warning(
                            "alert_id=%s step=%s runs alone: %r", w.alert_id, w.step_index, message
                        )
                        answer(f, ALONE)
                    elif isinstance(message, BaseException):
                        raise message
                    else:
                        answer(f, ALONE)
                    continue
                step = r.alert.plan[w.step_index]
                claims.append(
                    Claim(
                        attempt_id,
                        w.alert_id,
                        w.step_index,
                        r.alert.status,
                        step.channel,
                        w.try_no,
                        step.reason,
                        w.now,
                    )
                )
                go.append(
                    (
                        f,
                        _Ready(
                            w,
                            attempt_id,
                            step.channel,
                            step.address,
                            message,
                            r.alert.customer_id,
                            r.alert.alert_type,
                        ),
                    )
                )
            await drop_attempts(conn, dropped)
            await claim_sending(conn, claims, now)
            await session.commit()
        for claim in claims:
            metrics.attempt_moved(claim.channel, "sending")
        for future, ready in go:
            if not future.done():  # counted until its send ends (``run``)
                self._sending += 1
                future.set_result(ready)

    def _first_look(
        self, wanted: _Wanted, found: dict[int, StepRows]
    ) -> StepRows | StepResult | Alone:
        """The step's rows when it is the plain case a batch sends; a result when it has
        nothing to do (the single path's words); ALONE for anything else."""
        rows = found.get(wanted.alert_id)
        if rows is None:
            return StepResult("skipped", f"alert {wanted.alert_id} does not exist")
        alert = rows.alert
        if alert.trial:
            return StepResult("skipped", f"alert {alert.id} is a studio trial: never delivered")
        if (why := not_due(alert, wanted.step_index, wanted.now)) is not None:
            return StepResult("skipped", why)
        step = alert.plan[wanted.step_index]
        if (
            rows.attempt is not None
            or rows.spec is None
            or (alert.expires_at is not None and wanted.now >= alert.expires_at)
            or past_deadline(step, wanted.now)
            or step.kind != "alert"
            or step.channel not in ("sms", "email")
            or step.channel not in self.deps.channels
            or step.channel in rows.alarms
            or contact_problem(rows, step) is not None
        ):
            return ALONE
        return rows

    async def _prepare(
        self, session: AsyncSession, wanted: _Wanted, rows: StepRows, attempt_id: int
    ) -> object:
        """In the job's own context: the step's message, and its slot (raises WaitForSlot or
        SlotHeldElsewhere as the single path does); ALONE when the content is gone."""
        step = rows.alert.plan[wanted.step_index]
        attempt = DeliveryAttempt(
            id=attempt_id,
            alert_id=wanted.alert_id,
            step_index=wanted.step_index,
            channel=step.channel,
            address=step.address,
            status="sending",
            sending_started_at=wanted.now,
            created_at=wanted.now,
            updated_at=wanted.now,
        )
        try:
            message = await build_message(
                deps=self.deps, session=session, alert=rows.alert, attempt=attempt, spec=rows.spec
            )
        except ContentError:
            return ALONE
        await wait_for_slot(
            self.deps.send_gate,
            kind=step.channel,
            alert_id=wanted.alert_id,
            step_index=wanted.step_index,
            message=message,
        )
        return message

    # --- 4: record ---------------------------------------------------------------------------

    async def _record(self, items: list[tuple[_Outcome, asyncio.Future[Any]]]) -> None:
        logger.debug("recording a batch of %d sends", len(items))
        now = utcnow()
        sent: list[tuple[_Outcome, asyncio.Future[Any], Sent]] = []
        for item, future in items:
            status, ready = item.receipt.status, item.ready
            if status == "sending" or ATTEMPT.next_state("sending", status) != status:
                answer(future, ALONE)
                continue
            row = Sent(
                ready.attempt_id,
                ready.wanted.alert_id,
                ready.wanted.step_index,
                ready.channel,
                status,
                item.receipt.provider_sid,
                outcome(ready.channel, status) == "reached",
                ready.customer_id,
                ready.alert_type,
                ready.wanted.now,
            )
            sent.append((item, future, row))
        if not sent:
            return
        async with self.deps.sessions() as session:
            await record_sent(await session.connection(), [s for *_, s in sent], now)
            await session.commit()
        for item, future, row in sent:
            provider = str(getattr(self.deps.channels[row.channel], "key", row.channel))
            metrics.attempt_moved(row.channel, row.status)
            metrics.sent(row.channel, provider, "accepted")
            logger.info(
                "sent attempt_id=%s alert_id=%s channel=%s to=%s provider_sid=%s",
                row.attempt_id,
                row.alert_id,
                row.channel,
                mask(item.ready.address),
                row.provider_sid,
            )
            if row.reached:
                logger.info(
                    "alert delivered alert_id=%s attempt_id=%s", row.alert_id, row.attempt_id
                )
            answer(future, StepResult("sent", row.provider_sid))
