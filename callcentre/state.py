"""The call centre's state as the rules read it: opening hours as stored, the latest load.

``centre_view`` is what ``rules.engine.decide`` gets: open now or not, when it next opens, and
the live load pushed to ``POST /api/v1/callcentre/load`` (ignored once stale); without a fresh
push, the load the agents' consoles give (callcentre.queues.console_load); with neither, the
centre counts as open with capacity, so alerts are not held on missing data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.customers.records import IanaZone
from callcentre.models import DEFAULT_HOURS, WEEKDAYS, CallQueue, CentreConfig, LoadSnapshot
from callcentre.queues import console_load, queue_loads
from rules.centre import CentreHours, CentreView, Opening

STALE_AFTER = timedelta(minutes=5)
DAYS = WEEKDAYS
SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _opening(span: str) -> Opening:
    m = SPAN.match(span.strip())
    if not m:
        raise ValueError(f"{span!r} is not an opening like 08:00-20:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    closes = time(0, 0) if (h2, m2) == (24, 0) else time(h2, m2)
    return Opening(opens=time(h1, m1), closes=closes)


Day = Annotated[str, Field(max_length=10)]
Spans = Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=24)]
Keys = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)]


class HoursIn(BaseModel):
    """Opening hours as administrators write them."""

    timezone: IanaZone = "UTC"
    # "mon": ["08:00-12:00", ...]
    weekly: dict[Day, Spans] = Field(default_factory=dict, max_length=7)
    holidays: list[date] = Field(default_factory=list, max_length=1000)
    # Blackout dates: no alerts of the listed alert types on that date (the centre's zone).
    blackouts: dict[date, Keys] = Field(default_factory=dict, max_length=1000)

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(DAYS)
        if unknown:
            raise ValueError(f"unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
        for spans in value.values():
            for span in spans:
                _opening(span)
        return value

    def to_hours(self) -> CentreHours:
        weekly = {
            DAYS.index(day): tuple(_opening(s) for s in spans) for day, spans in self.weekly.items()
        }
        return CentreHours(
            tz=self.timezone,
            weekly=weekly,
            holidays=frozenset(self.holidays),
            blackouts={day: frozenset(types) for day, types in self.blackouts.items()},
        )


async def load_hours(session: AsyncSession, *, queue: str | None = None) -> HoursIn:
    """The hours of the centre ``queue`` belongs to; without a queue (or for a queue that does
    not exist), the first centre's: the one every single-centre set-up has."""
    row = None
    if queue is not None:
        row = (
            await session.exec(
                select(CentreConfig)
                .join(CallQueue, col(CallQueue.centre_id) == col(CentreConfig.id))
                .where(CallQueue.key == queue)
            )
        ).first()
    if row is None:
        row = (await session.exec(select(CentreConfig).order_by(col(CentreConfig.id)))).first()
    return HoursIn.model_validate(row.hours if row else DEFAULT_HOURS)


async def latest_load(session: AsyncSession) -> LoadSnapshot | None:
    return (
        await session.exec(select(LoadSnapshot).order_by(col(LoadSnapshot.received_at).desc()))
    ).first()


async def current_load(
    session: AsyncSession, now: datetime, *, queue: str | None = None
) -> LoadSnapshot | None:
    """The load to decide on: the telephony platform's last push while fresh (it knows no
    queues), else what the agents' consoles say (their states, the work waiting; of ``queue``'s
    agents and work when given), else None (not known: no console open)."""
    load = await latest_load(session)
    if load is not None and now - load.received_at <= STALE_AFTER:
        return load
    console = await console_load(session, now)
    if console is None:
        return None
    if queue is not None:
        loads = await queue_loads(session, now)
        default = next((k for k, q in loads.items() if q.default), None)
        console = loads.get(queue) or (loads[default] if default else console)
    return LoadSnapshot(
        agents_logged_in=console.logged_in,
        agents_available=console.available,
        queue_length=console.waiting,
        longest_wait_seconds=console.longest_wait_seconds,
        received_at=now,
    )


async def centre_view(
    session: AsyncSession, now: datetime, *, queue: str | None = None
) -> CentreView:
    """The centre at ``now``: hours from the stored configuration; the load from the last
    push, else from the agents' consoles (only ``queue``'s agents and work, when given)."""
    hours = (await load_hours(session, queue=queue)).to_hours()
    load = await current_load(session, now, queue=queue)
    if load is None:
        return CentreView.at(hours, now, agents_available=1, queue_length=0, load_known=False)
    return CentreView.at(
        hours,
        now,
        agents_available=load.agents_available,
        queue_length=load.queue_length,
        longest_wait_seconds=load.longest_wait_seconds,
    )


class StoredCentre:
    """The call centre as stored in this database: the ``alerts.ports.CallCentre`` port."""

    async def hours(self, session: AsyncSession) -> CentreHours:
        return (await load_hours(session)).to_hours()

    async def view(
        self, session: AsyncSession, now: datetime, queue: str | None = None
    ) -> CentreView:
        return await centre_view(session, now, queue=queue)


async def save_hours(*, session: AsyncSession, hours: HoursIn, now: datetime) -> HoursIn:
    """Store the opening hours (the one configuration row) and commit."""
    row = (await session.exec(select(CentreConfig).order_by(col(CentreConfig.id)))).first()
    before = dict(row.hours) if row else None
    row = row or CentreConfig()
    row.hours = hours.model_dump(mode="json")
    audit.record(
        session,
        kind="call_centre_hours",
        entity_id="opening hours",
        action="save",
        before=before,
        after=row.hours,
    )
    row.updated_at = now
    session.add(row)
    await session.commit()
    return hours


class CentreIn(BaseModel):
    """A call centre as an administrator writes it: its name and opening hours (its queues
    name it: ``PUT /queues/{key}`` with ``"centre": "<key>"``)."""

    name: str = Field(min_length=1, max_length=100)
    hours: HoursIn = Field(default_factory=lambda: HoursIn.model_validate(DEFAULT_HOURS))


class CentreOut(CentreIn):
    key: str
    queues: list[str]
    first: bool = Field(description="the centre whose hours serve work routed to no queue")


async def save_centre(*, session: AsyncSession, key: str, centre: CentreIn, now: datetime) -> None:
    """Create or change a centre (name, hours); commits."""
    row = (await session.exec(select(CentreConfig).where(CentreConfig.key == key))).first()
    before = {"name": row.name, "hours": dict(row.hours)} if row else None
    row = row or CentreConfig(key=key)
    row.name, row.hours, row.updated_at = centre.name, centre.hours.model_dump(mode="json"), now
    session.add(row)
    audit.record(
        session,
        kind="call_centre",
        entity_id=key,
        action="save",
        before=before,
        after={"name": row.name, "hours": row.hours},
    )
    await session.commit()


async def list_centres(session: AsyncSession) -> list[CentreOut]:
    rows = (await session.exec(select(CentreConfig).order_by(col(CentreConfig.id)))).all()
    queues = (await session.exec(select(CallQueue).order_by(col(CallQueue.key)))).all()
    return [
        CentreOut(
            key=row.key,
            name=row.name,
            hours=HoursIn.model_validate(row.hours or DEFAULT_HOURS),
            queues=[q.key for q in queues if q.centre_id == row.id],
            first=index == 0,
        )
        for index, row in enumerate(rows)
    ]


async def record_load(*, session: AsyncSession, load: LoadSnapshot) -> LoadSnapshot:
    """Store one load report of the telephony platform and commit; it is the current load."""
    session.add(load)
    await session.commit()
    return load


class LoadStatus(BaseModel):
    """The latest load as pushed, its age, and whether it is too old to be used."""

    agents_logged_in: int
    agents_available: int
    queue_length: int
    longest_wait_seconds: float
    received_at: datetime
    age_seconds: float
    stale: bool = Field(description=f"older than {STALE_AFTER}: the rules ignore it")


class CentreStatus(BaseModel):
    open: bool
    next_opening: datetime | None = Field(description="when it opens next, if closed now")
    hours: HoursIn
    load: LoadStatus | None = Field(description="None until the platform pushes a load")


async def centre_status(*, session: AsyncSession, now: datetime) -> CentreStatus:
    """Open at ``now``? When does it open next? The latest load (marked stale after 5 min)."""
    hours = await load_hours(session)
    rules_hours = hours.to_hours()
    load = await latest_load(session)
    is_open = rules_hours.is_open(now)
    status = CentreStatus(
        open=is_open,
        next_opening=None if is_open else rules_hours.next_opening(now),
        hours=hours,
        load=None,
    )
    if load is not None:
        age = now - load.received_at
        status.load = LoadStatus(
            **load.model_dump(exclude={"id"}),
            age_seconds=round(age.total_seconds(), 1),
            stale=age > STALE_AFTER,
        )
    return status
