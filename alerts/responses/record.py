"""Customer answers: interpret the key/reply/click, record it once, close or hand off the alert.

``record_response`` reads top-down as the steps of one answer:

1. find the alert the answer is about (through the attempt it answered, or as matched);
2. interpret it among the alert's options, unless the caller knows the intent (STOP...);
3. an answer to an alert that no longer takes answers is *late*: stored, and nothing else;
4. store it once, by its provider identity: one INSERT ... ON CONFLICT DO NOTHING RETURNING;
   an answer already recorded under the same identity (a provider retrying its webhook, a
   customer clicking twice, a concurrent copy that won the race) is returned as it was, and
   nothing else is done;
5. act: hand off to the call centre, plan a copy, opt out, close the alert;
6. commit, then enqueue the copy it planned (the sweep finds it if that enqueue is lost).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import channel_options
from alerts.customers.preferences import PreferenceIn, save_preference, stored
from alerts.deps import AlertDeps
from alerts.lifecycle import ALERT_OPEN, move_alert
from alerts.lifecycle.statements import store_answer_and_close
from alerts.models import Alert, ContactPoint, Customer, DeliveryAttempt, HandOff, Response
from alerts.outbox import emit
from alerts.plans import AlertOption
from alerts.responses.actions import plan_copy
from alerts.responses.handoffs import hand_off
from alerts.responses.values import (
    HandOffKind,
    option_for,
    options_of,
    update_context,
)

logger = logging.getLogger(__name__)

INTENT_TEXT = {
    "agent": "asked to speak to an agent",
    "confirm": "confirmed the alert",
    "repeat": "asked to hear the message again",
    "call_me": "asked to be called now",
    "callback": "asked to be called back",
    "opt_out": "opted out of this alert type",
    "transaction": "asked for the automated transaction",
    "sms_copy": "asked for a copy by SMS",
    "email_copy": "asked for a copy by email",
    "unknown": "sent an answer Herald could not match",
    "late": "answered after the alert had its answer; nothing more was done",
    "stop": "texted STOP: no more SMS to this number",
    "start": "texted START: SMS back on",
    "help": "asked for help by SMS",
}
# Answers that end the alert: the customer has seen it and acted.
CLOSING = frozenset({"agent", "confirm", "call_me", "callback", "opt_out", "transaction"})
# Answers that become work for the call centre, and the kind of hand-off.
# A transaction's task is created with the answer and closed once the endpoint has done it, so
# a crash between the two leaves an agent a task, never a silently lost request.
AGENT_TASKS: dict[str, HandOffKind] = {
    "agent": "callback",
    "callback": "callback",
    "call_me": "call_now",
    "transaction": "task",
}
COPIES = frozenset({"sms_copy", "email_copy"})
# Carrier keywords are about the number, not an answer to the alert: never late.
KEYWORDS = frozenset({"stop", "start", "help"})
UNFINISHED_TRANSACTION = (
    "the automated transaction was requested; if this stays open, it did not complete: "
    "do it for the customer"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    response: Response
    intent: str
    duplicate: bool
    handoff: HandOff | None = None

    @property
    def late(self) -> bool:
        """The alert already had its answer: this one was recorded and nothing was done."""
        return self.intent == "late"


@dataclass(frozen=True, slots=True)
class _Acted:
    handoff: HandOff | None = None
    copy: tuple[int, str] | None = None  # (step index, channel) of a planned copy


def interpret(channel: str, key: str, options: list[AlertOption]) -> str:
    """The intent of ``key`` among the alert's options on ``channel`` ("unknown" if none).
    An email link carries the intent itself (it was signed when the email was built)."""
    key = key.strip().lower()
    kind: Literal["voice", "sms", "email"] = (
        "email" if channel == "email" else "voice" if channel == "voice" else "sms"
    )
    for option in channel_options([o.dump() for o in options], kind):
        if (option["intent"] if channel == "email" else option["key"].lower()) == key:
            return option["intent"]
    return "unknown"


def takes_answer(alert: Alert, intent: str) -> bool:
    """Whether ``alert`` still acts on an answer meaning ``intent``: an open alert does; one
    that was answered still sends the copy the customer asks for (alerts.lifecycle)."""
    if intent in KEYWORDS or alert.status in ALERT_OPEN:
        return True
    return alert.status == "closed" and intent in COPIES


async def record_response(
    *,
    deps: AlertDeps,
    dedupe_key: str,
    attempt_id: int | None,
    channel: str,
    key: str,
    text: str | None,
    now: datetime,
    alert_id: int | None = None,
    customer_id: int | None = None,
    intent: str | None = None,
    session: AsyncSession | None = None,
) -> Outcome:
    """Record an answer exactly once (by provider identity) and act on it. `intent` overrides
    the alert's options (carrier keywords such as STOP are not an answer to the alert).
    ``session``: the caller's, which already holds the attempt and alert (a key press matched
    to its call first); it is committed here and stays open."""
    async with _session_of(deps, session) as session:
        alert = await _alert_answered(session, attempt_id, alert_id)
        intent = intent or interpret(channel, key, options_of(alert))
        if alert is not None and not takes_answer(alert, intent):
            intent = "late"
        if alert is not None and _in_one_statement(session, intent, channel):
            return await _recorded_in_one(
                session,
                alert,
                dedupe_key=dedupe_key,
                attempt_id=attempt_id,
                channel=channel,
                key=key[:20],
                intent=intent,
                text=text,
                now=now,
            )
        if session.info.pop(AUTOCOMMIT_READS, False):
            # The reads ran without a transaction; these writes need one: ending this one
            # returns the connection, and the next statement begins a real transaction.
            await session.commit()
        response = await _store_once(
            session,
            dedupe_key=dedupe_key,
            alert_id=alert.id if alert else None,
            attempt_id=attempt_id,
            channel=channel,
            key=key[:20],
            intent=intent,
            customer_id=alert.customer_id if alert else customer_id,
            text=text,
            created_at=now,
        )
        if response is None:  # nothing was inserted, nothing else is done
            winner = await _earlier_answer(session, dedupe_key)
            assert winner is not None, "a unique dedupe_key lost its race to a stored answer"
            return winner
        if alert is None or not alert.trial:  # a studio trial's answers stay out of the CRM
            _tell_the_crm(session, response, alert, channel, intent, now)
        acted = await _act(session, alert, response, intent, now) if intent != "late" else _Acted()
        await session.commit()
        await _enqueue_copy(deps, alert, acted.copy)
    logger.info(
        "response recorded response_id=%s alert_id=%s channel=%s intent=%s",
        response.id,
        response.alert_id,
        channel,
        intent,
    )
    return Outcome(response, intent, duplicate=False, handoff=acted.handoff)


# ``session.info`` key: the session reads in autocommit (``read_without_transaction``).
AUTOCOMMIT_READS = "autocommit_reads"


async def read_without_transaction(session: AsyncSession) -> None:
    """On PostgreSQL, run ``session``'s reads before an answer in autocommit: a webhook whose
    answer is one statement (``_in_one_statement``: atomic on its own) then sends neither BEGIN
    nor COMMIT; any other answer ends this state and writes in a transaction of its own
    (``record_response``). Call before the session's first statement. The reads see what a
    READ COMMITTED transaction would: each statement the latest committed rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[AUTOCOMMIT_READS] = True


def _in_one_statement(session: AsyncSession, intent: str, channel: str) -> bool:
    """On PostgreSQL, an answer whose only act is closing its alert (a confirmation), or none
    (a late answer, "repeat", a key no option offered), is one statement."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    if intent in AGENT_TASKS or intent in COPIES or intent == "opt_out":
        return False
    return not (intent == "unknown" and channel == "sms")  # an agent reads that one


async def _recorded_in_one(
    session: AsyncSession,
    alert: Alert,
    *,
    dedupe_key: str,
    attempt_id: int | None,
    channel: str,
    key: str,
    intent: str,
    text: str | None,
    now: datetime,
) -> Outcome:
    """``record_response``'s steps 4 to 6 for such an answer: stored once, told to the CRM,
    the alert closed (``alerts.lifecycle.statements.store_answer_and_close``), committed."""
    values: dict[str, object] = {
        "dedupe_key": dedupe_key,
        "alert_id": alert.id,
        "attempt_id": attempt_id,
        "customer_id": alert.customer_id,
        "channel": channel,
        "key": key,
        "intent": intent,
        "text": text,
    }
    closes = intent in CLOSING and intent != "late"
    response_id = await store_answer_and_close(
        session,
        values=values,
        alert=alert,
        close_reason=_closing_reason(alert, intent, channel) if closes else None,
        tell=not alert.trial,  # a studio trial's answers stay out of the CRM
        now=now,
    )
    session.info.pop(AUTOCOMMIT_READS, None)  # done: the session's next work is the caller's
    if response_id is None:  # nothing was inserted, nothing else is done
        winner = await _earlier_answer(session, dedupe_key)
        assert winner is not None, "a unique dedupe_key lost its race to a stored answer"
        return winner
    await session.commit()
    logger.info(
        "response recorded response_id=%s alert_id=%s channel=%s intent=%s",
        response_id,
        alert.id,
        channel,
        intent,
    )
    response = Response(id=response_id, created_at=now, **values)  # type: ignore[arg-type]
    return Outcome(response, intent, duplicate=False)


@asynccontextmanager
async def _session_of(deps: AlertDeps, given: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    if given is not None:
        yield given
        return
    async with deps.sessions() as session:
        yield session


def _tell_the_crm(
    session: AsyncSession,
    response: Response,
    alert: Alert | None,
    channel: str,
    intent: str,
    now: datetime,
) -> None:
    """The CRM hears of the answer (alerts.outbox), in the answer's transaction."""
    emit(
        session,
        kind="response.recorded",
        entity="response",
        entity_id=response.id,
        customer_id=response.customer_id,
        data={
            "response_id": response.id,
            "alert_id": response.alert_id,
            "alert_type": alert.alert_type if alert else None,
            "channel": channel,
            "key": response.key,
            "intent": intent,
        },
        now=now,
    )


async def _earlier_answer(session: AsyncSession, dedupe_key: str) -> Outcome | None:
    """The answer already stored under this provider identity, as a duplicate."""
    found = (await session.exec(select(Response).where(Response.dedupe_key == dedupe_key))).first()
    if found is None:
        return None
    handoff = (await session.exec(select(HandOff).where(HandOff.response_id == found.id))).first()
    return Outcome(found, found.intent, duplicate=True, handoff=handoff)


async def _alert_answered(
    session: AsyncSession, attempt_id: int | None, alert_id: int | None
) -> Alert | None:
    """The alert of the attempt that was answered, else the alert the caller matched."""
    attempt = await session.get(DeliveryAttempt, attempt_id) if attempt_id else None
    wanted = attempt.alert_id if attempt else alert_id
    return await session.get(Alert, wanted) if wanted else None


async def _store_once(session: AsyncSession, **values: object) -> Response | None:
    """Insert the answer and return it (in the session, as stored); None when an answer with
    the same provider identity is stored already (its unique ``dedupe_key``): one statement,
    where a read first and a savepoint round the insert took four. A concurrent copy of the
    same answer waits for the first to commit, then inserts nothing."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stored = await session.exec(
        insert(Response)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Response)
    )
    response: Response | None = stored.scalars().one_or_none()
    return response


async def _act(
    session: AsyncSession, alert: Alert | None, response: Response, intent: str, now: datetime
) -> _Acted:
    """What the answer does, in the answer's own transaction."""
    handoff = await _hand_off_work(session, response, intent, now)
    if alert is None:
        return _Acted(handoff)
    copy = None
    if intent in COPIES:
        copy, task = await _plan_copy(session, alert, response, intent, now)
        handoff = task or handoff
    if intent == "opt_out":
        await _opt_out(session, alert, response.channel, now)
    if intent in CLOSING:
        _close(session, alert, _closing_reason(alert, intent, response.channel), now)
    return _Acted(handoff, copy)


async def _hand_off_work(
    session: AsyncSession, response: Response, intent: str, now: datetime
) -> HandOff | None:
    """The call centre's part: a live transfer, a callback, a call now, or a task; an SMS
    nobody could match is read by an agent."""
    if intent not in AGENT_TASKS and not (intent == "unknown" and response.channel == "sms"):
        return None
    kind = AGENT_TASKS.get(intent, "callback")
    if response.channel == "voice" and intent == "agent":
        kind = "live_transfer"
    handoff = await hand_off(session=session, response=response, kind=kind, now=now)
    if intent == "transaction":
        update_context(handoff, task=UNFINISHED_TRANSACTION)
        session.add(handoff)
    return handoff


async def _plan_copy(
    session: AsyncSession, alert: Alert, response: Response, intent: str, now: datetime
) -> tuple[tuple[int, str] | None, HandOff | None]:
    """Plan the copy the customer asked for; without a usable phone or email, an agent sends
    it (a task)."""
    planned = await plan_copy(session, alert, intent, now)
    if not isinstance(planned, str):
        return planned, None
    task = await hand_off(session=session, response=response, kind="task", now=now)
    update_context(task, task=planned)
    session.add(task)
    return None, task


def _closing_reason(alert: Alert, intent: str, channel: str) -> str:
    option = option_for(options_of(alert), intent)
    said = f" ('{option.label}')" if option else ""
    return f"customer {INTENT_TEXT[intent]}{said} by {channel}"


async def _enqueue_copy(deps: AlertDeps, alert: Alert | None, copy: tuple[int, str] | None) -> None:
    """Committed first: if this enqueue is lost, the sweep finds the due step."""
    if copy is not None and alert is not None and alert.id is not None:
        await deps.queue.enqueue_step(alert_id=alert.id, step_index=copy[0], channel=copy[1])


async def _opt_out(session: AsyncSession, alert: Alert, channel: str, now: datetime) -> None:
    """The customer chose "stop these alerts": opt them out of this alert type (recorded as
    their own change; a mandatory alert type still reaches them, as their page explains)."""
    current = (await stored(session, alert.customer_id)).get(alert.alert_type, PreferenceIn())
    await save_preference(
        session,
        customer_id=alert.customer_id,
        alert_type=alert.alert_type,
        data=current.model_copy(update={"opted_out": True}),
        actor=f"customer ({channel} answer)",
        now=now,
    )


def _close(session: AsyncSession, alert: Alert, reason: str, now: datetime) -> None:
    """Stop the rest of the plan: a woken step job finds the alert no longer open."""
    if not move_alert(session, alert, "answer", reason=reason, now=now, actor="customer"):
        return
    alert.closed_reason = reason
    alert.next_step_at = None


def hold(session: AsyncSession, *rows: object) -> None:
    """Keep ``rows`` alive as long as ``session``: its identity map holds unchanged rows only
    weakly, so a row read ahead for later ``session.get`` calls is otherwise dropped as soon as
    the reader returns, and every one of those calls reads it again."""
    session.info.setdefault("held", []).extend(rows)


# Built once, its parameters bound per reply (as alerts.responses.matching's call rows).
_SMS_REPLY_ROWS = (
    select(DeliveryAttempt, Alert, Customer)
    .join(Alert, col(Alert.id) == DeliveryAttempt.alert_id)
    .join(Customer, col(Customer.id) == Alert.customer_id)
    .where(
        DeliveryAttempt.channel == "sms",
        col(DeliveryAttempt.address) == bindparam("number"),
        col(DeliveryAttempt.created_at) >= bindparam("since"),
        col(Alert.status).in_(sorted(ALERT_OPEN)),
    )
    .order_by(col(DeliveryAttempt.created_at).desc())
    .limit(1)
)


async def match_sms_reply(
    *, session: AsyncSession, from_number: str, now: datetime, window_hours: int
) -> tuple[int | None, int | None, int | None]:
    """(attempt id, alert id, customer id) of the newest open SMS alert sent to this number.

    One statement reads the attempt, its alert and their customer into ``session``: recording
    the answer and choosing the reply's language in the same session read none of them again."""
    since = now - timedelta(hours=window_hours)
    found = (
        await session.exec(_SMS_REPLY_ROWS, params={"number": from_number, "since": since})
    ).first()
    if found:
        attempt, alert, customer = found
        hold(session, attempt, alert, customer)
        return attempt.id, alert.id, alert.customer_id
    contact = (
        await session.exec(
            select(ContactPoint).where(
                ContactPoint.kind == "phone", ContactPoint.address == from_number
            )
        )
    ).first()
    return None, None, contact.customer_id if contact else None
