"""The reports' own table (inbound calls per day and reason) and the indexes their queries need."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from alerts.columns import UTCDateTime, utcnow
from alerts.models import Alert, Decision, DeliveryAttempt, HandOff, PreferenceChange


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
_handoffs = HandOff.__table__  # type: ignore[attr-defined]
REPORT_INDEXES = (
    sa.Index("ix_alerts_type_created", _alerts.c.alert_type, _alerts.c.created_at),
    sa.Index("ix_decisions_type_created", _decisions.c.alert_type, _decisions.c.created_at),
    sa.Index("ix_delivery_attempts_created", _attempts.c.created_at),
    sa.Index("ix_preference_changes_created", _changes.c.created_at),
    # 0015: a run of days of every alert type (the rollup's build, today's raw part) is a range
    # of these; by (alert_type, created_at) it was a scan of the whole table.
    sa.Index("ix_alerts_created", _alerts.c.created_at),
    sa.Index("ix_decisions_created", _decisions.c.created_at),
    sa.Index("ix_handoffs_created", _handoffs.c.created_at),
)


# --- the daily rollups (alerts.reports.rollup keeps them; docs/reports.md, "Performance") -------
# One row per UTC day and group; a day is rebuilt whole (delete, then INSERT ... SELECT from the
# raw tables with the reports' own expressions), so a rebuild is idempotent. A day is in the
# rollup only once it is over and has a row in report_rollup_days; the reports read every other
# day (today, and days changed since the last refresh) from the raw tables.


class RollupDay(SQLModel, table=True):
    """A UTC day whose rollup rows are built and current as of ``built_at``."""

    __tablename__ = "report_rollup_days"

    day: date = Field(primary_key=True)
    built_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RollupMark(SQLModel, table=True):
    """How far the refresh has read each append-only source table (its last id), and when."""

    __tablename__ = "report_rollup_marks"

    source: str = Field(primary_key=True, max_length=40)
    last_id: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RollupCustomer(SQLModel, table=True):
    """Each customer's language and segment as the rollup grouped them: a customer whose
    language or segment changed since has the days of their alerts rebuilt."""

    __tablename__ = "report_rollup_customers"

    customer_id: int = Field(primary_key=True)
    locale: str | None = Field(default=None, max_length=20)
    segment: str | None = Field(default=None, max_length=40)


class RollupAlertDay(SQLModel, table=True):
    """Alerts raised on ``day`` per alert type, first channel tried, customer's language and
    segment: how far they went (the funnel), per channel reached and answered (response rates),
    how they ended (delivery health) and how many served themselves (calls avoided)."""

    __tablename__ = "report_alert_days"
    __table_args__ = (sa.Index("ix_report_alert_days_day", "day", "alert_type"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    alert_type: str = Field(max_length=64)
    channel: str | None = Field(default=None, max_length=10)  # None: nothing was attempted
    language: str | None = Field(default=None, max_length=20)
    segment: str | None = Field(default=None, max_length=40)
    alerts: int = 0
    sent: int = 0
    delivered: int = 0
    responded: int = 0
    routed: int = 0
    resolved: int = 0
    expired: int = 0
    failed: int = 0
    self_served: int = 0
    provider_retries: int = 0
    reached_voice: int = 0
    answered_voice: int = 0
    reached_sms: int = 0
    answered_sms: int = 0
    reached_email: int = 0
    answered_email: int = 0


class RollupDecisionDay(SQLModel, table=True):
    """Events decided on ``day`` per alert type, customer's language and segment, and what
    became of them: ``why`` is "" for an alert, else the skip category."""

    __tablename__ = "report_decision_days"
    __table_args__ = (sa.Index("ix_report_decision_days_day", "day", "alert_type"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    alert_type: str = Field(max_length=64)
    language: str | None = Field(default=None, max_length=20)
    segment: str | None = Field(default=None, max_length=40)
    why: str = Field(default="", max_length=60)
    decisions: int = 0


class RollupAttemptDay(SQLModel, table=True):
    """Delivery attempts made on ``day`` per alert type, channel, last status and (for failed
    ones) error, with how many were retries and fallbacks."""

    __tablename__ = "report_attempt_days"
    __table_args__ = (sa.Index("ix_report_attempt_days_day", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    alert_type: str = Field(max_length=64)
    channel: str = Field(max_length=10)
    status: str = Field(max_length=20)
    error: str = Field(default="", max_length=500)  # "" unless the attempt failed
    attempts: int = 0
    retries: int = 0
    fallbacks: int = 0


class RollupTiming(SQLModel, table=True):
    """One measured time of ``day`` (a percentile needs every value, not a sum): ``kind`` is
    ``respond`` (attempt start to answer; ``key`` the channel) or ``first_attempt`` (event to
    first attempt) for alerts raised that day, or ``handoff_wait`` (created to taken; ``key``
    the hand-off kind) for hand-offs created that day."""

    __tablename__ = "report_timings"
    __table_args__ = (sa.Index("ix_report_timings_kind_day", "kind", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    day: date
    alert_type: str = Field(default="", max_length=64)
    key: str = Field(default="", max_length=20)
    seconds: float


class RollupHandOffHour(SQLModel, table=True):
    """Hand-offs created in one UTC hour of ``day`` per kind and status, with the sum and count
    of their handle times (connected to completed) for the mean."""

    __tablename__ = "report_handoff_hours"
    __table_args__ = (sa.Index("ix_report_handoff_hours_day", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    hour: int
    kind: str = Field(max_length=20)
    status: str = Field(max_length=20)
    handoffs: int = 0
    handle_count: int = 0
    handle_seconds: float = 0.0
