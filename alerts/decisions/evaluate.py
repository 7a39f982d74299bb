"""Turn stored events into decisions and alerts (rows committed before any job is enqueued).

For each unevaluated event, every alert type triggered by its event type is decided by the pure
``rules.engine.decide`` with the customer, their preferences and consent, the alert type's
current specification, the call centre's state and the customer's recent alerts. Each decision
(skip or plan, with every reason) is stored; a plan becomes an alert whose first step is queued
for its not-before time.

Past 400 lines because one batch is read in bulk, decided and written in bulk here, in named
steps (claim, load, decide, drop keys raised meanwhile, insert): splitting the bulk reads from
the writes they feed would only move the batch's shape into a second module.

Work goes in batches: a batch of events is claimed (``evaluated`` set in the same transaction,
so a concurrent evaluator skips them), everything the rules need for its customers is read in
a handful of queries, the decisions are made in memory (alerts raised earlier in the batch count
as recent), and decisions and alerts are written in bulk. The unique dedupe key of alerts, with
``ON CONFLICT DO NOTHING``, stops two evaluators raising the same alert.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypedDict

import sqlalchemy as sa
from pydantic import JsonValue
from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.store import load_specs
from alerts.columns import among, recordset_insert
from alerts.customers.preferences import preferences_from_rows
from alerts.decisions.copy_rows import copy_alerts, copy_rows, take_ids
from alerts.decisions.rows import ALERTS as _ALERTS
from alerts.decisions.rows import DECISIONS as _DECISIONS
from alerts.decisions.rows import AlertRow as _AlertRow
from alerts.decisions.rows import stored_detail, stored_option, stored_step, stored_windows
from alerts.deps import AlertDeps, BatchStepQueue, StepJob, StepQueue
from alerts.models import Account, Alert, ContactPoint, Customer, Decision, Event, Preference
from channels import metrics
from rules.alert_types import AlertTypeSpec
from rules.centre import CentreView
from rules.engine import Plan, RecentAlert, decide
from rules.facts import CustomerView, EventView
from rules.preferences import CustomerPreferences

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (events decided by this run, alerts it created)

NO_TYPE = "*"  # the alert_type of a decision that no alert type applies
# How far back recent alerts are read: frequency caps (at most 31 days) and, when longer, the
# longest dedupe window of the alert types.
RECENT = timedelta(days=32)
_RENAMED = " @ "  # a dedupe key reused after its window: "key @ 2026-11-23T10:00:00Z"


class EventFields(Protocol):
    """An event's columns: the ORM object or a row of a core select."""

    id: int | None
    event_type: str
    account_id: str
    source: str
    source_event_id: str
    amount: Decimal | None
    currency: str | None
    credit_debit: str | None
    status: str | None
    booking_date: date | None
    description: str | None
    data: dict[str, str]


class CustomerFields(Protocol):
    """A customer's columns: the ORM object or a row of a core select."""

    id: int | None
    external_ref: str
    name: str
    segment: str
    locale: str
    timezone: str
    attributes: dict[str, str]


def event_view(event: EventFields, data: Mapping[str, str] | None = None) -> EventView:
    """The rules' view of an event; ``data`` instead of ``event.data`` when given."""
    return EventView(
        event_type=event.event_type,
        account=event.account_id,
        source=event.source,
        source_event_id=event.source_event_id,
        amount=event.amount,
        currency=event.currency,
        credit_debit=event.credit_debit,
        status=event.status,
        booking_date=event.booking_date,
        description=event.description,
        data=dict((event.data if data is None else data) or {}),
        event_id=event.id,
    )


def customer_view(
    customer: CustomerFields, attributes: Mapping[str, str] | None = None
) -> CustomerView:
    """The rules' view of a customer; ``attributes`` instead of the customer's when given."""
    return CustomerView(
        ref=customer.external_ref,
        name=customer.name,
        segment=customer.segment,
        locale=customer.locale,
        tz=customer.timezone,
        attributes=dict((customer.attributes if attributes is None else attributes) or {}),
        customer_id=customer.id,
    )


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def alert_context(event: EventFields, customer: CustomerFields) -> dict[str, Any]:
    """The values an alert's templates may use (see rules/default_alert_types.toml)."""
    return view_context(event_view(event), customer.name)


def view_context(event: EventView, customer_name: str) -> dict[str, Any]:
    """``alert_context`` from the rules' view of the event (what a batch already holds)."""
    return {
        "customer_name": customer_name,
        "amount": _amount(event.amount),
        "currency": event.currency or "",
        "description": event.description or "",
        "merchant": event.description or "",
        "account_ending": event.account[-4:],
        "booking_date": event.booking_date.isoformat() if event.booking_date else "",
        "data": dict(event.data),
    }


def base_key(stored: str) -> str:
    head, sep, tail = stored.rpartition(_RENAMED)
    return head if sep and tail.endswith("Z") else stored


# The call centre as the decisions read it: None is the whole centre; a queue key, the view of
# that queue (its agents and waiting work) for the alert types whose agent option routes there.
CentreViews = Mapping[str | None, CentreView]


def agent_queue(spec: AlertTypeSpec) -> str | None:
    """The queue the alert type's "speak to an agent" option routes to (None: the default)."""
    return next((o.queue for o in spec.options if o.intent == "agent"), None)


async def centre_views(
    deps: AlertDeps, session: AsyncSession, specs: Sequence[AlertTypeSpec], now: datetime
) -> dict[str | None, CentreView]:
    """The whole centre, and each queue an agent option of ``specs`` routes to."""
    views: dict[str | None, CentreView] = {None: await deps.centre.view(session, now)}
    for queue in sorted({q for q in map(agent_queue, specs) if q}):
        views[queue] = await deps.centre.view(session, now, queue=queue)
    return views


_FROZEN: list[bool] = []  # the process's objects were moved out of the collector's sight once


def _freeze_once() -> None:
    """At a process's first evaluation, move what it holds so far (modules, settings, pools)
    out of the garbage collector's sight (``gc.freeze``): a batch allocates hundreds of
    thousands of objects, and each full collection walked every one of them as well — about a
    quarter of the evaluation's CPU in benchmarks.evaluate. Once per process: objects created
    later (the batches) are collected as usual."""
    if not _FROZEN:
        _FROZEN.append(True)
        gc.freeze()


@metrics.timed(metrics.DECISION_SECONDS)
async def evaluate_pending(
    *, deps: AlertDeps, now: datetime, batch: int = 2000, progress: Progress | None = None
) -> list[int]:
    """Decide every unevaluated event; returns the ids of the alerts created (already enqueued).
    ``progress`` is told, after each batch is committed and queued, how many events this run
    has decided and how many alerts it has created."""
    _freeze_once()
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], _YOUNG), *old[1:])
    try:
        return await _evaluate_all(deps=deps, now=now, batch=batch, progress=progress)
    finally:
        gc.set_threshold(*old)


# The collector's young-generation threshold while events are decided (Python's default: 700
# allocations). A batch allocates hundreds of thousands of objects (rows, views, decisions,
# documents) and frees nearly all of them by reference counting; at 700 the collector walked
# the young objects hundreds of times per batch. Cycles are still collected, later; the
# threshold is put back after (as alerts.customers.records does for an import).
_YOUNG = 50_000


async def count_pending(deps: AlertDeps) -> int:
    """How many events wait to be decided (the partial index of pending events answers it)."""
    async with deps.sessions() as session:
        pending = _EVENTS.c.evaluated == sa.false()  # as the partial index says
        query = sa.select(sa.func.count()).select_from(_EVENTS).where(pending)
        return int(await (await session.connection()).scalar(query) or 0)


async def _evaluate_all(
    *, deps: AlertDeps, now: datetime, batch: int, progress: Progress | None
) -> list[int]:
    created: list[int] = []
    async with deps.sessions() as session:
        by_event_type: dict[str, list[AlertTypeSpec]] = defaultdict(list)
        for spec in await load_specs(session):
            for event_type in spec.trigger.event_types:
                by_event_type[event_type].append(spec)
        centre = await centre_views(
            deps, session, [s for specs in by_event_type.values() for s in specs], now
        )
    cursor = _Cursor()
    while True:
        async with deps.sessions() as session:
            new_alerts = await _evaluate_batch(
                session,
                by_event_type=by_event_type,
                centre=centre,
                now=now,
                batch=batch,
                cursor=cursor,
            )
            if new_alerts is None:
                break
            await session.commit()
        jobs = [
            StepJob(alert_id, 0, channel, max(0.0, ((next_step_at or now) - now).total_seconds()))
            for alert_id, channel, next_step_at in new_alerts
        ]
        await enqueue_steps(deps.queue, jobs)
        created += [job.alert_id for job in jobs]
        if new_alerts:
            logger.info("alerts created: %s (batch of up to %s events)", len(new_alerts), batch)
        if progress is not None:
            progress(cursor.claimed, len(created))
    return created


async def enqueue_steps(queue: StepQueue, jobs: Sequence[StepJob]) -> None:
    """The first steps of a batch's alerts: in one round trip when the queue can (arq), else
    one by one. Either way each job keeps its id, so a step already queued is not queued again."""
    if isinstance(queue, BatchStepQueue):
        await queue.enqueue_steps(jobs)
        return
    for job in jobs:
        await queue.enqueue_step(
            alert_id=job.alert_id,
            step_index=job.step_index,
            channel=job.channel,
            defer_seconds=job.defer_seconds,
        )


@dataclass
class _Batch:
    """What the rules need for the customers of one batch, read in bulk."""

    views: dict[int, CustomerView] = field(default_factory=dict)
    preferences: dict[int, CustomerPreferences] = field(default_factory=dict)
    recent: dict[int, list[RecentAlert]] = field(default_factory=lambda: defaultdict(list))


_EVENTS: sa.Table = Event.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
_CUSTOMERS: sa.Table = Customer.__table__  # type: ignore[attr-defined]
_CONTACTS: sa.Table = ContactPoint.__table__  # type: ignore[attr-defined]
_PREFERENCES: sa.Table = Preference.__table__  # type: ignore[attr-defined]


# The columns of a claimed event the rules read (not its file, line, created_at or marker).
_EVENT_READ = (
    *("id", "event_type", "account_id", "source", "source_event_id", "amount", "currency"),
    *("credit_debit", "status", "booking_date", "description", "data", "customer_id"),
)
_CUSTOMER_READ = (
    *("id", "external_ref", "name", "segment", "locale", "timezone", "attributes"),
    "channel_order",
)


@dataclass(frozen=True, slots=True)
class _Claimed:
    """An event of the batch: the rules' view of it and the customer who owns its account."""

    view: EventView
    customer_id: int | None

    @property
    def event_id(self) -> int:
        return self.view.event_id or 0


# The columns of a contact point the rules read (alerts.customers.preferences.ContactFields).
_CONTACT_READ = (
    *("id", "customer_id", "kind", "address", "consent_source", "consent_at"),
    *("consent_confirmed", "consent_marketing", "consent_withdrawn_at", "sms_opted_out_at"),
    *("sms_capable", "invalid_at"),
)


@dataclass
class _Cursor:
    """The highest event id this run has claimed (the next claim starts after it), and how
    many events it has claimed."""

    after: int = 0
    claimed: int = 0


async def _claim(session: AsyncSession, batch: int, cursor: _Cursor) -> list[_Claimed]:
    """Up to ``batch`` unevaluated events, marked evaluated in this transaction (so another
    evaluator skips them, and a crash before the commit leaves them for the next run), each
    given the customer who owns its account if it had none.

    One statement, read as rows (no ORM objects): on PostgreSQL the rows are locked with SKIP
    LOCKED, so two evaluators take different events at once instead of queueing on the same
    rows (SQLite has one writer). Each claim starts after the last one (keyset), so a night of a
    million events costs O(batch) per claim, not a walk over the events already decided; an
    event skipped here (locked by another evaluator that then gave it up, or committed late
    with a lower id) is left for the next run, which starts from the beginning."""
    events = _EVENTS
    pending = (
        sa.select(events.c.id)
        # ``= false``, as the partial index ix_events_pending says: the next pending ids in
        # order, read from that index alone
        .where(events.c.evaluated == sa.false(), events.c.id > cursor.after)
        .order_by(events.c.id)
        .limit(batch)
        # FOR NO KEY UPDATE: the claim changes no key, so rows that other transactions' new
        # decisions and alerts reference (a key-share lock each) are not skipped for it
        .with_for_update(skip_locked=True, key_share=True)
        # Materialised: picked (and locked) once. As a plain IN (subquery) PostgreSQL could
        # rescan the locking subquery for every event (a nested loop, when the statistics say
        # few events are pending: just after a mass UPDATE), minutes per claim with two
        # evaluators in benchmarks.evaluate --processes 2.
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    owner = (
        sa.select(_ACCOUNTS.c.customer_id)
        .where(_ACCOUNTS.c.account_id == events.c.account_id)
        .scalar_subquery()
    )
    if _dialect(session) == "postgresql":
        # the picked ids as one array, each event found by its key whatever the statistics
        # say (as a join, stale statistics after a big ingest chose a scan of every pending
        # event per claim)
        ids = sa.select(sa.func.array_agg(pending.c.id)).scalar_subquery()
        picked: Any = events.c.id == sa.any_(sa.cast(ids, postgresql.ARRAY(sa.Integer)))
    else:
        picked = events.c.id.in_(sa.select(pending.c.id))
    claimed = (
        await (await session.connection()).execute(
            sa.update(events)
            .where(picked, events.c.evaluated == sa.false())
            .values(evaluated=True, customer_id=sa.func.coalesce(events.c.customer_id, owner))
            .returning(*(_as_text(events.c[name]) for name in _EVENT_READ))
        )
    ).all()
    if claimed:
        cursor.after = max(cursor.after, *(int(row.id) for row in claimed))
    return [
        _Claimed(event_view(row, _parsed(row.data)), row.customer_id)
        for row in sorted(claimed, key=_by_id)
    ]


async def as_claimed(session: AsyncSession, events: Sequence[Event]) -> list[_Claimed]:
    """Events read elsewhere (the studio's trial) as a batch's events: each with the customer
    who owns its account (nothing is written)."""
    unowned = {e.account_id for e in events if e.customer_id is None}
    owners: dict[str, int] = {}
    if unowned:
        rows = await (await session.connection()).execute(
            sa.select(_ACCOUNTS.c.account_id, _ACCOUNTS.c.customer_id).where(
                _among(session, _ACCOUNTS.c.account_id, unowned)
            )
        )
        owners = {str(row[0]): int(row[1]) for row in rows.all()}
    return [_Claimed(event_view(e), e.customer_id or owners.get(e.account_id)) for e in events]


def _as_text(column: Any) -> Any:
    """A JSON column read as its text (parsed by ``_parsed``, once per distinct text); any
    other column as it is."""
    if isinstance(column.type, sa.JSON):
        return sa.cast(column, sa.Text).label(column.name)
    return column


@functools.lru_cache(maxsize=4096)
def _parsed(text: str | None) -> Any:
    """A JSON column's text as its value, shared by every row with that text (most events'
    data and most customers' attributes and channel orders are one of a few texts): the
    readers copy or only read it. The driver parsed each one anew — a tenth of the client's
    CPU in a batch."""
    return None if text is None else json.loads(text)


def _by_id(row: Any) -> int:
    return int(row.id)


def _among(session: AsyncSession, column: Any, values: Collection[Any]) -> Any:
    return among(_dialect(session), column, set(values))


async def _load(
    session: AsyncSession, events: list[_Claimed], now: datetime, lookback: timedelta
) -> _Batch:
    """The batch's customers, contact points, preferences and recent alerts, as rows."""
    ids = {e.customer_id for e in events if e.customer_id is not None}
    data = _Batch()
    if not ids:
        return data
    conn = await session.connection()
    customers = (
        await conn.execute(
            sa.select(*(_as_text(_CUSTOMERS.c[name]) for name in _CUSTOMER_READ)).where(
                _among(session, _CUSTOMERS.c.id, ids)
            )
        )
    ).all()
    contacts: dict[int, list[Any]] = defaultdict(list)
    for contact in (
        await conn.execute(
            sa.select(*(_CONTACTS.c[name] for name in _CONTACT_READ)).where(
                _among(session, _CONTACTS.c.customer_id, ids)
            )
        )
    ).all():
        contacts[contact.customer_id].append(contact)
    stored: dict[int, list[tuple[str, object]]] = defaultdict(list)
    document = sa.cast(_PREFERENCES.c.data, sa.Text)  # the JSON as text: validated once per text
    for cid, alert_type, text in (
        await conn.execute(
            sa.select(_PREFERENCES.c.customer_id, _PREFERENCES.c.alert_type, document).where(
                _among(session, _PREFERENCES.c.customer_id, ids)
            )
        )
    ).all():
        stored[cid].append((alert_type, text))
    for customer in customers:
        cid = customer.id
        data.views[cid] = customer_view(customer, _parsed(customer.attributes))
        data.preferences[cid] = preferences_from_rows(
            _parsed(customer.channel_order), contacts[cid], stored[cid]
        )
    for key, alert_type, created_at, cid in (
        await conn.execute(
            sa.select(
                col(Alert.dedupe_key),
                col(Alert.alert_type),
                col(Alert.created_at),
                col(Alert.customer_id),
            ).where(
                _among(session, col(Alert.customer_id), ids),
                col(Alert.created_at) > now - lookback,
            )
        )
    ).all():
        data.recent[cid].append(RecentAlert(base_key(key), alert_type, created_at))
    return data


async def _evaluate_batch(
    session: AsyncSession,
    *,
    by_event_type: dict[str, list[AlertTypeSpec]],
    centre: CentreViews,
    now: datetime,
    batch: int,
    cursor: _Cursor,
) -> list[tuple[int, str, datetime | None]] | None:
    """Decide one batch; None when nothing was left to claim. Returns the alerts created."""
    events = await _claim(session, batch, cursor)
    if not events:
        return None
    cursor.claimed += len(events)
    longest = max(
        (s.dedupe.window_seconds for specs in by_event_type.values() for s in specs), default=0
    )
    data = await _load(session, events, now, max(RECENT, timedelta(seconds=longest)))
    decisions, planned = _decide(events, data, by_event_type, centre, now)
    planned, taken = await _drop_raised_meanwhile(session, decisions, planned, by_event_type, now)
    decision_ids = await _insert_decisions(session, decisions)
    if not planned:
        return []
    alerts = [
        _alert_row(
            p.plan, p.event, data.views[p.event.customer_id or 0], decision_ids[p.index], taken, now
        )
        for p in planned
    ]
    return await _insert_alerts(session, alerts)


@dataclass(frozen=True, slots=True)
class _Planned:
    """A plan decided for an event, and the row of its decision in the batch."""

    index: int
    plan: Plan
    event: _Claimed
    detail: dict[str, JsonValue]


class _DecisionRow(TypedDict):
    """One row of the bulk insert into ``decisions`` (its columns, as the statement takes them)."""

    event_id: int | None
    alert_type: str
    customer_id: int | None
    outcome: str
    reason: str
    detail: dict[str, JsonValue]
    created_at: datetime


def _decide(
    events: Sequence[_Claimed],
    data: _Batch,
    by_event_type: dict[str, list[AlertTypeSpec]],
    centre: CentreViews,
    now: datetime,
) -> tuple[list[_DecisionRow], list[_Planned]]:
    """Every event against every alert type it triggers (pure: the rules engine)."""
    decisions: list[_DecisionRow] = []
    planned: list[_Planned] = []
    for event in events:
        facts = event.view
        specs = by_event_type.get(facts.event_type, [])
        customer_id = event.customer_id
        if customer_id is None or customer_id not in data.views or not specs:
            reason = (
                f"no alert type is triggered by {facts.event_type}"
                if not specs
                else f"no customer owns account {facts.account}"
            )
            skipped: dict[str, JsonValue] = {"kind": "skip", "reason": reason}
            decisions.append(_decision_row(event, NO_TYPE, "skip", reason, skipped, now))
            continue
        for spec in specs:
            decision = decide(
                event=facts,
                customer=data.views[customer_id],
                preferences=data.preferences[customer_id],
                alert_type=spec,
                centre=centre.get(agent_queue(spec), centre[None]),
                recent_alerts=data.recent[customer_id],
                now=now,
            )
            detail = stored_detail(decision)
            outcome = "alert" if isinstance(decision, Plan) else "skip"
            decisions.append(_decision_row(event, spec.key, outcome, decision.reason, detail, now))
            if isinstance(decision, Plan):
                planned.append(_Planned(len(decisions) - 1, decision, event, detail))
                data.recent[customer_id].append(
                    RecentAlert(decision.dedupe_key, decision.alert_type, now)
                )
    return decisions, planned


async def _drop_raised_meanwhile(
    session: AsyncSession,
    decisions: list[_DecisionRow],
    planned: list[_Planned],
    by_event_type: dict[str, list[AlertTypeSpec]],
    now: datetime,
) -> tuple[list[_Planned], set[str]]:
    """A key raised since the recent alerts were read (another evaluator) within its window
    makes the decision a skip; returns the plans kept and the keys that exist (older)."""
    if not planned:
        return [], set()
    windows = {s.key: s.dedupe.window_seconds for specs in by_event_type.values() for s in specs}
    keys = [p.plan.dedupe_key for p in planned]
    taken = dict(
        (
            await session.exec(
                select(Alert.dedupe_key, Alert.created_at).where(
                    _among(session, col(Alert.dedupe_key), keys)
                )
            )
        ).all()
    )
    kept = []
    for p in planned:
        raised = taken.get(p.plan.dedupe_key)
        window = timedelta(seconds=windows.get(p.plan.alert_type, 0))
        if raised is not None and raised > now - window:
            reason = (
                f"{p.plan.alert_type}: duplicate of the alert {p.plan.dedupe_key!r} raised "
                f"{raised:%Y-%m-%d %H:%M:%S} UTC, within the dedupe window"
            )
            decisions[p.index] = _decision_row(
                p.event, p.plan.alert_type, "skip", reason, {**p.detail, "kind": "skip"}, now
            )
        else:
            kept.append(p)
    return kept, set(taken)


async def _insert_alerts(
    session: AsyncSession, alerts: list[_AlertRow]
) -> list[tuple[int, str, datetime | None]]:
    """Insert the alerts (PostgreSQL: copied, ``copy_alerts``; when a key was raised meanwhile,
    one statement that skips it); one raised by another evaluator between our check and our
    insert is left out, and its decision says so."""
    if _dialect(session) == "postgresql":
        conn = await session.connection()
        ids = await take_ids(conn, "alerts", len(alerts))
        if await copy_alerts(conn, ids, alerts):  # none of the keys raised meanwhile
            inserted: Sequence[Any] = [
                (i, a["dedupe_key"]) for i, a in zip(ids, alerts, strict=True)
            ]
        else:
            sql, params = recordset_insert(
                _ALERTS, alerts, returning="id, dedupe_key", on_conflict="(dedupe_key) DO NOTHING"
            )
            inserted = (await conn.execute(sql, params)).all()
    else:
        stmt = (
            sqlite.insert(_ALERTS)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_ALERTS.c.id, _ALERTS.c.dedupe_key)
        )
        inserted = (await session.exec(stmt, params=alerts)).all()
    if len(inserted) < len(alerts):
        made = {row[1] for row in inserted}
        for alert in alerts:
            if alert["dedupe_key"] not in made:
                await session.exec(
                    update(Decision)
                    .where(col(Decision.id) == alert["decision_id"])
                    .values(
                        outcome="skip",
                        reason=f"{alert['alert_type']}: duplicate of the alert "
                        f"{alert['dedupe_key']!r} raised at the same moment by another evaluation",
                    )
                )
        logger.info("%s alert(s) already raised by another evaluator", len(alerts) - len(inserted))
    by_key = {alert["dedupe_key"]: alert for alert in alerts}
    return [
        (row[0], str(by_key[row[1]]["plan"][0]["channel"]), by_key[row[1]]["next_step_at"])
        for row in inserted
    ]


async def _insert_decisions(session: AsyncSession, decisions: list[_DecisionRow]) -> list[int]:
    """Insert the batch's decisions; their ids, in the order of ``decisions``. PostgreSQL: ids
    drawn first, rows copied (``copy_rows``); SQLite: one statement, ids matched back by
    (event, alert type), unique per decision."""
    if _dialect(session) == "postgresql":
        conn = await session.connection()
        ids = await take_ids(conn, "decisions", len(decisions))
        await copy_rows(conn, "decisions", ids, decisions)
        return ids
    table = _DECISIONS
    stmt = insert(table).returning(table.c.id, table.c.event_id, table.c.alert_type)
    rows = (await session.exec(stmt, params=decisions)).all()
    by_key = {(event_id, alert_type): id_ for id_, event_id, alert_type in rows}
    return [by_key[d["event_id"], d["alert_type"]] for d in decisions]


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _decision_row(
    event: _Claimed,
    alert_type: str,
    outcome: str,
    reason: str,
    detail: dict[str, JsonValue],
    now: datetime,
) -> _DecisionRow:
    return {
        "event_id": event.view.event_id,
        "alert_type": alert_type,
        "customer_id": event.customer_id,
        "outcome": outcome,
        "reason": reason,
        "detail": detail,
        "created_at": now,
    }


def _alert_row(
    plan: Plan,
    event: _Claimed,
    customer: CustomerView,
    decision_id: int,
    taken: set[str],
    now: datetime,
) -> _AlertRow:
    """The alert's row as plain values, its JSON columns already in their stored shape (what
    ``PlannedStep``, ``AlertOption`` and ``StoredWindows`` dump to; tests/unit hold them to it)."""
    key = plan.dedupe_key
    if key in taken:  # an alert with this key exists but is older than the window
        key = f"{key}{_RENAMED}{now:%Y-%m-%dT%H:%M:%S}Z"
    return {
        "dedupe_key": key,
        "alert_type": plan.alert_type,
        "alert_type_version": plan.alert_type_version,
        "trial": False,
        "customer_id": customer.customer_id or 0,
        "event_id": event.view.event_id,
        "decision_id": decision_id,
        "status": "pending",
        "plan": [stored_step(s) for s in plan.steps],
        "options": [stored_option(o) for o in plan.options],
        "windows": stored_windows(plan.windows),
        "locale": plan.content_locale,
        "priority": plan.priority,
        "category": plan.category,
        "expires_at": plan.expires_at,
        "provider_retries": 0,
        "current_step": 0,
        "next_step_at": plan.steps[0].not_before,
        "context": view_context(event.view, customer.name),
        "created_at": now,
        "updated_at": now,
    }
