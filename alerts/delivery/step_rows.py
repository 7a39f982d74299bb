"""The rows one plan step works on, read in one query, and its attempt row created once.

A step needs its alert, the step's attempt (if an earlier run made it), the alert type it is
rendered with, the customer's contact points (is the step's one still usable?) and the active
channel alarms (is its channel held?). They are read together: one round trip instead of five.
Of the alert type only its version is read (its document once per version and process); the
alarms are few rows; a customer has a handful of contact points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from alerts.alert_types.store import get_spec
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


# The alert types steps were rendered with, by (key, version, saved at): a step reads only
# those two columns of its type, not its whole document (decoded, then hashed to find the
# validated spec); every save is a new version (alerts.alert_types.store._store).
_SPECS: dict[tuple[str, int, datetime], AlertTypeSpec] = {}
_SPECS_KEPT = 256


_Rows = Select[
    Alert,
    DeliveryAttempt | None,
    int | None,
    datetime | None,
    ContactPoint | None,
    ChannelAlarm | None,
]


def _step_rows(step: ColumnElement[int] | Mapped[int], alerts: ColumnElement[bool]) -> _Rows:
    """The alert(s) ``alerts`` picks with the attempt of ``step``, the alert type's version and
    save time, the customer's contact points and the active channel alarms."""
    return (
        _Rows(
            Alert,
            DeliveryAttempt,
            col(AlertType.version),
            col(AlertType.updated_at),
            ContactPoint,
            ChannelAlarm,
        )
        .outerjoin(
            DeliveryAttempt,
            and_(
                col(DeliveryAttempt.alert_id) == col(Alert.id),
                col(DeliveryAttempt.step_index) == step,
            ),
        )
        .outerjoin(AlertType, col(AlertType.key) == col(Alert.alert_type))
        .outerjoin(ContactPoint, col(ContactPoint.customer_id) == col(Alert.customer_id))
        .outerjoin(ChannelAlarm, col(ChannelAlarm.cleared_at).is_(None))
        .where(alerts)
    )


# Built once (its parameters bound per step): building a five-table SELECT per step costs more
# CPU than running it.
_STEP_ROWS = _step_rows(bindparam("step_index"), col(Alert.id) == bindparam("alert_id"))
# The same for many alerts at once (a worker's batch of steps, alerts.delivery.batch): each
# alert with the attempt of its current step (a step that is not current has nothing to do).
_MANY_STEP_ROWS = _step_rows(
    col(Alert.current_step), col(Alert.id).in_(bindparam("alert_ids", expanding=True))
)


async def read_step(session: AsyncSession, alert_id: int, step_index: int) -> StepRows | None:
    """The alert, the step's attempt, the alert type, the customer's contact points and the
    active channel alarms, in one SELECT (None: no such alert)."""
    rows = (
        await session.exec(_STEP_ROWS, params={"alert_id": alert_id, "step_index": step_index})
    ).all()
    found = await _grouped(session, rows)
    return found.get(alert_id)


async def read_steps(session: AsyncSession, alert_ids: list[int]) -> dict[int, StepRows]:
    """``read_step`` for many alerts in one SELECT, each with its current step's attempt (an
    alert missing from the answer does not exist)."""
    rows = (await session.exec(_MANY_STEP_ROWS, params={"alert_ids": alert_ids})).all()
    return await _grouped(session, rows)


async def _grouped(session: AsyncSession, rows: Sequence[Any]) -> dict[int, StepRows]:
    found: dict[int, StepRows] = {}
    for alert, attempt, version, saved_at, contact, alarm in rows:
        assert alert.id is not None
        one = found.get(alert.id)
        if one is None:
            spec = None
            if version is not None and saved_at is not None:
                spec = await _spec(session, alert.alert_type, version, saved_at)
            one = found[alert.id] = StepRows(alert, attempt, spec)
        if contact is not None and contact not in one.contacts:
            one.contacts.append(contact)
        if alarm is not None:
            one.alarms[alarm.channel] = alarm
    return found


async def _spec(
    session: AsyncSession, key: str, version: int, saved_at: datetime
) -> AlertTypeSpec | None:
    """The alert type ``key`` as saved at ``version`` (read once per process and version)."""
    kept = _SPECS.get((key, version, saved_at))
    if kept is not None:
        return kept
    spec = await get_spec(session, key)
    if spec is not None and spec.version == version:  # not saved again in between
        if len(_SPECS) >= _SPECS_KEPT:
            _SPECS.clear()
        _SPECS[key, version, saved_at] = spec
    return spec


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
