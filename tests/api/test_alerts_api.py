"""GET /api/v1/alerts/{id}: an alert as stored, its plan, options and windows typed."""

from __future__ import annotations

import httpx

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from herald.runtime import Runtime
from tests.factories import make_customer, make_event


async def test_an_alert_reads_back_with_its_plan(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deps = runtime.deps
    await make_customer(deps)
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    reply = await client.get(f"/api/v1/alerts/{alert_id}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["id"] == alert_id and body["alert_type"] == "large_debit"
    assert [s["channel"] for s in body["plan"]][:1] == ["voice"]
    assert body["options"] and "step_token" not in body


async def test_an_unknown_alert_is_a_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    reply = await client.get("/api/v1/alerts/999999")
    assert reply.status_code == 404
    assert "error" in reply.json()
