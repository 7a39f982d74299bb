"""The reports' own table (inbound calls per day and reason) and the indexes their queries need."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from alerts.columns import UTCDateTime, utcnow
from alerts.models import Alert, Decision, DeliveryAttempt, PreferenceChange


class InboundCallCount(SQLModel, table=True):
    """How many calls the telephony system received on one day for one reason; ``alert_type`` is
    the Herald alert type the reason is about ("" when none). Re-importing a day and reason
    replaces its count (a corrected export), so an import can be repeated safely."""

    __tablename__ = "inbound_call_counts"
    __table_args__ = (
        sa.UniqueConstraint("day", "reason"),
        sa.Index("ix_inbound_call_counts_type_day", "alert_type", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    reason: str = Field(max_length=100)
    alert_type: str = Field(default="", max_length=64)
    calls: int
    source: str = Field(default="", max_length=200)  # the imported file's name
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# The reports group and filter by alert type and time: these indexes keep them to index ranges
# (the tables themselves live in alerts.models; the indexes belong to the reports that need them).
_alerts = Alert.__table__  # type: ignore[attr-defined]
_decisions = Decision.__table__  # type: ignore[attr-defined]
_attempts = DeliveryAttempt.__table__  # type: ignore[attr-defined]
_changes = PreferenceChange.__table__  # type: ignore[attr-defined]
REPORT_INDEXES = (
    sa.Index("ix_alerts_type_created", _alerts.c.alert_type, _alerts.c.created_at),
    sa.Index("ix_decisions_type_created", _decisions.c.alert_type, _decisions.c.created_at),
    sa.Index("ix_delivery_attempts_created", _attempts.c.created_at),
    sa.Index("ix_preference_changes_created", _changes.c.created_at),
)
