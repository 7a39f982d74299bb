"""Alert types as versioned data through the API: list, read, change, refuse, history, restore."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alerts.alert_types.store import get_row
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from rules.catalogue import default_catalogue
from tests.api.envelope import error_of, lines_of

BASE = "/api/v1/alert-types"


async def current(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    got = await client.get(f"{BASE}/{key}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def test_list_shows_the_catalogue(client: httpx.AsyncClient) -> None:
    listed = await client.get(BASE)
    assert listed.status_code == 200
    rows = {r["key"]: r for r in listed.json()}
    assert sorted(rows) == sorted(s.key for s in default_catalogue())
    assert len(rows) == 9
    debit = rows["large_debit"]
    assert debit["name"] == "Large debit" and debit["enabled"] is True
    assert (debit["category"], debit["priority"], debit["mandatory"]) == ("service", 90, True)
    assert rows["low_balance"]["version"] == 1 and rows["low_balance"]["updated_by"] == "catalogue"
    assert rows["low_balance"]["updated_at"]


async def test_get_one_and_an_unknown_key(client: httpx.AsyncClient) -> None:
    got = await client.get(f"{BASE}/low_balance")
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    body = got.json()
    assert body["version"] == 1 and body["updated_by"] == "catalogue"
    assert body["spec"]["key"] == "low_balance"
    assert body["spec"]["trigger"]["condition"] == "event.amount < 100"
    missing = await client.get(f"{BASE}/low_balanse")
    assert missing.status_code == 404
    error = error_of(missing)
    assert error["code"] == "not_found"
    assert "low_balanse" in error["message"] and "low_balance" in error["message"]
    assert "large_debit" in error["info"]["known"] and "POST" in error["hint"]


async def test_put_stores_a_new_version_and_keeps_the_old(client: httpx.AsyncClient) -> None:
    spec = (await current(client, "low_balance"))["spec"]
    spec["trigger"]["condition"] = "event.amount < 50"
    del spec["key"]  # taken from the path
    saved = await client.put(
        f"{BASE}/low_balance",
        json=spec,
        params={"note": "only really low balances"},
        headers={"If-Match": '"1"', "X-Herald-Actor": "alice@bank.example" + "x" * 200},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2 and saved.headers["etag"] == '"2"'
    assert saved.json()["spec"]["trigger"]["condition"] == "event.amount < 50"
    now = await current(client, "low_balance")
    assert now["version"] == 2 and now["spec"]["trigger"]["condition"] == "event.amount < 50"
    assert now["updated_by"].startswith("alice@bank.example") and len(now["updated_by"]) == 100

    history = (await client.get(f"{BASE}/low_balance/versions")).json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["note"] == "only really low balances"
    assert history[1]["changed_by"] == "catalogue"
    old = await client.get(f"{BASE}/low_balance/versions/1")
    assert old.status_code == 200
    assert old.json()["spec"]["trigger"]["condition"] == "event.amount < 100"
    absent = await client.get(f"{BASE}/low_balance/versions/7")
    assert absent.status_code == 404 and "1, 2" in error_of(absent)["message"]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = spec
        for name in parents:
            node = node[name]
        node[last] = value

    return change


def _marketing_mandatory(spec: dict[str, Any]) -> None:
    spec["category"], spec["mandatory"] = "marketing", True


INVALID: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("bad condition", _set("trigger.condition", "event.amount >>> 5"), ["trigger.condition"]),
    (
        "unknown channel",
        _set("delivery.channel_order", ["sms", "pager"]),
        ["delivery.channel_order.1", "'voice', 'sms' or 'email'"],
    ),
    ("marketing and mandatory", _marketing_mandatory, ["marketing", "mandatory"]),
    (
        "unknown template variable",
        _set("content.en.sms.body", "Hi {{ customr_name }}, your balance is low."),
        ["content.en.sms.body", "customr_name"],
    ),
    (
        "SMS far over the segment limit",
        _set("content.en.sms.body", "{{ brand }}: " + "your balance is low. " * 40),
        ["content.en.sms.body", "segment"],
    ),
]


@pytest.mark.parametrize(
    ("change", "expect"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
async def test_an_invalid_spec_is_refused_field_by_field(
    client: httpx.AsyncClient, change: Callable[[dict[str, Any]], None], expect: list[str]
) -> None:
    spec = (await current(client, "low_balance"))["spec"]
    change(spec)
    refused = await client.put(f"{BASE}/low_balance", json=spec)
    assert refused.status_code == 422, refused.text
    error = error_of(refused)
    assert error["code"] == "validation_failed"
    assert error["message"] == "alert type low_balance not saved"
    lines = lines_of(refused)
    assert any(all(word in line for word in expect) for line in lines), lines
    assert error["hint"]
    assert (await current(client, "low_balance"))["version"] == 1  # nothing stored


async def test_malformed_requests_get_json_errors(client: httpx.AsyncClient) -> None:
    spec = (await current(client, "low_balance"))["spec"]
    other_key = await client.put(f"{BASE}/low_balance", json={**spec, "key": "large_debit"})
    assert other_key.status_code == 422 and "key:" in lines_of(other_key)[0]
    assert error_of(other_key)["details"][0]["location"] == "key"
    not_json = await client.put(
        f"{BASE}/low_balance", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422 and "not valid JSON" in error_of(not_json)["message"]
    a_list = await client.put(f"{BASE}/low_balance", json=[spec])
    assert a_list.status_code == 422 and "JSON object" in error_of(a_list)["message"]
    bad_param = await client.put(
        f"{BASE}/low_balance", json=spec, params={"expected_version": "latest"}
    )
    assert bad_param.status_code == 422
    assert any("expected_version" in line for line in lines_of(bad_param))
    locations = [d["location"] for d in error_of(bad_param)["details"]]
    assert "query.expected_version" in locations
    bad_etag = await client.put(f"{BASE}/low_balance", json=spec, headers={"If-Match": "abc"})
    assert bad_etag.status_code == 422 and "If-Match" in error_of(bad_etag)["message"]
    unknown = await client.put(f"{BASE}/no_such_type", json=spec | {"key": "no_such_type"})
    assert unknown.status_code == 404 and "low_balance" in error_of(unknown)["message"]
    assert (await client.patch(f"{BASE}/no_such_type", json={"enabled": False})).status_code == 404
    assert (await current(client, "low_balance"))["version"] == 1


async def test_patch_merges_into_the_current_spec(client: httpx.AsyncClient) -> None:
    off = await client.patch(f"{BASE}/payment_received", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["version"] == 2 and off.json()["spec"]["enabled"] is False
    listed = {r["key"]: r for r in (await client.get(BASE)).json()}
    assert listed["payment_received"]["enabled"] is False

    raised = await client.patch(
        f"{BASE}/payment_received",
        json={"trigger": {"condition": "event.amount >= 1000"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert raised.status_code == 200, raised.text
    trigger = raised.json()["spec"]["trigger"]
    assert trigger == {
        "event_types": ["credit_posted"],
        "condition": "event.amount >= 1000",
        "batches": "entries",  # the default, kept
    }
    assert raised.json()["spec"]["enabled"] is False  # the earlier change is kept

    seeded = {"en", "nl", "fr", "de", "es"}
    italian = {"sms": {"body": "{{ brand }}: {{ money }} ricevuti."}}
    added = await client.patch(f"{BASE}/payment_received", json={"content": {"it": italian}})
    assert set(added.json()["spec"]["content"]) == seeded | {"it"}
    removed = await client.patch(f"{BASE}/payment_received", json={"content": {"it": None}})
    assert set(removed.json()["spec"]["content"]) == seeded and removed.json()["version"] == 5

    invalid = await client.patch(f"{BASE}/payment_received", json={"priority": 500})
    assert invalid.status_code == 422 and lines_of(invalid)[0].startswith("priority:")


async def test_a_stale_edit_is_refused_not_overwritten(client: httpx.AsyncClient) -> None:
    alice = (await current(client, "low_balance"))["spec"]
    bob = copy.deepcopy(alice)
    alice["trigger"]["condition"] = "event.amount < 50"
    first = await client.put(f"{BASE}/low_balance", json=alice, params={"expected_version": 1})
    assert first.status_code == 200 and first.json()["version"] == 2
    bob["priority"] = 70
    stale = await client.put(
        f"{BASE}/low_balance",
        json=bob,
        params={"expected_version": 1},
        headers={"X-Herald-Actor": "bob"},
    )
    assert stale.status_code == 409, stale.text
    error = error_of(stale)
    assert error["code"] == "conflict"
    assert error["info"]["current_version"] == 2 and "version 1" in error["message"]
    assert "GET" in error["hint"]
    stale_patch = await client.patch(
        f"{BASE}/low_balance", json={"priority": 70}, headers={"If-Match": '"1"'}
    )
    assert stale_patch.status_code == 409
    now = await current(client, "low_balance")
    assert now["version"] == 2 and now["spec"]["trigger"]["condition"] == "event.amount < 50"
    assert now["spec"]["priority"] == 60


async def test_create_a_new_type_then_a_duplicate(client: httpx.AsyncClient) -> None:
    spec = (await current(client, "low_balance"))["spec"]
    spec.update(key="card_expiring", name="Card expiring", version=8)
    spec["trigger"] = {"event_types": ["card_expiring"], "condition": ""}
    created = await client.post(BASE, json=spec, headers={"X-Herald-Actor": "carol"})
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.headers["location"] == f"{BASE}/card_expiring"
    assert (await current(client, "card_expiring"))["updated_by"] == "carol"
    assert len((await client.get(BASE)).json()) == 10

    again = await client.post(BASE, json=spec)
    assert again.status_code == 409 and "PUT" in error_of(again)["hint"]
    keyless = await client.post(BASE, json={k: v for k, v in spec.items() if k != "key"})
    assert keyless.status_code == 422 and lines_of(keyless)[0].startswith("key:")
    broken = await client.post(BASE, json=spec | {"key": "card_broken", "priority": -1})
    assert broken.status_code == 422
    assert error_of(broken)["message"] == "alert type card_broken not saved"
    assert (await client.get(f"{BASE}/card_broken")).status_code == 404


async def test_restore_saves_an_old_version_as_the_newest(client: httpx.AsyncClient) -> None:
    changed = await client.patch(
        f"{BASE}/low_balance", json={"trigger": {"condition": "event.amount < 10"}}
    )
    assert changed.json()["version"] == 2
    restored = await client.post(
        f"{BASE}/low_balance/versions/1/restore",
        params={"note": "too few alerts"},
        headers={"X-Herald-Actor": "dave"},
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3
    assert restored.json()["spec"]["trigger"]["condition"] == "event.amount < 100"
    history = (await client.get(f"{BASE}/low_balance/versions")).json()
    assert [v["version"] for v in history] == [3, 2, 1]
    assert history[0]["note"] == "restored version 1: too few alerts"
    assert history[0]["changed_by"] == "dave"
    v2 = (await client.get(f"{BASE}/low_balance/versions/2")).json()
    assert v2["spec"]["trigger"]["condition"] == "event.amount < 10"  # history untouched
    stale = await client.post(f"{BASE}/low_balance/versions/2/restore", headers={"If-Match": '"2"'})
    assert stale.status_code == 409
    nowhere = await client.post(f"{BASE}/low_balance/versions/9/restore")
    assert nowhere.status_code == 404


async def test_needs_the_token(settings: Settings, runtime: Runtime) -> None:
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as c:
        for method, path in [
            ("GET", BASE),
            ("GET", f"{BASE}/low_balance"),
            ("PUT", f"{BASE}/low_balance"),
            ("PATCH", f"{BASE}/low_balance"),
            ("POST", BASE),
            ("POST", f"{BASE}/low_balance/versions/1/restore"),
        ]:
            refused = await c.request(method, path, json={"enabled": False})
            assert refused.status_code == 401, (method, path)
            assert "HERALD_API_TOKEN" in error_of(refused)["message"]
            assert refused.headers["www-authenticate"] == "Bearer"
        wrong = await c.get(BASE, headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
    async with runtime.deps.sessions() as session:
        row = await get_row(session, "low_balance")
        assert row is not None and row.version == 1 and row.enabled


async def test_simultaneous_edits_never_lose_a_version(client: httpx.AsyncClient) -> None:
    edits = [
        client.patch(
            f"{BASE}/low_balance", json={"priority": p}, headers={"X-Herald-Actor": f"a{p}"}
        )
        for p in range(61, 67)
    ]
    answers = await asyncio.gather(*edits)
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    saved = [a.json() for a in answers if a.status_code == 200]
    assert saved
    history = (await client.get(f"{BASE}/low_balance/versions")).json()
    assert sorted(v["version"] for v in history) == list(range(1, len(saved) + 2))
    now = await current(client, "low_balance")
    assert now["version"] == len(saved) + 1
    assert now["spec"]["priority"] in {s["spec"]["priority"] for s in saved}
