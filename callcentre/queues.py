"""Centres, their queues, agents' skills and states, and the outcomes agents close work with.

A set-up that never configured queues has one centre with one queue, ``general``, its default
queue: ``list_queues`` shows it even before a row exists, and every hand-off routed nowhere in
particular (or to a key no queue has) is served by the default queue (``resolve``).

Agents set their state in the console (available, on a call, wrap-up, away); ``seen_at`` is
refreshed while the console is open, so an agent who closed it is not counted as available.
``console_load`` is the load the rules and the pacer read when no telephony platform pushes one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.lifecycle import HANDOFF
from alerts.models import HandOff, User
from callcentre.models import (
    DEFAULT_HOURS,
    DEFAULT_QUEUE,
    AgentSkill,
    AgentState,
    CallQueue,
    CentreConfig,
    HandOffOutcome,
)

AGENT_STATES: Final[dict[str, str]] = {
    "available": "Available",
    "on_call": "On a call",
    "wrap_up": "Wrap-up",
    "away": "Away",
}
PRESENT_FOR = timedelta(minutes=2)  # a console not seen for this long counts as logged out
QUEUE_KEY = r"^[a-z][a-z0-9_-]{0,39}$"


@dataclass(frozen=True, slots=True)
class QueueInfo:
    key: str
    name: str
    priority: int
    target_answer_seconds: int
    centre: str
    default: bool


class QueueIn(BaseModel):
    """A queue as a supervisor writes it."""

    name: str = Field(min_length=1, max_length=100)
    priority: int = Field(default=50, ge=0, le=100)
    target_answer_seconds: int = Field(default=60, ge=1, le=86400)
    centre: str | None = Field(
        default=None,
        pattern=QUEUE_KEY,
        max_length=40,
        description="the centre it belongs to (its hours); a new queue without one: the first",
    )


class UnknownCentre(ValueError):
    pass


async def first_centre(session: AsyncSession) -> CentreConfig | None:
    return (await session.exec(select(CentreConfig).order_by(col(CentreConfig.id)))).first()


async def list_queues(session: AsyncSession) -> list[QueueInfo]:
    """Every queue, highest priority first; the implicit ``general`` queue when none is stored."""
    centres = {c.id: c for c in (await session.exec(select(CentreConfig))).all()}
    rows = (
        await session.exec(
            select(CallQueue).order_by(col(CallQueue.priority).desc(), col(CallQueue.key))
        )
    ).all()
    default = await default_queue(session)
    found = [
        QueueInfo(
            key=q.key,
            name=q.name,
            priority=q.priority,
            target_answer_seconds=q.target_answer_seconds,
            centre=centres[q.centre_id].key if q.centre_id in centres else "main",
            default=q.key == default,
        )
        for q in rows
    ]
    if not any(q.key == default for q in found):
        found.append(
            QueueInfo(default, default.replace("_", " ").capitalize(), 50, 20, "main", True)
        )
    return found


async def default_queue(session: AsyncSession) -> str:
    centre = await first_centre(session)
    return centre.default_queue if centre else DEFAULT_QUEUE


def resolve(queue: str | None, known: Iterable[str], default: str) -> str:
    """The queue that serves a hand-off routed to ``queue``: itself if it exists, else the
    default queue."""
    return queue if queue and queue in set(known) else default


async def save_queue(*, session: AsyncSession, key: str, queue: QueueIn) -> CallQueue:
    """Create or change a queue of the (first) centre, creating the centre row if there is
    none yet (with the hours the rules already read: nothing changes); commits."""
    row = await _store_queue(session, key, queue)
    await session.commit()
    return row


async def _store_queue(session: AsyncSession, key: str, queue: QueueIn) -> CallQueue:
    if queue.centre is not None:
        centre = (
            await session.exec(select(CentreConfig).where(CentreConfig.key == queue.centre))
        ).first()
        if centre is None:
            raise UnknownCentre(f"no such centre: {queue.centre}")
    else:
        centre = await first_centre(session)
    if centre is None:
        centre = CentreConfig(hours=dict(DEFAULT_HOURS))
        session.add(centre)
        await session.flush()
    assert centre.id is not None
    row = (await session.exec(select(CallQueue).where(CallQueue.key == key))).first()
    before = _queue_dict(row) if row else None
    row = row or CallQueue(key=key, centre_id=centre.id, name=queue.name)
    if queue.centre is not None:
        row.centre_id = centre.id
    row.name, row.priority = queue.name, queue.priority
    row.target_answer_seconds = queue.target_answer_seconds
    session.add(row)
    audit.record(
        session,
        kind="call_queue",
        entity_id=key,
        action="save",
        before=before,
        after=_queue_dict(row),
    )
    await session.flush()
    return row


def _queue_dict(row: CallQueue) -> dict[str, object]:
    return {
        "centre_id": row.centre_id,
        "name": row.name,
        "priority": row.priority,
        "target_answer_seconds": row.target_answer_seconds,
    }


# --- agents: skills and states -------------------------------------------------------------------


async def skills_of(session: AsyncSession, user_id: int) -> list[str]:
    """The queues the agent serves (keys)."""
    rows = (
        await session.exec(
            select(CallQueue.key)
            .join(AgentSkill, col(AgentSkill.queue_id) == col(CallQueue.id))
            .where(AgentSkill.user_id == user_id)
            .order_by(col(CallQueue.key))
        )
    ).all()
    return list(rows)


class UnknownQueues(ValueError):
    pass


async def check_queues(session: AsyncSession, keys: Sequence[str]) -> None:
    """UnknownQueues unless every key is a queue (the implicit default queue counts)."""
    missing = set(keys) - {q.key for q in await list_queues(session)}
    if missing:
        raise UnknownQueues(f"no such queue: {', '.join(sorted(missing))}")


async def set_skills(*, session: AsyncSession, user: User, queues: Sequence[str]) -> list[str]:
    """Replace the agent's skills with ``queues`` (existing queue keys; the default queue is
    stored on first use if it was only implicit); commits."""
    assert user.id is not None
    wanted = sorted(set(queues))
    await check_queues(session, wanted)
    default = await default_queue(session)
    rows = list((await session.exec(select(CallQueue).where(col(CallQueue.key).in_(wanted)))).all())
    if default in wanted and default not in {q.key for q in rows}:
        rows.append(await _store_queue(session, default, QueueIn(name=default.capitalize())))
    before = await skills_of(session, user.id)
    for old in (await session.exec(select(AgentSkill).where(AgentSkill.user_id == user.id))).all():
        await session.delete(old)
    await session.flush()
    for q in rows:
        assert q.id is not None
        session.add(AgentSkill(user_id=user.id, queue_id=q.id))
    audit.record(
        session,
        kind="agent_skills",
        entity_id=user.username,
        action="save",
        before={"skills": before},
        after={"skills": wanted},
    )
    await session.commit()
    return wanted


class UnknownAgent(LookupError):
    pass


async def set_skills_of(
    *, session: AsyncSession, username: str, queues: Sequence[str]
) -> list[str]:
    """``set_skills`` for the user called ``username`` (UnknownAgent when there is none)."""
    user = (
        await session.exec(select(User).where(User.username == username.strip().lower()))
    ).first()
    if user is None:
        raise UnknownAgent(f"no user {username!r}")
    return await set_skills(session=session, user=user, queues=queues)


async def agent_state(session: AsyncSession, user_id: int) -> AgentState | None:
    return (await session.exec(select(AgentState).where(AgentState.user_id == user_id))).first()


async def set_agent_state(
    *, session: AsyncSession, user_id: int, state: str, now: datetime, commit: bool = True
) -> AgentState:
    """The agent's state, as they set it (or a claim / completion set it for them)."""
    if state not in AGENT_STATES:
        raise ValueError(f"unknown agent state {state!r}; one of {', '.join(AGENT_STATES)}")
    row = await agent_state(session, user_id) or AgentState(user_id=user_id, changed_at=now)
    if row.state != state:
        row.state, row.changed_at = state, now
    row.seen_at = now
    session.add(row)
    if commit:
        await session.commit()
    return row


async def seen(*, session: AsyncSession, user_id: int, now: datetime) -> None:
    """The agent's console is open (called by its live stream); commits."""
    row = await agent_state(session, user_id)
    if row is not None:
        row.seen_at = now
        session.add(row)
        await session.commit()


@dataclass(frozen=True, slots=True)
class QueueLoad:
    """A queue's load as the console sees it: agents with the skill and work waiting."""

    queue: str
    logged_in: int
    available: int
    waiting: int
    longest_wait_seconds: float
    default: bool = False  # the default queue (serves unrouted and unknown-queue work)


async def queue_loads(session: AsyncSession, now: datetime) -> dict[str, QueueLoad]:
    """Per queue: agents present (console seen lately) with the skill, how many available,
    and the unclaimed hand-offs waiting for it."""
    queues = await list_queues(session)
    keys = [q.key for q in queues]
    default = next(q.key for q in queues if q.default)
    present = (
        await session.exec(
            select(CallQueue.key, AgentState.state)
            .join(AgentSkill, col(AgentSkill.queue_id) == col(CallQueue.id))
            .join(AgentState, col(AgentState.user_id) == col(AgentSkill.user_id))
            .where(col(AgentState.seen_at) >= now - PRESENT_FOR, AgentState.state != "away")
        )
    ).all()
    waiting = (
        await session.exec(
            select(HandOff.queue, func.count(), func.min(HandOff.created_at))
            .where(
                col(HandOff.status).in_(HANDOFF.sources("claim")), col(HandOff.claimed_by).is_(None)
            )
            .group_by(col(HandOff.queue))
        )
    ).all()
    counts: dict[str, list[int]] = {k: [0, 0] for k in keys}
    for key, state in present:
        counts[key][0] += 1
        counts[key][1] += state == "available"
    queued: dict[str, tuple[int, float]] = {}
    for raw, n, oldest in waiting:
        key = resolve(raw, keys, default)
        n0, w0 = queued.get(key, (0, 0.0))
        wait = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        queued[key] = (n0 + int(n), max(w0, wait))
    return {
        k: QueueLoad(k, counts[k][0], counts[k][1], *queued.get(k, (0, 0.0)), k == default)
        for k in keys
    }


async def console_load(session: AsyncSession, now: datetime) -> QueueLoad | None:
    """The whole centre's load from the agents' consoles (distinct agents), or None when no
    agent's console is open (then only a pushed load, or none, says anything)."""
    states = (
        await session.exec(
            select(AgentState.state).where(
                col(AgentState.seen_at) >= now - PRESENT_FOR, AgentState.state != "away"
            )
        )
    ).all()
    present_any = (
        await session.exec(
            select(func.count())
            .select_from(AgentState)
            .where(col(AgentState.seen_at) >= now - PRESENT_FOR)
        )
    ).one()
    if not present_any:
        return None
    loads = (await queue_loads(session, now)).values()
    return QueueLoad(
        queue="*",
        logged_in=len(states),
        available=sum(1 for s in states if s == "available"),
        waiting=sum(q.waiting for q in loads),
        longest_wait_seconds=max((q.longest_wait_seconds for q in loads), default=0.0),
    )


# --- outcomes ------------------------------------------------------------------------------------


class OutcomeIn(BaseModel):
    key: str = Field(pattern=QUEUE_KEY, max_length=40)
    label: str = Field(min_length=1, max_length=100)
    active: bool = True


async def list_outcomes(session: AsyncSession, *, active_only: bool = True) -> list[HandOffOutcome]:
    query = select(HandOffOutcome).order_by(col(HandOffOutcome.position), col(HandOffOutcome.id))
    if active_only:
        query = query.where(col(HandOffOutcome.active).is_(True))
    return list((await session.exec(query)).all())


async def save_outcomes(
    *, session: AsyncSession, outcomes: Sequence[OutcomeIn]
) -> list[HandOffOutcome]:
    """Replace the list agents choose from, in this order; an outcome left out is kept but
    switched off (hand-offs closed with it still name it); commits."""
    rows = {o.key: o for o in await list_outcomes(session, active_only=False)}
    before = {k: {"label": r.label, "active": r.active} for k, r in rows.items()}
    given = {o.key for o in outcomes}
    for position, item in enumerate(outcomes):
        row = rows.get(item.key) or HandOffOutcome(key=item.key, label=item.label)
        row.label, row.active, row.position = item.label, item.active, position
        session.add(row)
    for key, row in rows.items():
        if key not in given:
            row.active = False
            session.add(row)
    after = {o.key: {"label": o.label, "active": o.active} for o in outcomes}
    audit.record(
        session,
        kind="handoff_outcomes",
        entity_id="outcomes",
        action="save",
        before=before,
        after=after,
    )
    await session.commit()
    return await list_outcomes(session, active_only=False)
