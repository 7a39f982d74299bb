"""The customer's single view, one page at a time: the newest alerts with everything that belongs
to them, a cursor to the older ones, counts of every list, and a number of queries that does not
grow with the customer's history."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from alerts.customers.history import CustomerHistory, HistoryQuery, customer_history
from alerts.lifecycle import move_handoff
from alerts.models import (
    Alert,
    AttemptEvent,
    Decision,
    DeliveryAttempt,
    Event,
    HandOff,
    PreferenceChange,
    Response,
)
from alerts.plans import PlannedStep
from herald.runtime import Runtime
from tests.factories import make_customer

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHANNELS = ("voice", "sms", "email")


def _address(n: int, step: int) -> str:
    """A contact address unique to one alert's step: a mix-up between alerts would show."""
    return f"+3161{n:04d}{step:03d}" if step < 2 else f"a{n}@example.com"


async def seed(
    runtime: Runtime,
    *,
    ref: str,
    account: str,
    alerts: int,
    skips: int = 0,
    changes: int = 0,
) -> int:
    """A customer with ``alerts`` alerts (each: its event and decision, three attempts with two
    statuses each, an answer, a hand-off moved twice), ``skips`` events that raised no alert and
    ``changes`` preference changes. Returns the customer's id."""
    customer = await make_customer(runtime.deps, ref=ref, account=account)
    cid = customer.id or 0
    # Alerts and skips interleaved in time, the way a customer's events come in.
    kinds = sorted(
        [(k / alerts, "alert") for k in range(alerts)] + [(k / skips, "skip") for k in range(skips)]
    )
    raised = 0
    async with runtime.deps.sessions() as s:
        for n, (_, kind) in enumerate(kinds):
            at = T0 + timedelta(minutes=n)
            ev = Event(
                source="camt054",
                source_event_id=f"{ref}-E{n}",
                event_type="debit_posted",
                account_id=account,
                customer_id=cid,
                amount=Decimal(f"{100 + n}.50"),
                currency="EUR",
                description=f"shop {n}",
                created_at=at,
            )
            s.add(ev)
            await s.flush()
            decision = Decision(
                event_id=ev.id or 0,
                alert_type="large_debit",
                customer_id=cid,
                outcome=kind,
                reason=f"reason {n}",
                created_at=at,
            )
            s.add(decision)
            await s.flush()
            if kind == "alert":
                await _alert(s, cid, ev, decision, raised, at)
                raised += 1
        for n in range(changes):
            s.add(
                PreferenceChange(
                    customer_id=cid,
                    alert_type="*",
                    actor=f"actor {n}",
                    before={"language": None if n == 0 else f"l{n - 1}"},
                    after={"language": f"l{n}"},
                    created_at=T0 + timedelta(minutes=n),
                )
            )
        await s.commit()
    return cid


async def _alert(s: Any, cid: int, ev: Event, decision: Decision, n: int, at: datetime) -> None:
    """Alert number ``n`` of the customer, raised by ``ev``, with all that follows it."""
    alert = Alert(
        dedupe_key=f"large_debit:{ev.source_event_id}",
        alert_type="large_debit",
        customer_id=cid,
        event_id=ev.id,
        decision_id=decision.id,
        status="closed",
        plan=[
            PlannedStep(
                channel=channel,
                contact_point_id="1",
                address=_address(n, step),
                not_before=at,
                deadline=at + timedelta(hours=1),
                reason=f"step {step} of alert {n}",
            )
            for step, channel in enumerate(CHANNELS)
        ],
        context={"n": n, "event": ev.source_event_id},
        created_at=at,
    )
    s.add(alert)
    await s.flush()
    attempts = [
        DeliveryAttempt(
            alert_id=alert.id or 0,
            step_index=step,
            channel=channel,
            address=_address(n, step),
            status="failed" if step < 2 else "sent",
            created_at=at,
        )
        for step, channel in enumerate(CHANNELS)
    ]
    s.add_all(attempts)
    await s.flush()
    for t in attempts:
        s.add(AttemptEvent(attempt_id=t.id or 0, status="sending", created_at=at))
        s.add(AttemptEvent(attempt_id=t.id or 0, status=t.status, detail=f"a{n}", created_at=at))
    response = Response(
        dedupe_key=f"email:{ev.source_event_id}",
        alert_id=alert.id,
        attempt_id=attempts[2].id,
        customer_id=cid,
        channel="email",
        key="agent",
        intent="agent",
        created_at=at,
    )
    s.add(response)
    await s.flush()
    handoff = HandOff(
        response_id=response.id or 0,
        alert_id=alert.id,
        customer_id=cid,
        kind="callback",
        context={"alert": n},
        created_at=at,
    )
    s.add(handoff)
    await s.flush()
    move_handoff(s, handoff, "claim", reason=f"agent took {n}", now=at, actor="agent ann")
    move_handoff(s, handoff, "complete", reason="called back", now=at + timedelta(minutes=5))
    move_handoff(s, handoff, "claim", reason="a second agent too late", now=at)


async def read(runtime: Runtime, ref: str, **query: Any) -> CustomerHistory:
    async with runtime.deps.sessions() as session:
        history = await customer_history(
            session=session, external_ref=ref, query=HistoryQuery(**query)
        )
    assert history is not None
    return history


def alerts_of(history: CustomerHistory) -> list[int]:
    return [a.id for e in history.events for a in e.alerts]


async def test_the_newest_alerts_come_first_and_the_cursor_reads_every_older_one(
    runtime: Runtime,
) -> None:
    await seed(runtime, ref="C-30", account="NL01HIST0000000030", alerts=30, skips=7)
    first = await read(runtime, "C-30", limit=12)
    assert first.pages.alerts.summary == "Showing 12 of 30 alerts"
    assert (first.pages.alerts.total, first.pages.alerts.shown) == (30, 12)
    seen = alerts_of(first)
    assert seen == sorted(seen, reverse=True) and len(seen) == 12
    cursor = first.pages.alerts.older
    second = await read(runtime, "C-30", limit=12, before=cursor)
    assert second.pages.alerts.summary == "Showing 13 to 24 of 30 alerts"
    third = await read(runtime, "C-30", limit=12, before=second.pages.alerts.older)
    assert third.pages.alerts.summary == "Showing 25 to 30 of 30 alerts"
    assert third.pages.alerts.older is None  # the last page
    past = await read(runtime, "C-30", limit=12, before=min(alerts_of(third)))
    assert alerts_of(past) == [] and past.pages.alerts.summary == "Showing 0 of 30 alerts"
    every = seen + alerts_of(second) + alerts_of(third)
    async with runtime.deps.sessions() as session:
        stored = [i for i in (await session.exec(select(Alert.id))).all() if i is not None]
    assert every == sorted(stored, reverse=True)  # each alert once, newest first
    # The events without an alert are a list of their own, shown on every page of alerts.
    assert [len(e.alerts) for e in second.events].count(0) == 7


async def test_each_alert_carries_only_what_belongs_to_it(runtime: Runtime) -> None:
    await seed(runtime, ref="C-5", account="NL01HIST0000000005", alerts=5)
    history = await read(runtime, "C-5", limit=3)
    for e in history.events:
        [alert] = e.alerts
        n = alert.context["n"]
        assert isinstance(n, int)
        assert e.source_event_id == alert.context["event"]
        assert [d.reason for d in e.decisions] == [f"reason {e.source_event_id.split('E')[-1]}"]
        assert [(t.step, t.channel, t.to) for t in alert.attempts] == [
            (step, channel, _address(n, step)) for step, channel in enumerate(CHANNELS)
        ]
        assert [[s.status for s in t.history] for t in alert.attempts] == [
            ["sending", "failed"],
            ["sending", "failed"],
            ["sending", "sent"],
        ]
        assert {s.detail for t in alert.attempts for s in t.history} == {None, f"a{n}"}
        [response] = alert.responses
        assert response.attempt_id == alert.attempts[2].id
        [handoff] = alert.handoffs
        assert handoff.context == {"alert": n} and handoff.status == "completed"
        # The hand-off's moves from status_changes, oldest first, the refused one kept.
        assert [(m.from_status, m.to_status, m.applied) for m in handoff.timeline] == [
            ("queued", "claimed", True),
            ("claimed", "completed", True),
            ("completed", "completed", False),
        ]
        assert handoff.timeline[0].actor == "agent ann"
        assert handoff.timeline[0].reason == f"agent took {n}"
        assert handoff.closed_at == handoff.timeline[1].at


async def test_events_without_an_alert_and_preference_changes_have_their_own_pages(
    runtime: Runtime,
) -> None:
    await seed(runtime, ref="C-S", account="NL01HIST0000000099", alerts=2, skips=9, changes=7)
    first = await read(runtime, "C-S", limit=4)
    skipped = [e for e in first.events if not e.alerts]
    assert first.pages.events_without_alert.summary == "Showing 4 of 9 events without an alert"
    assert [e.id for e in skipped] == sorted((e.id for e in skipped), reverse=True)
    assert all(d.outcome == "skip" for e in skipped for d in e.decisions)
    assert first.pages.alerts.summary == "Showing 2 of 2 alerts"
    assert first.pages.alerts.older is None
    # The events are one timeline, newest first: the page's alerts' and the page's skips.
    assert [e.id for e in first.events] == sorted((e.id for e in first.events), reverse=True)
    ids = [e.id for e in skipped]
    cursor = first.pages.events_without_alert.older
    while cursor is not None:
        page = await read(runtime, "C-S", limit=4, skips_before=cursor)
        ids += [e.id for e in page.events if not e.alerts]
        assert alerts_of(page) == alerts_of(first)  # the alerts' page stays where it was
        cursor = page.pages.events_without_alert.older
    assert len(ids) == len(set(ids)) == 9
    assert page.pages.events_without_alert.summary == "Showing 9 to 9 of 9 events without an alert"

    assert [c.actor for c in first.preference_changes] == [f"actor {n}" for n in (6, 5, 4, 3)]
    assert first.preference_changes[0].summary == "language: l5 → l6"
    assert first.pages.preference_changes.summary == "Showing 4 of 7 preference changes"
    older = await read(runtime, "C-S", limit=4, changes_before=first.pages.preference_changes.older)
    assert [c.actor for c in older.preference_changes] == [f"actor {n}" for n in (2, 1, 0)]
    assert older.pages.preference_changes.older is None
    assert older.preference_changes[-1].summary == "language: inherited → l0"


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[tuple[str, Any]]]:
    """Every statement sent to the database inside the block, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _measure(runtime: Runtime, ref: str, limit: int) -> tuple[int, Counter[str], int]:
    """(statements, ORM rows loaded by table, the most parameters of one statement)."""
    loaded: Counter[str] = Counter()
    async with runtime.deps.sessions() as session:
        event.listen(
            session.sync_session,
            "loaded_as_persistent",
            lambda _s, obj: loaded.update([type(obj).__tablename__]),
        )
        with statements(runtime) as seen:
            history = await customer_history(
                session=session, external_ref=ref, query=HistoryQuery(limit=limit)
            )
    assert history is not None and len(alerts_of(history)) == min(limit, history.pages.alerts.total)
    return len(seen), loaded, max(len(p) if p else 0 for _, p in seen)


async def test_the_queries_do_not_grow_with_the_alerts_and_the_page_bounds_the_rows(
    runtime: Runtime,
) -> None:
    await seed(runtime, ref="C-BIG", account="NL01HIST0000000030", alerts=30, skips=3)
    await seed(runtime, ref="C-SMALL", account="NL01HIST0000000003", alerts=3, skips=3)
    small, small_rows, _ = await _measure(runtime, "C-SMALL", limit=10)
    big, big_rows, widest = await _measure(runtime, "C-BIG", limit=10)
    whole, whole_rows, _ = await _measure(runtime, "C-BIG", limit=30)
    # One query per table whatever the history holds: 3 alerts, 10 of 30, all 30.
    assert small == big == whole
    assert big <= 18, big
    # A page of 10 reads 10 alerts' rows, not 30's: the page size bounds what is loaded.
    assert big_rows["alerts"] == 10 and whole_rows["alerts"] == 30
    assert big_rows["delivery_attempts"] == 10 * 3 and whole_rows["delivery_attempts"] == 30 * 3
    assert big_rows["attempt_events"] == 10 * 3 * 2
    assert big_rows["status_changes"] == 10 * 3
    assert big_rows["events"] == 10 + 3 and big_rows["decisions"] == 10 + 3
    assert small_rows["delivery_attempts"] == 3 * 3
    # No statement binds more than one page of ids (10 alerts x 3 attempts, plus a few).
    assert widest <= 10 * 3 + 5


async def test_addresses_are_masked_as_asked_and_plans_always_in_decisions(
    runtime: Runtime,
) -> None:
    await seed(runtime, ref="C-M", account="NL01HIST0000000077", alerts=1)
    async with runtime.deps.sessions() as session:
        [row] = (await session.exec(select(Decision))).all()
        row.detail = {"steps": [{"channel": "sms", "address": "+31612345678"}], "notes": ["n"]}
        session.add(row)
        await session.commit()
    async with runtime.deps.sessions() as session:
        shown = await customer_history(session=session, external_ref="C-M", mask_contacts=False)
        masked = await customer_history(session=session, external_ref="C-M", mask_contacts=True)
    assert shown is not None and masked is not None
    [alert], [masked_alert] = shown.events[0].alerts, masked.events[0].alerts
    assert alert.attempts[0].to == "+31610000000" and masked_alert.attempts[0].to == "+31***00"
    assert alert.plan[2].address == "a0@example.com"
    assert masked_alert.plan[2].address == "a***@example.com"
    assert shown.customer.contacts[0].address == "+15550001111"
    assert masked.customer.contacts[0].address == "+15***11"
    for history in (shown, masked):  # a decision's plan is masked in both
        [step] = history.events[0].decisions[0].steps
        assert step.to == "+31***78" and step.channel == "sms" and step.not_before is None
        assert history.events[0].decisions[0].notes == ["n"]


async def test_the_json_keeps_the_history_s_iso_times_and_plan_keys(runtime: Runtime) -> None:
    await seed(runtime, ref="C-J", account="NL01HIST0000000066", alerts=1, changes=1)
    data = (await read(runtime, "C-J")).model_dump(mode="json", by_alias=True)
    [event_] = data["events"]
    assert event_["received_at"] == "2024-05-01T12:00:00+00:00"
    assert event_["amount"] == "100.50"
    alert = event_["alerts"][0]
    assert alert["created_at"] == "2024-05-01T12:00:00+00:00"
    assert alert["plan"][0]["not_before"] == "2024-05-01T12:00:00+00:00"
    assert alert["plan"][0]["copy"] is False  # the stored key, not the Python name
    assert alert["attempts"][0]["history"][0]["at"] == "2024-05-01T12:00:00+00:00"
    assert alert["handoffs"][0]["timeline"][0]["to_status"] == "claimed"
    assert data["preference_changes"][0]["at"] == "2024-05-01T12:00:00+00:00"
    assert data["pages"]["alerts"] == {
        "noun": "alerts",
        "total": 1,
        "shown": 1,
        "newer": 0,
        "older": None,
        "summary": "Showing 1 of 1 alerts",
    }


async def test_a_customer_without_history_and_an_unknown_one(runtime: Runtime) -> None:
    await make_customer(runtime.deps, ref="C-0")
    empty = await read(runtime, "C-0")
    assert empty.events == [] and empty.preference_changes == []
    assert empty.pages.alerts.summary == "No alerts"
    assert empty.pages.alerts.older is None
    async with runtime.deps.sessions() as session:
        assert await customer_history(session=session, external_ref="NOBODY") is None


def test_a_page_link_repeats_only_what_was_asked() -> None:
    assert HistoryQuery().link() == ""
    assert HistoryQuery().link(before=812) == "before=812"
    query = HistoryQuery(limit=50, skips_before=9)
    assert query.link(before=812) == "limit=50&before=812&skips_before=9"
    assert query.link(skips_before=None) == "limit=50"
