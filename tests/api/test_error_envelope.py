"""Every 4xx and 5xx of the JSON API is one envelope, and /openapi.json says so: each /api/v1
operation declares the envelope for its errors and a real schema for its success."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.recordings import MAX_RECORDING_BYTES
from channels.fake import FakeChannel
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.envelope import error_of, lines_of
from tests.factories import api_headers

CRASH = "the provider registry is corrupt (secret=hunter2)"


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return create_app(settings, runtime)


@pytest.fixture
async def client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: answer as a server would, also after an unexpected error
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url=settings.public_url, headers=api_headers(settings)
    ) as c:
        yield c


# One operation of each router module (and the call centre's), all behind the token.
GUARDED = [
    ("GET", "/api/v1/customers/C-1/history"),
    ("GET", "/api/v1/handoffs"),
    ("GET", "/api/v1/alert-types"),
    ("GET", "/api/v1/alert-types/large_debit/recordings"),
    ("GET", "/api/v1/customers/C-1/preferences"),
    ("GET", "/api/v1/ingest/files"),
    ("POST", "/api/v1/ingest"),
    ("GET", "/api/v1/callcentre/status"),
]


@pytest.mark.parametrize(("method", "path"), GUARDED)
async def test_401_without_the_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        refused = await client.request(method, path, headers=headers)
        assert refused.status_code == 401, refused.text
        error = error_of(refused)
        assert error["code"] == "unauthorized" and "HERALD_API_TOKEN" in error["message"]
        assert refused.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/api/v1/customers/NOBODY/history", "no customer 'NOBODY'"),
        ("/api/v1/customers/NOBODY/preferences", "no customer 'NOBODY'"),
        ("/api/v1/alerts/987654", "no alert 987654"),
        ("/api/v1/alert-types/no_such_type", "no alert type 'no_such_type'"),
        ("/api/v1/ingest/files/" + "0" * 64, "still receiving, or never sent"),
        ("/api/v1/no-such-endpoint", "Not Found"),  # the router's own 404
    ],
)
async def test_404(client: httpx.AsyncClient, path: str, says: str) -> None:
    missing = await client.get(path)
    assert missing.status_code == 404, missing.text
    error = error_of(missing)
    assert error["code"] == "not_found" and says in error["message"]


async def test_405_is_in_the_envelope_too(client: httpx.AsyncClient) -> None:
    wrong = await client.delete("/api/v1/handoffs")
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"


async def test_409_an_account_of_another_customer(client: httpx.AsyncClient) -> None:
    account = "NL91ABNA0417164300"
    first = await client.post(
        "/api/v1/customers", json={"external_ref": "C-1", "name": "Ann", "accounts": [account]}
    )
    assert first.status_code == 201 and first.json()["created"] is True
    second = await client.post(
        "/api/v1/customers", json={"external_ref": "C-2", "name": "Bob", "accounts": [account]}
    )
    assert second.status_code == 409, second.text
    error = error_of(second)
    assert error["code"] == "conflict"
    assert f"account {account} already belongs to another customer" in error["message"]
    assert (await client.get("/api/v1/customers/C-2/history")).status_code == 404


async def test_413_a_recording_over_the_limit(client: httpx.AsyncClient) -> None:
    refused = await client.put(
        "/api/v1/alert-types/large_debit/recordings/en/0",
        content=b"RIFF" + b"\x00" * MAX_RECORDING_BYTES,
        headers={"Content-Type": "audio/wav"},
    )
    assert refused.status_code == 413, refused.text
    error = error_of(refused)
    assert error["code"] == "payload_too_large" and "10 MB" in error["message"]
    assert error["hint"]


async def test_400_an_empty_ingest_body(client: httpx.AsyncClient) -> None:
    empty = await client.post("/api/v1/ingest", content=b"")
    assert empty.status_code == 400
    error = error_of(empty)
    assert error["code"] == "bad_request" and "empty body" in error["message"]


async def test_422_one_detail_per_problem_with_its_location(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/api/v1/customers",
        json={"external_ref": "C-3", "name": "", "phones": ["12345"], "timezone": "Mars/Base"},
    )
    assert bad.status_code == 422, bad.text
    error = error_of(bad)
    assert error["code"] == "validation_failed" and error["hint"]
    by_location = {d["location"]: d["message"] for d in error["details"]}
    assert set(by_location) == {"body.name", "body.phones", "body.timezone"}, by_location
    assert "E.164" in by_location["body.phones"]
    assert by_location["body.timezone"].startswith("body.timezone: 'Mars/Base' is not an IANA")
    too_many = await client.get("/api/v1/handoffs", params={"limit": 0})
    assert too_many.status_code == 422
    assert [d["location"] for d in error_of(too_many)["details"]] == ["query.limit"]
    unreadable = await client.put(
        "/api/v1/callcentre/hours", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code == 422 and error_of(unreadable)["details"]
    assert lines_of(unreadable)[0].startswith("body.")


class ExplodingChannel(FakeChannel):
    """A channel whose failover status cannot be read: a bug, not a refusal."""

    def status(self) -> list[dict[str, object]]:
        raise RuntimeError(CRASH)


async def test_500_without_a_traceback_and_logged(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.deps = dataclasses.replace(
        runtime.deps, channels={"sms": ExplodingChannel(kind="sms")}
    )
    with caplog.at_level(logging.ERROR, logger="alerts.api.errors"):
        crashed = await client.get("/api/v1/providers")
    assert crashed.status_code == 500
    error = error_of(crashed)
    assert error["code"] == "internal_error" and error["details"] == []
    assert "Traceback" not in crashed.text and "hunter2" not in crashed.text
    [logged] = [r for r in caplog.records if r.name == "alerts.api.errors"]
    assert "/api/v1/providers" in logged.getMessage()
    assert logged.exc_info is not None and str(logged.exc_info[1]) == CRASH


async def test_503_when_the_database_cannot_be_opened(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'no.db'}")
    before = set(threading.enumerate())
    try:
        app.state.deps = dataclasses.replace(
            runtime.deps, sessions=async_sessionmaker(engine, class_=AsyncSession)
        )
        down = await client.get("/api/v1/handoffs")
    finally:
        await engine.dispose()
        # aiosqlite stops a connection that failed to open without waiting for its thread; on
        # a busy machine the thread could outlive this test's event loop and fail in a later
        # test. Wait for it here, while the loop is open.
        for thread in set(threading.enumerate()) - before:
            if "_connection_worker_thread" in thread.name:
                await asyncio.to_thread(thread.join, 10)
    assert down.status_code == 503, down.text
    assert error_of(down)["code"] == "database_unavailable"


async def test_webhooks_and_pages_keep_their_own_errors(client: httpx.AsyncClient) -> None:
    forged = await client.post("/webhooks/twilio/sms/inbound", data={"From": "+15550001111"})
    assert forged.status_code == 403
    assert set(forged.json()) == {"detail"} and "X-Twilio-Signature" in forged.json()["detail"]
    page = await client.get("/admin", follow_redirects=False)
    assert page.status_code == 303 and "login" in page.headers["location"]


# The OpenAPI document.


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def described(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Whether ``schema`` says what the body holds: not {} nor "any object"."""
    schema = resolve(doc, schema)
    if "anyOf" in schema or "oneOf" in schema:
        return all(described(doc, s) for s in schema.get("anyOf", schema.get("oneOf")) or [])
    if schema.get("type") == "array":
        return described(doc, schema.get("items", {}))
    if schema.get("type") == "object" or "properties" in schema:
        extra = schema.get("additionalProperties")
        return bool(schema.get("properties")) or (isinstance(extra, dict) and described(doc, extra))
    return bool(schema.get("type"))


def api_operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def json_schema(response: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = (
        response.get("content", {}).get("application/json", {}).get("schema", {})
    )
    return schema


async def test_openapi_declares_the_envelope_and_every_response(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    envelope = doc["components"]["schemas"]["ErrorResponse"]
    assert resolve(doc, envelope["properties"]["error"])["required"] == ["code", "message"]
    operations = api_operations(doc)
    assert len(operations) >= 25, [f"{m} {p}" for m, p, _ in operations]
    undescribed, bare_errors = [], []
    for method, path, op in operations:
        responses = op["responses"]
        successes = [code for code in responses if code.startswith("2")]
        assert successes, f"{method} {path} declares no success"
        for code in successes:
            content = responses[code].get("content", {})
            if "text/csv" in content:  # an export: CSV text, no JSON
                if content["text/csv"].get("schema", {}).get("type") != "string":
                    undescribed.append(f"{method} {path} {code}")
                continue
            if not described(doc, json_schema(responses[code])):
                undescribed.append(f"{method} {path} {code}")
        assert {"401", "422", "500"} <= set(responses), f"{method} {path}: {sorted(responses)}"
        for code, response in responses.items():
            if code[0] in "45":
                refs = [json_schema(response), *json_schema(response).get("anyOf", [])]
                if {"$ref": "#/components/schemas/ErrorResponse"} not in refs:
                    bare_errors.append(f"{method} {path} {code}")
    assert undescribed == [], "success responses without a schema"
    assert bare_errors == [], "error responses without the envelope"


def test_the_schema_checker_tells_a_real_schema_from_any() -> None:
    doc = {"components": {"schemas": {"Thing": {"type": "object", "properties": {"a": {}}}}}}
    thing = {"$ref": "#/components/schemas/Thing"}
    assert described(doc, thing) and described(doc, {"type": "array", "items": thing})
    assert described(doc, {"type": "object", "additionalProperties": thing})
    assert not described(doc, {})
    assert not described(doc, {"type": "object"})
    assert not described(doc, {"type": "object", "additionalProperties": True})
    assert not described(doc, {"type": "array", "items": {}})
