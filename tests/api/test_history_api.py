"""GET /api/v1/customers/{ref}/history a page at a time: the cursors as query parameters, each
list counted, a page size the API refuses when it is out of range."""

from __future__ import annotations

import httpx

from herald.runtime import Runtime
from tests.api.envelope import lines_of
from tests.service.alerts.customers.test_history import seed

URL = "/api/v1/customers/C-API/history"


async def test_the_api_pages_alerts_skips_and_changes_by_their_cursors(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await seed(runtime, ref="C-API", account="NL01HIST0000000012", alerts=12, skips=5, changes=4)
    first = (await client.get(URL, params={"limit": 5})).json()
    pages = first["pages"]
    assert pages["limit"] == 5
    assert pages["alerts"]["summary"] == "Showing 5 of 12 alerts"
    assert pages["events_without_alert"]["summary"] == "Showing 5 of 5 events without an alert"
    assert pages["preference_changes"]["summary"] == "Showing 4 of 4 preference changes"
    ids = [a["id"] for e in first["events"] for a in e["alerts"]]
    assert pages["alerts"]["older"] == ids[-1]
    while (cursor := pages["alerts"]["older"]) is not None:
        page = (await client.get(URL, params={"limit": 5, "before": cursor})).json()
        ids += [a["id"] for e in page["events"] for a in e["alerts"]]
        pages = page["pages"]
    assert len(ids) == len(set(ids)) == 12 and ids == sorted(ids, reverse=True)
    assert pages["alerts"]["summary"] == "Showing 11 to 12 of 12 alerts"
    # Every answer a hand-off had, in the JSON: the moves with their times.
    [handoff] = first["events"][0]["alerts"][0]["handoffs"]
    assert [m["to_status"] for m in handoff["timeline"]] == ["claimed", "completed", "completed"]
    assert handoff["timeline"][0]["at"].endswith("+00:00")


async def test_the_page_size_is_bounded(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await seed(runtime, ref="C-API", account="NL01HIST0000000012", alerts=1)
    for limit in (0, 201):
        refused = await client.get(URL, params={"limit": limit})
        assert refused.status_code == 422
        assert "limit" in lines_of(refused)[0]
    assert (await client.get(URL, params={"limit": 200})).status_code == 200
    refused = await client.get(URL, params={"before": "newest"})
    assert refused.status_code == 422 and "before" in lines_of(refused)[0]


async def test_openapi_describes_the_cursors(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/customers/{ref}/history"]["get"]
    params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(params) == {"limit", "before", "skips_before", "changes_before"}
    assert "alert id" in params["before"]["description"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/CustomerHistory")
