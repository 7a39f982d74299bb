"""Which attempt or hand-off a provider's request is about, and refusing one that does not fit.

A webhook's path names an attempt (or a hand-off); its parameters name a call or a message. The
two must agree before anything is recorded: a request about another customer's call, or a
keypress addressed to an SMS attempt, must never become an answer on an alert. What does not
exist is a 404; what exists but does not match is a 409, and the refusal is recorded as ignored
in the attempt's history (an AttemptEvent with ``applied=False`` and the reason), and for a
hand-off also among its status changes, so the customer's history shows it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.delivery.messages import ALERT_TYPE_SAVED
from alerts.delivery.statuses import (
    applied_alone,
    applied_in_one,
    apply_status_to,
    in_one_statement,
    moved_forward,
    pass_on,
    whole_in_one,
)
from alerts.deps import AlertDeps
from alerts.models import (
    Alert,
    AlertType,
    AttemptEvent,
    DeliveryAttempt,
    HandOff,
    Response,
    StatusChange,
)
from alerts.responses.values import context_of, update_context
from channels.base import StatusUpdate

logger = logging.getLogger(__name__)


class Mismatch(Exception):
    """The request does not belong to what its path names: ``status`` 404 or 409."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def ignore(
    session: AsyncSession, attempt: DeliveryAttempt, *, what: str, reason: str, now: datetime
) -> None:
    """Keep the refused request in the attempt's history, and commit."""
    assert attempt.id is not None
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            status="ignored",
            provider_status=what[:40],
            detail=reason[:500],
            applied=False,
            created_at=now,
        )
    )
    await session.commit()
    logger.warning("%s ignored attempt_id=%s: %s", what, attempt.id, reason)


async def _sid_taken(session: AsyncSession, sid: str) -> bool:
    taken = await session.exec(select(DeliveryAttempt).where(DeliveryAttempt.provider_sid == sid))
    return taken.first() is not None


# Built once, its parameter bound per request (building and hashing the SELECT per webhook
# cost about what running it does).
_CALL_ROWS = (
    select(DeliveryAttempt, Alert, col(AlertType.version), col(AlertType.updated_at))
    .outerjoin(Alert, col(Alert.id) == DeliveryAttempt.alert_id)
    .outerjoin(AlertType, col(AlertType.key) == col(Alert.alert_type))
    .where(col(DeliveryAttempt.id) == bindparam("attempt_id"))
)


async def call_of_attempt(
    session: AsyncSession, *, attempt_id: int, call_sid: str, what: str, now: datetime
) -> tuple[DeliveryAttempt, Alert]:
    """The voice attempt ``attempt_id`` and its alert, when the request is about its call.

    A call's first requests can come before the worker stored the provider's call sid (it
    commits after the provider answered the create): while the attempt has none, a call no
    other attempt has is taken to be its own (the worker, or a status callback, stores it).

    One statement reads the attempt, its alert and when its alert type was saved (every call
    webhook needs the first two, most the type's spec: ``alerts.delivery.messages.alert_spec``
    takes it from the process's cache by that save, without reading it)."""
    found = (await session.exec(_CALL_ROWS, params={"attempt_id": attempt_id})).first()
    if found is None:
        raise Mismatch(404, f"no attempt {attempt_id}")
    attempt, alert, version, saved_at = found
    if alert is not None and version is not None and saved_at is not None:
        saved = session.info.setdefault(ALERT_TYPE_SAVED, {})
        saved[alert.alert_type] = (version, saved_at)
    problem = None
    if attempt.channel != "voice":
        problem = f"attempt {attempt_id} is an {attempt.channel} attempt, not a call"
    elif attempt.provider_sid != call_sid:
        early = attempt.provider_sid is None and call_sid != ""
        if not early or await _sid_taken(session, call_sid):
            problem = (
                f"the request is about call {call_sid or '(none)'}; attempt {attempt_id} is "
                f"call {attempt.provider_sid or '(not placed yet)'}"
            )
    if problem is not None:
        await ignore(session, attempt, what=what, reason=problem, now=now)
        raise Mismatch(409, problem)
    if alert is None:
        raise Mismatch(404, f"no alert for attempt {attempt_id}")
    return attempt, alert


async def apply_provider_status(
    *, deps: AlertDeps, kind: str, attempt_id: int, update: StatusUpdate, now: datetime
) -> str:
    """A status callback, applied when it is about the attempt its path names: the same
    channel, and the attempt's own call or message (one not yet stored is adopted there).

    The common case, a fresh status of the attempt's own message, is one compare-and-set
    statement (``moved_forward``; on PostgreSQL with the alert's move in the same statement,
    ``applied_in_one``); anything else (a mismatch, an unknown status, a late or
    duplicate callback) is told apart and recorded below."""
    if whole_in_one(kind, update) and await applied_alone(
        deps, channel=kind, attempt_id=attempt_id, update=update, now=now
    ):
        return "applied"
    async with deps.sessions() as session:
        if in_one_statement(session):
            if await applied_in_one(
                deps, session, channel=kind, attempt_id=attempt_id, update=update, now=now
            ):
                return "applied"
        else:
            moved = await moved_forward(
                session, channel=kind, attempt_id=attempt_id, update=update, now=now
            )
            if moved is not None:
                await pass_on(deps, session, moved, update, now)  # commits the move with it
                return "applied"
        attempt = await session.get(DeliveryAttempt, attempt_id)
        if attempt is None:
            raise Mismatch(404, f"no attempt {attempt_id}")
        problem = None
        if attempt.channel != kind:
            problem = f"a {kind} status for attempt {attempt_id}, which is an {attempt.channel}"
        elif attempt.provider_sid and update.provider_sid != attempt.provider_sid:
            problem = (
                f"a status of {update.provider_sid or '(none)'}; attempt {attempt_id} is "
                f"{attempt.provider_sid}"
            )
        if problem is not None:
            await ignore(
                session, attempt, what=f"status:{update.provider_status}", reason=problem, now=now
            )
            raise Mismatch(409, problem)
        return await apply_status_to(deps, session, attempt, update, now)


async def answer_attempt(session: AsyncSession, handoff: HandOff) -> DeliveryAttempt | None:
    """The attempt the customer answered when they asked for this hand-off."""
    response = await session.get(Response, handoff.response_id)
    if response is None or response.attempt_id is None:
        return None
    return await session.get(DeliveryAttempt, response.attempt_id)


async def customer_call(session: AsyncSession, handoff: HandOff) -> str | None:
    """The customer's call the hand-off's calls belong to: the call Herald placed to connect
    them ("call me now"), or the alert's call they asked for an agent in."""
    placed = context_of(handoff).call_sid
    if placed or handoff.kind == "call_now":
        return placed
    attempt = await answer_attempt(session, handoff)
    return attempt.provider_sid if attempt is not None and attempt.channel == "voice" else None


async def refuse_for_handoff(
    session: AsyncSession, handoff: HandOff, *, what: str, reason: str, now: datetime
) -> None:
    """Record a request refused for ``handoff`` (status changes, and the answered attempt's
    history when there is one), and commit."""
    assert handoff.id is not None
    session.add(
        StatusChange(
            entity="handoff",
            entity_id=handoff.id,
            from_status=handoff.status,
            event=what[:30],
            to_status=handoff.status,
            applied=False,
            reason=reason[:500],
            actor="provider",
            created_at=now,
        )
    )
    attempt = await answer_attempt(session, handoff)
    if attempt is not None:
        await ignore(session, attempt, what=what, reason=reason, now=now)
    await session.commit()
    logger.warning("%s ignored handoff_id=%s: %s", what, handoff.id, reason)


async def handoff_of_call(
    session: AsyncSession,
    *,
    handoff_id: int,
    call_sid: str,
    what: str,
    now: datetime,
    adopt: bool = False,
) -> HandOff:
    """The hand-off ``handoff_id``, when the request is about its customer's call.

    ``adopt``: the call placed to "call me now" may report before its sid was stored on the
    hand-off; it is taken then."""
    handoff = await session.get(HandOff, handoff_id)
    if handoff is None:
        raise Mismatch(404, f"no hand-off {handoff_id}")
    expected = await customer_call(session, handoff)
    if expected is None and adopt and call_sid and handoff.kind == "call_now":
        update_context(handoff, call_sid=call_sid)
        session.add(handoff)
        await session.commit()
        expected = call_sid
    if expected is None or expected != call_sid:
        reason = (
            f"the request is about call {call_sid or '(none)'}; hand-off {handoff_id} belongs "
            f"to call {expected or '(none)'}"
        )
        await refuse_for_handoff(session, handoff, what=what, reason=reason, now=now)
        raise Mismatch(409, reason)
    return handoff
