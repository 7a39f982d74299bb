"""What the alert domain asks of the call centre: small protocols the composition root wires.

``alerts`` never imports ``callcentre``: it calls these ports, and ``herald.runtime`` hands in
``callcentre``'s implementations. A test may hand in its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from rules.centre import CentreHours, CentreView


class CallCentre(Protocol):
    """The call centre as the decisions read it: opening hours and the live load."""

    async def hours(self, session: AsyncSession) -> CentreHours:
        """The stored opening hours (weekly openings, holidays, zone)."""
        ...

    async def view(
        self, session: AsyncSession, now: datetime, queue: str | None = None
    ) -> CentreView:
        """Open now or not, when it next opens, and the live load: the last pushed one while
        fresh (the whole centre), else the agents' consoles' (of ``queue`` when given)."""
        ...


class Pacer(Protocol):
    """Paces voice alerts that offer an agent, by the centre's capacity."""

    async def release(
        self, *, session: AsyncSession, alert_type: str, now: datetime
    ) -> tuple[float, str, bool]:
        """Seconds until this call may be placed (0 = now), why, and whether that slot is
        reserved for it (False: paused, ask again after the wait)."""
        ...


class VoiceSwitch(Protocol):
    """The supervisor's voice kill switch, read before each call is placed."""

    async def paused(self, session: AsyncSession, alert_type: str) -> str | None:
        """Why voice is paused for ``alert_type`` (for it, or for every alert type), or None."""
        ...


class AgentRouter(Protocol):
    """Puts a live transfer through to one agent (their own line) instead of the centre's
    number: the available agent of the hand-off's queue who has waited longest."""

    async def route(self, session: AsyncSession, handoff_id: int, now: datetime) -> str | None:
        """Claim the (queued, unclaimed, not trial) hand-off for an available agent of its
        queue who has a line, set them on a call, and return the line (an E.164 number);
        None when nobody is available (the centre's number or queue takes the call). Does
        not commit."""
        ...

    async def line_of(self, session: AsyncSession, agent: str) -> str | None:
        """The line of the agent with this username, if they set one."""
        ...

    async def line_ended(
        self, session: AsyncSession, agent: str, *, missed: bool, now: datetime
    ) -> None:
        """A transfer put through to the agent ended before they talked: ``missed`` (their
        line did not answer) sets them away, so the next one is not offered to them; else
        (the customer hung up first) they are available again. Does not commit."""
        ...
