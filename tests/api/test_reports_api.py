"""The reports' JSON API and CSV exports over HTTP: the numbers counted by hand
(tests/service/alerts/reports/scenario.py), the CSV equal to the JSON, bad filters refused."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from alerts.reports.export import REPORTS, TABLES
from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import seed_november

NOV = {"since": "2026-11-01", "until": "2026-11-30"}


@pytest.fixture
async def november(runtime: Runtime) -> Runtime:
    async with runtime.deps.sessions() as session:
        await seed_november(session)
    return runtime


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _same(csv_value: str, json_value: Any) -> bool:
    if json_value is None:
        return csv_value == ""
    if isinstance(json_value, bool):
        return csv_value == str(json_value)
    if isinstance(json_value, int | float):
        return float(csv_value) == pytest.approx(float(json_value))
    return csv_value == str(json_value)


async def test_the_funnel_as_json_and_as_csv(client: httpx.AsyncClient, november: Runtime) -> None:
    got = await client.get("/api/v1/reports/funnel", params={**NOV, "alert_type": "large_debit"})
    assert got.status_code == 200, got.text
    (row,) = got.json()["rows"]
    assert [row[s] for s in got.json()["steps"]] == [10, 6, 5, 4, 3, 2, 2]
    assert row["skip_reasons"]["condition not met"] == 2
    steps = await client.get(
        "/api/v1/reports/funnel.csv", params={**NOV, "alert_type": "large_debit"}
    )
    assert steps.status_code == 200 and steps.headers["content-type"].startswith("text/csv")
    first, total = _rows(steps.text)
    assert total["alert_type"] == "all"
    for key in ("events", "alerts", "sent", "delivered", "responded", "routed", "resolved"):
        assert _same(first[key], row[key]), key
        assert _same(first[f"share_{key}"], row["share_of_previous_step"][key]), key
    skips = await client.get(
        "/api/v1/reports/funnel.csv",
        params={**NOV, "alert_type": "large_debit", "table": "skip_reasons"},
    )
    assert {r["reason"]: int(r["events"]) for r in _rows(skips.text)} == row["skip_reasons"]


@pytest.mark.parametrize("name", list(REPORTS))
async def test_every_table_of_every_report_as_csv_equals_its_json(
    client: httpx.AsyncClient, november: Runtime, name: str
) -> None:
    data = (await client.get(f"/api/v1/reports/{name}", params=NOV)).json()
    for table, rows_of in TABLES[name].items():
        got = await client.get(f"/api/v1/reports/{name}.csv", params={**NOV, "table": table})
        assert got.status_code == 200, (table, got.text)
        expected = rows_of(data)
        found = _rows(got.text)
        assert len(found) == len(expected), table
        for csv_row, json_row in zip(found, expected, strict=True):
            assert set(csv_row) == set(json_row), table
            for key, value in json_row.items():
                assert _same(csv_row[key], value), (table, key, csv_row[key], value)


async def test_response_rates_and_delivery_numbers(
    client: httpx.AsyncClient, november: Runtime
) -> None:
    rates = (await client.get("/api/v1/reports/response-rates", params=NOV)).json()
    by_channel = {c["channel"]: c for c in rates["channels"]}
    assert by_channel["sms"]["alerts_reached"] == 2 and by_channel["sms"]["alerts_responded"] == 1
    assert by_channel["sms"]["response_rate"] is None and by_channel["sms"]["too_few_alerts"]
    assert rates["min_alerts_for_a_rate"] == 20
    health = (await client.get("/api/v1/reports/delivery", params=NOV)).json()
    assert (health["attempts"], health["retries"], health["fallbacks"]) == (9, 1, 2)
    assert health["failures"] == [{"channel": "voice", "error": "21211", "attempts": 1}]


async def test_the_inbound_call_import_and_calls_avoided(
    client: httpx.AsyncClient, november: Runtime
) -> None:
    body = "date,reason,calls,alert_type\n2026-10-01,card query,40,large_debit\n"
    body += "2026-11-05,card query,10,large_debit\n2026-11-06,card query,x,large_debit\n"
    done = await client.post(
        "/api/v1/reports/inbound-calls?filename=tel.csv",
        content=body,
        headers={"content-type": "text/csv"},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["imported"], done.json()["rejected"]) == (2, 1)
    got = await client.get("/api/v1/reports/calls-avoided", params={**NOV, "cost_per_call": "4.00"})
    large = next(r for r in got.json()["alert_types"] if r["alert_type"] == "large_debit")
    # One day before go-live (40 calls), one day after (10): 30 avoided, at 4.00 each.
    assert (large["before"]["calls"], large["after"]["calls"]) == (40, 10)
    assert large["calls_avoided"] == 30 and large["saving"] == "120.00"
    assert got.json()["cost_per_call"] == "4.00"


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("funnel", {"since": "yesterday"}, "is not a date"),
        ("funnel", {"since": "2026-11-30", "until": "2026-11-01"}, "swap them"),
        ("funnel", {"group_by": "colour"}, "channel, language, segment"),
        ("calls-avoided", {"cost_per_call": "lots"}, "not an amount"),
        ("delivery.csv", {"table": "nope"}, "has no table"),
    ],
)
async def test_bad_filters_are_refused_with_what_to_type(
    client: httpx.AsyncClient, runtime: Runtime, path: str, params: dict[str, str], says: str
) -> None:
    got = await client.get(f"/api/v1/reports/{path}", params=params)
    assert got.status_code == 400
    assert says in got.json()["error"]["message"]
