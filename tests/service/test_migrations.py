"""Migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from herald.db import METADATA
from herald.migrate import upgrade
from herald.runtime import Runtime


async def test_models_and_migrations_agree(runtime: Runtime) -> None:
    def diff(connection: Any) -> list[Any]:
        ctx = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(ctx, METADATA))

    async with runtime.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models changed without a migration: {changes}"


async def test_upgrade_twice_is_harmless(runtime: Runtime) -> None:
    await upgrade(runtime.engine)  # the fixture already upgraded once


async def test_0007_types_old_plans_and_gives_hand_offs_their_lifecycle(
    database_url: str,
) -> None:
    """Alerts raised before plans were typed, and hand-offs in open/calling/done, upgrade."""
    import sqlalchemy as sa

    from alerts.models import Alert
    from herald.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0006")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO customers (external_ref, name, locale, timezone, segment,"
                    " attributes, channel_order, created_at) VALUES ('C-1', 'Old Timer', 'nl',"
                    " 'UTC', '', '{}', '[]', '2024-05-01 10:00:00')"
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO alerts (dedupe_key, alert_type, customer_id, status,"
                    " alert_type_version, plan, options, windows, locale, priority, category,"
                    " provider_retries, current_step, step_token, context, created_at,"
                    " updated_at) VALUES ('k', 'account_activity', 1, 'closed', 1, :plan, '[]',"
                    " '{}', 'nl', 50, 'service', 0, 0, 't', '{}', '2024-05-01 10:00:00',"
                    " '2024-05-01 10:00:00')"
                ),
                {
                    "plan": '[{"channel": "voice", "address": "+4915112345678",'
                    ' "wait_seconds": 0, "reason": "first choice"},'
                    ' {"channel": "sms", "address": "+4915112345678", "wait_seconds": 300}]'
                },
            )
            for i, status in enumerate(("open", "calling", "done"), start=1):
                await conn.execute(
                    sa.text(
                        "INSERT INTO responses (dedupe_key, alert_id, customer_id, channel,"
                        " intent, created_at) VALUES (:k, 1, 1, 'voice', 'agent',"
                        " '2024-05-01 10:01:00')"
                    ),
                    {"k": f"r-{i}"},
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO handoffs (response_id, alert_id, customer_id, kind, status,"
                        " context, created_at) VALUES (:r, 1, 1, 'callback', :s, '{}',"
                        " '2024-05-01 10:01:00')"
                    ),
                    {"r": i, "s": status},
                )
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session:
            alert = await session.get(Alert, 1)
            assert alert is not None
            first, second = alert.plan
            assert (first.channel, first.reason, first.locale) == ("voice", "first choice", "nl")
            assert second.not_before.isoformat() == "2024-05-01T10:05:00+00:00"
            async with engine.connect() as conn:
                rows = await conn.execute(sa.text("SELECT status FROM handoffs ORDER BY id"))
                assert [r[0] for r in rows] == ["queued", "offered", "completed"]
    finally:
        await engine.dispose()
