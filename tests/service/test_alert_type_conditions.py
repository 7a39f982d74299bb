"""Saving an alert type type-checks its trigger condition against the event/customer fields.

What the API answers with 422: one line per problem, naming the field, the column and what is
wrong; nothing is stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from alerts.alert_types.store import AlertTypeError, get_spec, save_spec
from herald.runtime import Runtime


@pytest.mark.parametrize(
    ("condition", "line"),
    [
        (
            "event.amount >> 5",
            "trigger.condition: invalid condition at column 14 (in 'event.amount >> 5'): "
            ">> is a bit operator",
        ),
        (
            'event.amount + "x" > 1',
            "trigger.condition: invalid condition at column 1 (in 'event.amount + \"x\"'): "
            '+ does not apply to a number (event.amount) and text ("x")',
        ),
        (
            "event.amout >= 500",
            "trigger.condition: invalid condition at column 7 (near 'amout >= 500'): "
            "unknown attribute: 'amout'; did you mean 'amount'?",
        ),
        (
            "event.amount >= 500 and customer.segment == 0",
            "trigger.condition: invalid condition at column 25 "
            "(in 'customer.segment == 0'): compares text (customer.segment) with a number (0)",
        ),
    ],
)
async def test_a_mistyped_condition_is_refused_when_saved(
    runtime: Runtime, condition: str, line: str
) -> None:
    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["trigger"] = {**data["trigger"], "condition": condition}
        with pytest.raises(AlertTypeError) as caught:
            await save_spec(session, data, actor="test")
        [problem] = caught.value.lines  # the condition, and nothing else
        assert problem.startswith(line), problem
        assert (await get_spec(session, "large_debit")) == spec  # nothing stored


async def test_a_well_typed_condition_is_saved(runtime: Runtime) -> None:
    condition = 'event.amount >= 2500 and event.currency == "EUR" and customer.segment != "staff"'
    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data: dict[str, Any] = spec.as_json()
        data["trigger"] = {**data["trigger"], "condition": condition}
        saved = await save_spec(session, data, actor="test")
        assert saved.trigger.condition == condition
        assert (await get_spec(session, "large_debit")) == saved


async def test_a_stored_type_saved_before_the_type_checks_keeps_running(runtime: Runtime) -> None:
    """A condition the new save-time check refuses, stored by an earlier version, is still read
    (and evaluated) instead of the whole alert type silently going missing."""
    from sqlmodel import select

    from alerts.alert_types.store import load_specs
    from alerts.models import AlertType

    async with runtime.deps.sessions() as session:
        await load_specs(session)  # seeds the catalogue
        row = (await session.exec(select(AlertType).where(AlertType.key == "large_debit"))).one()
        trigger = row.spec["trigger"]
        assert isinstance(trigger, dict)
        row.spec = {**row.spec, "trigger": {**trigger, "condition": "event.amount >> 5"}}
        session.add(row)
        await session.commit()
        spec = await get_spec(session, "large_debit")
        assert spec is not None and spec.trigger.condition == "event.amount >> 5"
        assert "large_debit" in {s.key for s in await load_specs(session)}
