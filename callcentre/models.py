"""Tables of the call centre: opening hours and the load its telephony platform pushes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from alerts.columns import UTCDateTime, utcnow


class CentreConfig(SQLModel, table=True):
    """The call centre's opening hours (one row): weekly openings, holidays, special days."""

    __tablename__ = "centre_config"

    id: int | None = Field(default=None, primary_key=True)
    hours: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


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
