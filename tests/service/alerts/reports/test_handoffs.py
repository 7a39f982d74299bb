"""Hand-offs and service level per queue, counted by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from alerts.models import HandOff, Response, StatusChange
from alerts.reports.export import ReportQuery, build
from alerts.reports.handoffs import handoff_report
from callcentre.staffing import agents_needed
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import NOVEMBER
from tests.service.alerts.reports.seed import Seeder, day


async def seed_handoffs(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        c = await Seeder(session).customer("H")
        # kind, created, final status, seconds to connect/claim (None: never), handle seconds
        rows = [
            ("live_transfer", day(2, 10), "completed", 15, 300),
            ("live_transfer", day(2, 10) + timedelta(minutes=20), "completed", 40, 120),
            ("live_transfer", day(2, 10) + timedelta(minutes=40), "abandoned", None, None),
            ("live_transfer", day(2, 14), "connected", 10, None),
            ("callback", day(3), "completed", 600, None),
            ("callback", day(4), "expired", None, None),
            ("callback", day(4, month=10), "completed", 5, None),  # before the range
        ]
        for i, (kind, at, status, wait, handle) in enumerate(rows):
            response = Response(
                dedupe_key=f"h-{i}",
                customer_id=c.id,
                channel="voice",
                intent="agent",
                created_at=at,
            )
            session.add(response)
            await session.flush()
            handoff = HandOff(
                response_id=response.id or 0,
                customer_id=c.id,
                kind=kind,
                status=status,
                created_at=at,
            )
            session.add(handoff)
            await session.flush()
            assert handoff.id is not None

            def move(to: str, after: float, hid: int = handoff.id, at: datetime = at) -> None:
                session.add(
                    StatusChange(
                        entity="handoff",
                        entity_id=hid,
                        from_status="queued",
                        event=to,
                        to_status=to,
                        created_at=at + timedelta(seconds=after),
                    )
                )

            if wait is not None:
                move("claimed" if kind == "callback" else "connected", wait)
                if status == "completed":
                    move("completed", wait + (handle or 60))
            elif status != "queued":
                move(status, 90)
        await session.commit()


async def test_service_level_per_queue(runtime: Runtime) -> None:
    await seed_handoffs(runtime)
    async with runtime.deps.sessions() as session:
        report = await handoff_report(session=session, period=NOVEMBER)
    live, callbacks = report.queues
    assert live.kind == "live_transfer" and callbacks.kind == "callback"
    assert (live.handoffs, live.completed, live.abandoned, live.still_open) == (4, 2, 1, 1)
    assert live.abandoned_share == pytest.approx(0.25)
    assert (live.answered, live.within_target) == (3, 2)  # 15 s and 10 s; 40 s is too late
    assert live.median_answer_seconds == pytest.approx(15, abs=0.01)
    assert live.mean_handle_seconds == pytest.approx(210, abs=0.01)
    assert (live.busiest_hour, live.busiest_hour_count) == ("2026-11-02 10:00", 3)
    assert (callbacks.handoffs, callbacks.completed, callbacks.expired) == (2, 1, 1)
    assert (callbacks.answered, callbacks.within_target) == (1, 0)
    assert callbacks.mean_handle_seconds is None  # a callback task is claimed, not connected
    async with runtime.deps.sessions() as session:
        data = await build(
            session=session,
            name="handoffs",
            query=ReportQuery(since="2026-11-01", until="2026-11-30"),
            today=NOVEMBER.last,
            staffing=agents_needed,
        )
    queues = {q["queue"]: q for q in data["queues"]}
    expected = agents_needed(3 / 3600, 210.0, 20.0, 0.8)
    assert expected is not None and expected >= 1
    assert queues["live_transfer"]["agents_needed_in_busiest_hour"] == expected
    assert queues["live_transfer"]["abandoned_over_target"] is True
    assert queues["callback"]["agents_needed_in_busiest_hour"] is None
