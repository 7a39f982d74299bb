"""Live transfers put through to one agent: the available agent of the queue, on their own line.

When a customer presses "agent" in a call, ``StoredAgentRouter.route`` (the alert domain's
``alerts.ports.AgentRouter``) picks, among the agents with the hand-off's queue as a skill whose
console is open (seen in the last two minutes), set *Available* and with a line (an E.164
phone number they set in the console), the one who has been available longest. Two steps,
each a compare-and-set, keep it exact under concurrency: the agent is set *On a call* only if
still available (two transfers at once never ring the same agent), then the hand-off is claimed
for them only if nobody claimed it (the console's claim rule, alerts.lifecycle.claim_handoff).
The call is then dialled to the agent's line (alerts.responses.transfers), so the routed agent's
console gets the screen-pop and no other agent's list shows the transfer. With nobody to route
to, the transfer rings the centre's number or waits in its queue, as before.

A studio trial's hand-off is closed when it is created (alerts.responses.handoffs): it is never
routed.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.lifecycle import claim_handoff
from alerts.models import HandOff, User
from alerts.responses.values import update_context
from callcentre.models import AgentSkill, AgentState, CallQueue
from callcentre.queues import PRESENT_FOR, agent_state, list_queues, resolve

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class LineError(ValueError):
    """A line that is not a phone number in international form."""


def check_line(raw: str) -> str | None:
    """The line as stored ("" clears it), or LineError saying what is wrong."""
    line = re.sub(r"[\s().-]", "", raw)
    if not line:
        return None
    if not E164.match(line):
        raise LineError(
            f"“{raw.strip()}” is not a phone number in international form: start with + and "
            "the country code, e.g. +31201234567."
        )
    return line


async def set_agent_line(
    *, session: AsyncSession, user_id: int, raw: str, now: datetime
) -> str | None:
    """The phone the agent takes routed transfers on (None: none, transfers ring the centre);
    audited; commits. LineError for anything but an E.164 number."""
    line = check_line(raw)
    row = await agent_state(session, user_id) or AgentState(user_id=user_id, changed_at=now)
    before = row.line
    row.line, row.seen_at = line, now
    session.add(row)
    audit.record(
        session,
        kind="agent_line",
        entity_id=str(user_id),
        action="set" if line else "clear",
        before={"line": before},
        after={"line": line},
    )
    await session.commit()
    return line


async def _candidates(session: AsyncSession, queue: str, now: datetime) -> list[tuple[int, str]]:
    """(user id, username) of the queue's agents who could take a call now, the one available
    longest first."""
    rows = await session.exec(
        select(AgentState.user_id, User.username)
        .join(User, col(User.id) == col(AgentState.user_id))
        .join(AgentSkill, col(AgentSkill.user_id) == col(AgentState.user_id))
        .join(CallQueue, col(CallQueue.id) == col(AgentSkill.queue_id))
        .where(
            CallQueue.key == queue,
            AgentState.state == "available",
            col(AgentState.seen_at) >= now - PRESENT_FOR,
            col(AgentState.line).is_not(None),
            col(User.disabled).is_(False),
        )
        .order_by(col(AgentState.changed_at), col(AgentState.user_id))
    )
    return [(user_id, username) for user_id, username in rows.all()]


async def _reserve(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Set the agent on a call, if they are still available (one transfer per agent)."""
    result = await session.exec(
        update(AgentState)
        .where(col(AgentState.user_id) == user_id, col(AgentState.state) == "available")
        .values(state="on_call", changed_at=now, seen_at=now)
    )
    return bool(result.rowcount)


class StoredAgentRouter:
    """alerts.ports.AgentRouter on the agents' states, skills and lines in the database."""

    async def route(self, session: AsyncSession, handoff_id: int, now: datetime) -> str | None:
        handoff = await session.get(HandOff, handoff_id)
        if handoff is None or handoff.status != "queued" or handoff.claimed_by is not None:
            return None
        queues = await list_queues(session)
        default = next(q.key for q in queues if q.default)
        queue = resolve(handoff.queue, [q.key for q in queues], default)
        for user_id, username in await _candidates(session, queue, now):
            if not await _reserve(session, user_id, now):
                continue  # another transfer took them a moment ago
            reason = "routed to the available agent's line"
            state = await agent_state(session, user_id)
            if not await claim_handoff(session, handoff, agent=username, reason=reason, now=now):
                if state is not None:  # an agent claimed it in the console meanwhile
                    state.state = "available"
                    session.add(state)
                return None
            line = state.line if state else None
            update_context(handoff, routed_to=username)
            session.add(handoff)
            logger.info(
                "live transfer routed handoff_id=%s queue=%s agent=%s", handoff_id, queue, username
            )
            return line
        logger.info(
            "live transfer not routed handoff_id=%s queue=%s: nobody free", handoff_id, queue
        )
        return None

    async def line_of(self, session: AsyncSession, agent: str) -> str | None:
        found = (
            await session.exec(
                select(AgentState.line)
                .join(User, col(User.id) == col(AgentState.user_id))
                .where(User.username == agent)
            )
        ).first()
        return found

    async def line_ended(
        self, session: AsyncSession, agent: str, *, missed: bool, now: datetime
    ) -> None:
        user = (await session.exec(select(User).where(User.username == agent))).first()
        state = await agent_state(session, user.id) if user and user.id else None
        wanted = "away" if missed else "available"
        if state is not None and state.state != wanted:
            state.state, state.changed_at = wanted, now
            session.add(state)
