"""The open hand-offs page: every open hand-off, longest waiting first, a page at a time, with
its place in the hand-off lifecycle; closed ones have left the list."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

import admin_ui.routes
from alerts.models import Customer, HandOff
from herald.runtime import Runtime
from tests.api.test_admin_ui import T0, login, seed_customer, staff  # noqa: F401


async def test_every_open_handoff_is_listed_page_by_page(
    client: httpx.AsyncClient,
    staff: None,  # noqa: F811
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admin_ui.routes, "HANDOFF_LIMIT", 2)
    for i, name in enumerate(["Ada First", "Bea Second", "Cy Third", "Dee Done"]):
        await seed_customer(
            runtime, ref=f"C-10{i}", name=name, created_at=T0 + timedelta(minutes=i)
        )
    async with runtime.deps.sessions() as session:
        rows = (await session.exec(select(HandOff, Customer).join(Customer))).all()
        for handoff, customer in rows:
            handoff.created_at = T0 + timedelta(minutes=int(customer.external_ref[-1]))
            if customer.name == "Dee Done":
                handoff.status = "completed"
            if customer.name == "Bea Second":
                handoff.status = "claimed"
                handoff.queue, handoff.claimed_by = "fraud", "fay"
            session.add(handoff)
        await session.commit()
    await login(client)
    first = (await client.get("/admin/handoffs")).text
    second = (await client.get("/admin/handoffs", params={"page": 2})).text
    names = re.compile(r">(Ada First|Bea Second|Cy Third|Dee Done)</a>")
    assert names.findall(first) == ["Ada First", "Bea Second"]  # longest waiting first
    assert names.findall(second) == ["Cy Third"]  # nobody is left out; a closed one is gone
    assert "3 open hand-offs, page 1 of 2" in first and 'href="/admin/handoffs?page=2"' in first
    assert "Claimed" in first and "Queued" in first
    assert "taken by <strong>fay</strong>" in first and "Fraud" in first
    assert "the default queue" in first and "not taken yet" in first
