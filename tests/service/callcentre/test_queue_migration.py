"""0012: an existing single-centre set-up becomes one centre with one queue, general, and keeps
its hours; its hand-offs are served by that queue; the outcomes list is seeded."""

from __future__ import annotations

import sqlalchemy as sa

from herald.db import make_engine, make_sessionmaker
from herald.migrate import upgrade


async def test_an_existing_centre_gets_one_general_queue_and_keeps_its_hours(
    database_url: str,
) -> None:
    from callcentre.queues import list_outcomes, list_queues
    from callcentre.state import load_hours

    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0011")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO centre_config (hours, updated_at) VALUES (:h, "
                    "'2026-01-01 10:00:00')"
                ),
                {"h": '{"timezone": "Europe/Amsterdam", "weekly": {"mon": ["09:00-17:00"]}}'},
            )
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session:
            queues = await list_queues(session)
            hours = await load_hours(session)
            outcomes = await list_outcomes(session)
    finally:
        await engine.dispose()
    assert [(q.key, q.centre, q.default) for q in queues] == [("general", "main", True)]
    assert (hours.timezone, hours.weekly) == ("Europe/Amsterdam", {"mon": ["09:00-17:00"]})
    assert {"resolved", "fraud_confirmed", "card_blocked", "callback_failed"} <= {
        o.key for o in outcomes
    }
