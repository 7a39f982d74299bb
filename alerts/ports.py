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
