"""The agent console's data and actions: the work for an agent's skills, claim, notes, outcome.

``work_for`` lists the open hand-offs an agent may take (their queues are the agent's skills),
escalated first (waiting past their queue's target), then live transfers ringing now, then
callbacks that are due, then tasks; within each, the queue's priority and the longest waiting
first. Callbacks not yet due come last, with the time the customer keyed in. The agent's own
work (claimed or connected, not yet completed) is listed apart.

Every action moves the hand-off through its lifecycle (alerts.lifecycle: recorded with its
reason and actor, and told to the CRM through the outbox), and is written to the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.deps import AlertDeps
from alerts.lifecycle import HANDOFF, HANDOFF_OPEN, claim_handoff, move_handoff
from alerts.models import HandOff
from alerts.responses.values import AgentNote, HandOffContext, context_of, update_context
from callcentre.calls import call_customer_now
from callcentre.queues import (
    QueueInfo,
    list_outcomes,
    list_queues,
    resolve,
    set_agent_state,
    skills_of,
)

logger = logging.getLogger(__name__)

WORK_LIMIT = 200
NOTE_MAX = 2000
UNCLAIMED = HANDOFF.sources("claim")  # queued, offered: nobody took it yet
KIND_RANK = {"live_transfer": 0, "call_now": 1, "callback": 2, "task": 3}


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One line of the agent's work list."""

    id: int
    kind: str
    status: str
    queue: str
    queue_name: str
    customer_name: str | None
    customer_ref: str | None
    tz: str | None
    alert_type: str | None
    summary: str
    key: str | None
    intent: str | None
    channel: str | None
    answered_at: datetime | None
    created_at: datetime
    waited_seconds: float
    target_seconds: int
    escalated: bool
    callback_at: datetime | None
    callback_keyed: str | None
    due: bool
    task: str | None
    claimed_by: str | None
    routed_to: str | None = None  # the agent whose line the live transfer was put through to


@dataclass(frozen=True, slots=True)
class WorkList:
    waiting: list[WorkItem]
    mine: list[WorkItem]
    skills: list[str]
    queues: list[QueueInfo] = field(default_factory=list)

    def signature(self) -> tuple[object, ...]:
        """What the console shows, to tell whether it changed (the waits tick every second)."""
        return tuple(
            (w.id, w.status, w.escalated, w.due, w.claimed_by) for w in (*self.waiting, *self.mine)
        )


def _summary(context: HandOffContext) -> str:
    alert = context.alert
    if alert is None:
        return ""
    parts = [" ".join(p for p in (alert.amount, alert.currency) if p)]
    if alert.merchant:
        parts.append(f"at {alert.merchant}")
    elif alert.description:
        parts.append(alert.description)
    return " ".join(p for p in parts if p)


def work_item(handoff: HandOff, queue: QueueInfo, now: datetime) -> WorkItem:
    assert handoff.id is not None
    try:
        context: HandOffContext | None = context_of(handoff)
    except ValueError:  # a context that does not fit is still listed, with what it has
        context = None
    waited = max(0.0, (now - handoff.created_at).total_seconds())
    callback_at = context.callback_at if context else None
    unclaimed = handoff.status in UNCLAIMED and handoff.claimed_by is None
    customer = context.customer if context else None
    answer = context.answer if context else None
    return WorkItem(
        id=handoff.id,
        kind=handoff.kind,
        status=handoff.status,
        queue=queue.key,
        queue_name=queue.name,
        customer_name=customer.name if customer else None,
        customer_ref=customer.ref if customer else None,
        tz=customer.timezone if customer else None,
        alert_type=context.alert.type if context and context.alert else None,
        summary=_summary(context) if context else "",
        key=answer.key if answer else None,
        intent=answer.intent if answer else None,
        channel=answer.channel if answer else None,
        answered_at=answer.at if answer else None,
        created_at=handoff.created_at,
        waited_seconds=waited,
        target_seconds=queue.target_answer_seconds,
        escalated=unclaimed
        and waited > queue.target_answer_seconds
        and (callback_at is None or callback_at <= now),
        callback_at=callback_at,
        callback_keyed=context.callback_keyed if context else None,
        due=callback_at is None or callback_at <= now,
        task=(context.task or context.why or context.call_error) if context else None,
        claimed_by=handoff.claimed_by,
        routed_to=context.routed_to if context else None,
    )


def _order(item: WorkItem, priority: int) -> tuple[object, ...]:
    return (
        not item.due,
        not item.escalated,
        KIND_RANK.get(item.kind, 9),
        -priority,
        item.callback_at or item.created_at,
        item.id,
    )


def _in_queues(skills: Sequence[str], known: Mapping[str, QueueInfo], default: str) -> list[Any]:
    """Hand-offs served by these queues: routed to one of them, or (for the default queue)
    routed nowhere or to a queue that does not exist."""
    where: list[Any] = [col(HandOff.queue).in_([s for s in skills if s in known])]
    if default in skills:
        where += [col(HandOff.queue).is_(None), col(HandOff.queue).not_in(list(known))]
    return where


async def work_for(
    *, session: AsyncSession, agent: str, skills: Sequence[str], now: datetime
) -> WorkList:
    """The open hand-offs of the agent's queues, in the order to take them, and their own."""
    queues = await list_queues(session)
    by_key = {q.key: q for q in queues}
    default = next(q.key for q in queues if q.default)
    own = (
        await session.exec(
            select(HandOff)
            .where(col(HandOff.status).in_(HANDOFF_OPEN), col(HandOff.claimed_by) == agent)
            .order_by(col(HandOff.claimed_at), col(HandOff.id))
        )
    ).all()
    mine = [work_item(h, by_key[resolve(h.queue, by_key, default)], now) for h in own]
    served = [or_(*_in_queues(skills, by_key, default))] if skills else []
    rows = (
        (
            await session.exec(
                select(HandOff)
                .where(
                    col(HandOff.status).in_(UNCLAIMED),
                    col(HandOff.claimed_by).is_(None),
                    *served,
                )
                .order_by(col(HandOff.created_at), col(HandOff.id))
                .limit(WORK_LIMIT * 5)  # the oldest: every escalated one is among them
            )
        ).all()
        if served
        else []
    )
    waiting = [work_item(h, by_key[resolve(h.queue, by_key, default)], now) for h in rows]
    waiting.sort(key=lambda w: _order(w, by_key[w.queue].priority))
    return WorkList(waiting=waiting[:WORK_LIMIT], mine=mine, skills=list(skills), queues=queues)


# --- actions -------------------------------------------------------------------------------------


class ConsoleError(Exception):
    """What the agent is told when an action cannot be done (another agent took it, ...)."""


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    username: str
    any_queue: bool  # supervisors and admins may take work from every queue


async def _handoff(session: AsyncSession, handoff_id: int) -> HandOff:
    handoff = await session.get(HandOff, handoff_id)
    if handoff is None:
        raise ConsoleError("There is no such hand-off: it may have been removed.")
    return handoff


async def _may_serve(session: AsyncSession, agent: Agent, handoff: HandOff) -> None:
    if agent.any_queue:
        return
    queues = await list_queues(session)
    default = next(q.key for q in queues if q.default)
    queue = resolve(handoff.queue, [q.key for q in queues], default)
    if queue not in await skills_of(session, agent.id):
        raise ConsoleError(f"This is work for the {queue} queue, which you do not serve.")


async def claim(*, session: AsyncSession, agent: Agent, handoff_id: int, now: datetime) -> HandOff:
    """Take the hand-off: exactly one agent wins (alerts.lifecycle.claim_handoff); the winner
    is set on a call. Commits; raises ConsoleError for the others."""
    handoff = await _handoff(session, handoff_id)
    await _may_serve(session, agent, handoff)
    won = await claim_handoff(
        session, handoff, agent=agent.username, reason="taken in the agent console", now=now
    )
    if not won:
        await session.commit()  # the refused claim is part of its history
        raise ConsoleError(_not_claimed(handoff, agent))
    await set_agent_state(session=session, user_id=agent.id, state="on_call", now=now, commit=False)
    audit.record(
        session,
        kind="handoff",
        entity_id=handoff_id,
        action="claim",
        before={"status": "unclaimed"},
        after={"status": "claimed", "agent": agent.username},
    )
    await session.commit()
    logger.info("hand-off claimed handoff_id=%s agent=%s", handoff_id, agent.username)
    return handoff


def _not_claimed(handoff: HandOff, agent: Agent) -> str:
    who = handoff.claimed_by
    if who == agent.username:
        return "You already have this one."
    if who:
        return f"Too late: {who} took this one."
    return f"This can no longer be claimed: it is {handoff.status.replace('_', ' ')}."


def _own(handoff: HandOff, agent: Agent) -> None:
    if handoff.claimed_by != agent.username and not agent.any_queue:
        raise ConsoleError("Claim this hand-off first: it is not yours.")


async def add_note(
    *, session: AsyncSession, agent: Agent, handoff_id: int, text: str, now: datetime
) -> HandOff:
    """A note on the hand-off (in the customer's history); commits."""
    text = text.strip()[:NOTE_MAX]
    if not text:
        raise ConsoleError("Write the note first.")
    handoff = await _handoff(session, handoff_id)
    _own(handoff, agent)
    context = context_of(handoff)
    update_context(handoff, notes=[*context.notes, AgentNote(at=now, by=agent.username, text=text)])
    session.add(handoff)
    audit.record(session, kind="handoff", entity_id=handoff_id, action="note", after={"note": text})
    await session.commit()
    return handoff


async def complete(
    *,
    session: AsyncSession,
    agent: Agent,
    handoff_id: int,
    outcome: str,
    note: str = "",
    now: datetime,
) -> HandOff:
    """Close the hand-off with an outcome from the configured list (and an optional last
    note); the agent is available again. Commits."""
    handoff = await _handoff(session, handoff_id)
    _own(handoff, agent)
    outcomes = {o.key: o.label for o in await list_outcomes(session)}
    if outcome not in outcomes:
        raise ConsoleError("Choose an outcome from the list.")
    context = context_of(handoff)
    notes = list(context.notes)
    if note.strip():
        notes.append(AgentNote(at=now, by=agent.username, text=note.strip()[:NOTE_MAX]))
    before = handoff.status
    update_context(handoff, outcome=outcome, outcome_label=outcomes[outcome], notes=notes)
    if not move_handoff(
        session,
        handoff,
        "complete",
        reason=f"outcome: {outcomes[outcome]}",
        now=now,
        actor=agent.username,
    ):
        await session.commit()
        raise ConsoleError(f"This hand-off is already {before.replace('_', ' ')}.")
    await set_agent_state(
        session=session, user_id=agent.id, state="available", now=now, commit=False
    )
    audit.record(
        session,
        kind="handoff",
        entity_id=handoff_id,
        action="complete",
        before={"status": before},
        after={"status": "completed", "outcome": outcome},
    )
    await session.commit()
    logger.info(
        "hand-off completed handoff_id=%s agent=%s outcome=%s", handoff_id, agent.username, outcome
    )
    return handoff


CALLABLE = frozenset({"callback", "call_now", "task"})


async def call_back(*, deps: AlertDeps, agent: Agent, handoff_id: int) -> str:
    """Click-to-call: Herald calls the customer now through the voice channel and, when they
    answer, puts them through to the centre (callcentre.calls); what the agent is told."""
    async with deps.sessions() as session:
        handoff = await _handoff(session, handoff_id)
        _own(handoff, agent)
        if handoff.kind not in CALLABLE or handoff.status != "claimed":
            raise ConsoleError("Only a callback or a task you have claimed can be called.")
        audit.record(
            session,
            kind="handoff",
            entity_id=handoff_id,
            action="call",
            after={"by": agent.username},
        )
        await session.commit()
    placed = await call_customer_now(deps=deps, handoff_id=handoff_id)
    logger.info(
        "click-to-call handoff_id=%s agent=%s called=%s", handoff_id, agent.username, placed.called
    )
    if placed.called:
        return (
            f"Herald is placing the call ({placed.message}). When the customer answers, they are "
            "put through to the centre's line."
        )
    return f"Herald could not call now. The reason, as the customer would hear it: {placed.message}"
