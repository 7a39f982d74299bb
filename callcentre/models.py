"""Tables of the call centre: centres (hours), their queues, agents' skills and states, the
outcomes agents choose from, and the load a telephony platform pushes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from alerts.columns import UTCDateTime, utcnow

DEFAULT_QUEUE = "general"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The hours a centre has until an administrator sets them.
DEFAULT_HOURS: dict[str, Any] = {
    "timezone": "UTC",
    "weekly": {d: ["08:00-20:00"] for d in WEEKDAYS[:5]} | {"sat": ["09:00-17:00"]},
    "holidays": [],
}


class CentreConfig(SQLModel, table=True):
    """A call centre: its opening hours (weekly openings, holidays, time zone, in ``hours``)
    and the queue that takes work routed nowhere in particular. The first row is the centre
    the decisions and pacing read."""

    __tablename__ = "centre_config"

    id: int | None = Field(default=None, primary_key=True)
    hours: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # --- queues and agents (0012) ---
    key: str = Field(
        default="main", max_length=40, unique=True, sa_column_kwargs={"server_default": "main"}
    )
    name: str = Field(
        default="Customer Care",
        max_length=100,
        sa_column_kwargs={"server_default": "Customer Care"},
    )
    default_queue: str = Field(
        default=DEFAULT_QUEUE, max_length=40, sa_column_kwargs={"server_default": DEFAULT_QUEUE}
    )


class CallQueue(SQLModel, table=True):
    """A queue of a centre (general, fraud, billing, ...): a response option routes to it by
    its key; agents with the skill serve it; work waiting past its target is escalated."""

    __tablename__ = "call_queues"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    centre_id: int = Field(foreign_key="centre_config.id", index=True)
    name: str = Field(max_length=100)
    priority: int = 50  # higher is served first
    target_answer_seconds: int = 60
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # --- the supervisor board (0013): how many agents the supervisor wants on it ---
    agents_target: int | None = None


class AgentSkill(SQLModel, table=True):
    """An agent serves a queue."""

    __tablename__ = "agent_skills"
    __table_args__ = (sa.UniqueConstraint("user_id", "queue_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    queue_id: int = Field(foreign_key="call_queues.id", index=True)


class AgentState(SQLModel, table=True):
    """What an agent is doing, as they set it in the console; ``seen_at`` is the last moment
    their console was open (an agent whose console closed is not counted as available)."""

    __tablename__ = "agent_states"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    state: str = Field(default="away", max_length=20)  # available | on_call | wrap_up | away
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # The phone (E.164) routed live transfers are put through to (callcentre.routing); 0015.
    line: str | None = Field(default=None, max_length=40)


class HandOffOutcome(SQLModel, table=True):
    """One outcome an agent may close a hand-off with (the list is configurable)."""

    __tablename__ = "handoff_outcomes"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    label: str = Field(max_length=100)
    position: int = 0
    active: bool = True


class LoadSnapshot(SQLModel, table=True):
    """Real-time load as the telephony platform pushed it; the newest row is the current load."""

    __tablename__ = "centre_load"

    id: int | None = Field(default=None, primary_key=True)
    agents_logged_in: int
    agents_available: int
    queue_length: int
    longest_wait_seconds: float = 0.0
    received_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )


ALL_ALERT_TYPES = "*"


class VoicePause(SQLModel, table=True):
    """The voice kill switch: while a row exists, no call is placed for its alert type (``*``:
    for every alert type); the worker moves such a step on to the plan's next channel."""

    __tablename__ = "voice_pauses"

    id: int | None = Field(default=None, primary_key=True)
    alert_type: str = Field(max_length=100, unique=True)
    paused_by: str = Field(max_length=100)
    reason: str = Field(default="", max_length=300)
    paused_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
