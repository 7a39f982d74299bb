"""Out-of-range numbers are refused in the error envelope (422) before they reach SQL: these
three operations answered 500 to schemathesis (issue 17)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.envelope import error_of


@pytest.mark.parametrize(
    "method,path,params,location",
    [
        ("GET", "/api/v1/ingest/files", {"limit": -1}, "query.limit"),
        ("GET", "/api/v1/ingest/files", {"limit": 10**6}, "query.limit"),
        ("GET", "/api/v1/quarantine", {"file_id": 2**31}, "query.file_id"),
        ("GET", "/api/v1/quarantine", {"file_id": 0}, "query.file_id"),
        ("POST", "/api/v1/quarantine/retry", {"file_id": 2**63}, "query.file_id"),
        ("GET", f"/api/v1/alerts/{2**31}", {}, "path.alert_id"),
        ("GET", "/api/v1/alerts/0", {}, "path.alert_id"),
        ("POST", f"/api/v1/crm/deliveries/{2**40}/replay", {}, "path.delivery_id"),
    ],
)
async def test_out_of_range_numbers_get_the_envelope_not_a_500(
    client: httpx.AsyncClient, method: str, path: str, params: dict[str, int], location: str
) -> None:
    response = await client.request(method, path, params=params)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert [d["location"] for d in error["details"]] == [location]


async def test_in_range_numbers_still_work(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/ingest/files", params={"limit": 1000})).status_code == 200
    got = await client.get("/api/v1/quarantine", params={"file_id": 2**31 - 1})
    assert got.status_code == 200 and got.json() == []
