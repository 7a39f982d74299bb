"""The rows one plan step works on, read in one query, and its attempt row created once.

A step needs its alert, the step's attempt (if an earlier run made it), the alert type it is
rendered with, the customer's contact points (is the step's one still usable?) and the active
channel alarms (is its channel held?). They are read together: one round trip instead of five.
The alert type and the alarms are few rows; a customer has a handful of contact points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from alerts.alert_types.store import stored_spec
from alerts.models import Alert, AlertType, ChannelAlarm, ContactPoint, DeliveryAttempt
from rules.alert_types import AlertTypeSpec


@dataclass
class StepRows:
    """What ``read_step`` found (the contact points are kept here: the session's identity map
    holds them weakly, and ``session.get`` then answers from it without a query)."""

    alert: Alert
    attempt: DeliveryAttempt | None
    spec: AlertTypeSpec | None
    contacts: list[ContactPoint] = field(default_factory=list)
    alarms: dict[str, ChannelAlarm] = field(default_factory=dict)


async def read_step(session: AsyncSession, alert_id: int, step_index: int) -> StepRows | None:
    """The alert, the step's attempt, the alert type, the customer's contact points and the
    active channel alarms, in one SELECT (None: no such alert)."""
    rows = (
        await session.exec(
            Select[
                Alert,
                DeliveryAttempt | None,
                AlertType | None,
                ContactPoint | None,
                ChannelAlarm | None,
            ](Alert, DeliveryAttempt, AlertType, ContactPoint, ChannelAlarm)
            .outerjoin(
                DeliveryAttempt,
                and_(
                    col(DeliveryAttempt.alert_id) == col(Alert.id),
                    col(DeliveryAttempt.step_index) == step_index,
                ),
            )
            .outerjoin(AlertType, col(AlertType.key) == col(Alert.alert_type))
            .outerjoin(ContactPoint, col(ContactPoint.customer_id) == col(Alert.customer_id))
            .outerjoin(ChannelAlarm, col(ChannelAlarm.cleared_at).is_(None))
            .where(col(Alert.id) == alert_id)
        )
    ).all()
    if not rows:
        return None
    alert, attempt, alert_type, _, _ = rows[0]
    spec = stored_spec(alert_type.spec) if alert_type is not None and alert_type.spec else None
    found = StepRows(alert, attempt, spec)
    for *_, contact, alarm in rows:
        if contact is not None and contact not in found.contacts:
            found.contacts.append(contact)
        if alarm is not None:
            found.alarms[alarm.channel] = alarm
    return found


async def insert_attempt(session: AsyncSession, attempt: DeliveryAttempt) -> DeliveryAttempt | None:
    """Store ``attempt`` unless the step has one already (``INSERT ... ON CONFLICT DO NOTHING
    RETURNING``: None when another worker created it first; no savepoint needed)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values = attempt.model_dump(exclude={"id"})
    statement = (
        insert(DeliveryAttempt)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["alert_id", "step_index"])
        .returning(DeliveryAttempt)
    )
    return (await session.exec(statement)).scalars().first()
