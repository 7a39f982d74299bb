"""The supervisor board's figures, per queue, and its actions (queue targets, moving work).

``board`` reads, at ``now``: each queue's agents by state (consoles open in the last two
minutes), the transfers and other work waiting, today's service level (answered within the
queue's target, average speed of answer, abandoned live transfers against the 3 % ceiling),
and, per alert type, the pacer's current rate with its reason and the calls placed today.
"Today" is since midnight in the centre's time zone (its hours say which). ``Board.signature``
changes only when a figure does, so the live stream sends an update only then.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.models import Alert, AlertType, DeliveryAttempt, HandOff
from alerts.reports.handoffs import ABANDONED_TARGET
from callcentre.console import UNCLAIMED
from callcentre.live_pacing import VoicePacer
from callcentre.models import ALL_ALERT_TYPES, AgentSkill, AgentState, CallQueue
from callcentre.queues import (
    AGENT_STATES,
    PRESENT_FOR,
    QueueIn,
    check_queues,
    first_centre,
    list_queues,
    resolve,
    save_queue,
)
from callcentre.voice_switch import describe, list_pauses

TRANSFERS: Final = ("live_transfer", "call_now")  # a customer on the line, waiting now
ANSWERED: Final = ("claimed", "connected", "completed")


@dataclass(frozen=True, slots=True)
class WaitingItem:
    id: int
    kind: str
    queue: str
    customer: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueueBoard:
    key: str
    name: str
    target_answer_seconds: int
    agents_target: int | None
    agents: dict[str, int]  # state -> agents with the skill whose console is open
    waiting_transfers: int
    waiting_other: int  # callbacks and tasks
    oldest_waiting: datetime | None
    answered_today: int
    within_target_today: int
    average_answer_seconds: float | None
    transfers_today: int
    abandoned_today: int

    @property
    def present(self) -> int:
        return sum(n for s, n in self.agents.items() if s != "away")

    @property
    def within_target_share(self) -> float | None:
        return self.within_target_today / self.answered_today if self.answered_today else None

    @property
    def abandoned_share(self) -> float | None:
        return self.abandoned_today / self.transfers_today if self.transfers_today else None

    @property
    def over_ceiling(self) -> bool:
        return (self.abandoned_share or 0.0) > ABANDONED_TARGET


@dataclass(frozen=True, slots=True)
class AlertTypeBoard:
    key: str
    name: str
    calls_today: int
    rate_per_minute: float | None  # None: pacing is off (only the provider's limit applies)
    reason: str
    paused: str | None  # why voice is paused for it, or None


@dataclass(frozen=True, slots=True)
class Board:
    now: datetime
    since: datetime
    queues: list[QueueBoard]
    alert_types: list[AlertTypeBoard]
    all_paused: str | None
    waiting: list[WaitingItem] = field(default_factory=list)
    zone: str = "UTC"  # the centre's time zone: "today" starts at its midnight

    def signature(self) -> tuple[object, ...]:
        return (
            tuple(self.queues),
            tuple(self.alert_types),
            self.all_paused,
            tuple(self.waiting),
        )


def _midnight(now: datetime, zone: str) -> datetime:
    """00:00 of ``now``'s day in ``zone``, as a UTC moment."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


async def _centre_zone(session: AsyncSession) -> str:
    centre = await first_centre(session)
    hours = centre.hours if centre is not None and isinstance(centre.hours, dict) else {}
    zone = hours.get("timezone")
    return zone if isinstance(zone, str) and zone else "UTC"


async def _agents(session: AsyncSession, now: datetime) -> dict[str, Counter[str]]:
    rows = (
        await session.exec(
            select(CallQueue.key, AgentState.state)
            .join(AgentSkill, col(AgentSkill.queue_id) == col(CallQueue.id))
            .join(AgentState, col(AgentState.user_id) == col(AgentSkill.user_id))
            .where(col(AgentState.seen_at) >= now - PRESENT_FOR)
        )
    ).all()
    found: dict[str, Counter[str]] = {}
    for key, state in rows:
        found.setdefault(key, Counter())[state] += 1
    return found


async def _alert_types(
    session: AsyncSession, now: datetime, since: datetime, pacer: VoicePacer | None
) -> tuple[list[AlertTypeBoard], str | None]:
    pauses = {p.alert_type: p for p in await list_pauses(session)}
    everything = pauses.get(ALL_ALERT_TYPES)
    calls = dict(
        (
            await session.exec(
                select(Alert.alert_type, func.count())
                .select_from(DeliveryAttempt)
                .join(Alert, col(Alert.id) == col(DeliveryAttempt.alert_id))
                .where(
                    DeliveryAttempt.channel == "voice",
                    col(DeliveryAttempt.provider_sid).is_not(None),
                    col(DeliveryAttempt.created_at) >= since,
                )
                .group_by(col(Alert.alert_type))
            )
        ).all()
    )
    types = (await session.exec(select(AlertType).order_by(col(AlertType.key)))).all()
    names = {t.key: t.name for t in types}
    out = []
    for key in sorted(set(names) | set(calls)):
        pause = everything or pauses.get(key)
        if pause is not None:
            rate: float | None = 0.0
            reason = describe(pause)
        elif pacer is None:
            rate, reason = None, "pacing is off: calls go at the provider's limit"
        else:
            decision = await pacer.rate(session, key, now)
            rate, reason = decision.rate_per_s * 60, decision.reason
        out.append(
            AlertTypeBoard(
                key=key,
                name=names.get(key, key),
                calls_today=int(calls.get(key, 0)),
                rate_per_minute=rate,
                reason=reason,
                paused=describe(pauses[key]) if key in pauses else None,
            )
        )
    return out, describe(everything) if everything else None


async def board(*, session: AsyncSession, now: datetime, pacer: VoicePacer | None = None) -> Board:
    """Every queue's figures and every alert type's pacing at ``now`` (today: since 00:00 in
    the centre's time zone)."""
    zone = await _centre_zone(session)
    since = _midnight(now, zone)
    queues = await list_queues(session)
    keys = [q.key for q in queues]
    default = next(q.key for q in queues if q.default)
    targets = dict((await session.exec(select(CallQueue.key, CallQueue.agents_target))).all())
    agents = await _agents(session, now)
    open_rows = (
        await session.exec(
            select(HandOff)
            .where(col(HandOff.status).in_(UNCLAIMED), col(HandOff.claimed_by).is_(None))
            .order_by(col(HandOff.created_at))
        )
    ).all()
    today = (await session.exec(select(HandOff).where(col(HandOff.created_at) >= since))).all()
    waiting = [
        WaitingItem(
            id=h.id or 0,
            kind=h.kind,
            queue=resolve(h.queue, keys, default),
            customer=_customer(h),
            created_at=h.created_at,
        )
        for h in open_rows
    ]
    out = []
    for q in queues:
        mine = [w for w in waiting if w.queue == q.key]
        day = [h for h in today if resolve(h.queue, keys, default) == q.key]
        waits = [
            max(0.0, (h.claimed_at - h.created_at).total_seconds())
            for h in day
            if h.claimed_at is not None and h.status in ANSWERED
        ]
        transfers = [h for h in day if h.kind in TRANSFERS]
        out.append(
            QueueBoard(
                key=q.key,
                name=q.name,
                target_answer_seconds=q.target_answer_seconds,
                agents_target=targets.get(q.key),
                agents={s: agents.get(q.key, Counter())[s] for s in AGENT_STATES},
                waiting_transfers=sum(1 for w in mine if w.kind in TRANSFERS),
                waiting_other=sum(1 for w in mine if w.kind not in TRANSFERS),
                oldest_waiting=mine[0].created_at if mine else None,
                answered_today=len(waits),
                within_target_today=sum(1 for w in waits if w <= q.target_answer_seconds),
                average_answer_seconds=round(sum(waits) / len(waits), 1) if waits else None,
                transfers_today=len(transfers),
                abandoned_today=sum(1 for h in transfers if h.status == "abandoned"),
            )
        )
    types, everything = await _alert_types(session, now, since, pacer)
    return Board(now, since, out, types, everything, waiting, zone)


def _customer(handoff: HandOff) -> str:
    ctx = handoff.context if isinstance(handoff.context, dict) else {}
    customer = ctx.get("customer")
    if isinstance(customer, dict):
        name = customer.get("name") or customer.get("ref")
        if isinstance(name, str) and name:
            return name
    return f"hand-off {handoff.id}"


# --- actions -------------------------------------------------------------------------------------


class QueueTargetsIn(BaseModel):
    """A queue's targets as a supervisor sets them on the board."""

    target_answer_seconds: int = Field(ge=1, le=86400)
    agents_target: int | None = Field(default=None, ge=0, le=10000)


class BoardError(ValueError):
    """An action the board refuses, with words for the supervisor."""


async def set_queue_targets(*, session: AsyncSession, key: str, targets: QueueTargetsIn) -> None:
    """Change a queue's target answer time and agents target (storing an implicit default
    queue first); audited, commits."""
    info = next((q for q in await list_queues(session) if q.key == key), None)
    if info is None:
        raise BoardError(f"There is no queue {key!r}.")
    row = (await session.exec(select(CallQueue).where(CallQueue.key == key))).first()
    if row is None:
        row = await save_queue(session=session, key=key, queue=QueueIn(name=info.name))
    before = {
        "target_answer_seconds": row.target_answer_seconds,
        "agents_target": row.agents_target,
    }
    row.target_answer_seconds = targets.target_answer_seconds
    row.agents_target = targets.agents_target
    session.add(row)
    audit.record(
        session,
        kind="call_queue",
        entity_id=key,
        action="targets",
        before=before,
        after=targets.model_dump(),
    )
    await session.commit()


async def move_waiting(*, session: AsyncSession, handoff_id: int, queue: str) -> HandOff:
    """Move a hand-off nobody has taken yet to another queue; audited, commits."""
    try:
        await check_queues(session, [queue])
    except ValueError as exc:
        raise BoardError(f"Choose a queue: {exc}.") from exc
    row = await session.get(HandOff, handoff_id)
    if row is None:
        raise BoardError(f"There is no hand-off {handoff_id}.")
    if row.status not in UNCLAIMED or row.claimed_by is not None:
        who = f" ({row.claimed_by} took it)" if row.claimed_by else ""
        raise BoardError(f"Hand-off {handoff_id} is no longer waiting{who}; it was not moved.")
    before = row.queue
    row.queue = queue
    session.add(row)
    audit.record(
        session,
        kind="handoff",
        entity_id=handoff_id,
        action="move_queue",
        before={"queue": before},
        after={"queue": queue},
    )
    await session.commit()
    return row
