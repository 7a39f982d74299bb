"""The API back to the CRM: subscriptions (secret shown once), the delivery log and replay, the
streamed CSV exports counted by hand, and the OpenAPI `webhooks` section."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import col, select

from alerts.columns import utcnow
from alerts.crm.deliver import fan_out, payload
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import AuditEntry, HandOff, OutboxEvent, Response, WebhookDelivery
from alerts.outbox import KINDS
from herald.runtime import Runtime
from tests.factories import make_customer, make_event

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_subscription_is_created_listed_paused_and_its_secret_shown_once(
    client: httpx.AsyncClient,
) -> None:
    made = await client.post(
        "/api/v1/crm/subscriptions",
        json={
            "url": "https://crm.example.com/herald",
            "events": ["handoff.*", "response.recorded"],
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["active"] is True
    assert body["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}

    [listed] = (await client.get("/api/v1/crm/subscriptions")).json()
    assert listed["url"] == "https://crm.example.com/herald" and "secret" not in listed
    assert listed["events"] == ["handoff.*", "response.recorded"]

    paused = await client.put(
        f"/api/v1/crm/subscriptions/{body['id']}/active", json={"active": False}
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    missing = await client.put("/api/v1/crm/subscriptions/999/active", json={"active": True})
    assert (
        missing.status_code == 404
        and "GET /api/v1/crm/subscriptions" in missing.json()["error"]["hint"]
    )


async def test_a_wrong_subscription_says_what_was_wrong(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/api/v1/crm/subscriptions", json={"url": "crm.example.com", "events": ["*"]}
    )
    assert bad.status_code == 422
    assert "is not an http(s) URL" in bad.json()["error"]["message"]
    kinds = await client.post(
        "/api/v1/crm/subscriptions",
        json={"url": "https://crm.example.com/h", "events": ["handoff.finished"]},
    )
    assert kinds.status_code == 422
    message = kinds.json()["error"]["message"]
    assert "unknown event kind(s) 'handoff.finished'" in message and "handoff.completed" in message


async def _delivered_and_failed(runtime: Runtime, client: httpx.AsyncClient) -> list[int]:
    """A subscription with two deliveries: one delivered, one failed after its retries."""
    sub = (
        await client.post(
            "/api/v1/crm/subscriptions", json={"url": "https://crm.example.com/h", "events": ["*"]}
        )
    ).json()
    async with runtime.deps.sessions() as session:
        for kind in ("response.recorded", "handoff.created"):
            session.add(OutboxEvent(kind=kind, entity=kind.split(".")[0], data={}, created_at=DAY))
        await session.commit()
        assert await fan_out(session, now=DAY) == 2
        rows = (await session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id)))).all()
        rows[0].status, rows[0].tries, rows[0].delivered_at = "delivered", 1, DAY
        rows[0].last_status_code = 204
        rows[1].status, rows[1].tries, rows[1].last_error = "failed", 14, "HTTP 503: busy"
        session.add_all(rows)
        await session.commit()
        assert sub["id"] == rows[0].subscription_id
        return [r.id for r in rows if r.id is not None]


async def test_the_delivery_log_lists_and_replays(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    delivered, failed = await _delivered_and_failed(runtime, client)

    log = (await client.get("/api/v1/crm/deliveries")).json()
    assert [(d["id"], d["kind"], d["status"]) for d in log] == [
        (failed, "handoff.created", "failed"),
        (delivered, "response.recorded", "delivered"),
    ]
    assert log[0]["last_error"] == "HTTP 503: busy" and log[1]["last_status_code"] == 204
    only = (await client.get("/api/v1/crm/deliveries", params={"status": "failed"})).json()
    assert [d["id"] for d in only] == [failed]
    older = (await client.get("/api/v1/crm/deliveries", params={"before_id": failed})).json()
    assert [d["id"] for d in older] == [delivered]
    [sub] = (await client.get("/api/v1/crm/subscriptions")).json()
    assert sub["deliveries"] == {"pending": 0, "delivered": 1, "failed": 1}

    again = await client.post(f"/api/v1/crm/deliveries/{failed}/replay")
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert (await client.post("/api/v1/crm/deliveries/999/replay")).status_code == 404
    async with runtime.deps.sessions() as session:
        actions = [(e.kind, e.action) for e in (await session.exec(select(AuditEntry))).all()]
    assert ("webhook_subscription", "create") in actions
    assert ("webhook_delivery", "replay") in actions


async def _answers(runtime: Runtime) -> None:
    """Three responses on 2 March (one routed to the call centre), one on 4 March."""
    deps = runtime.deps
    customer = await make_customer(deps, ref="C-77")
    who = customer.id
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    async with deps.sessions() as session:
        answers = [
            Response(
                dedupe_key="a",
                alert_id=alert_id,
                customer_id=who,
                channel="voice",
                key="1",
                intent="agent",
                created_at=DAY,
            ),
            Response(
                dedupe_key="b",
                alert_id=alert_id,
                customer_id=who,
                channel="sms",
                key="2",
                intent="confirm",
                text='=HYPERLINK("x")',
                created_at=DAY + timedelta(hours=2),
            ),
            Response(
                dedupe_key="c",
                alert_id=alert_id,
                customer_id=who,
                channel="email",
                key="2",
                intent="confirm",
                created_at=DAY + timedelta(hours=14, minutes=59),
            ),
            Response(
                dedupe_key="d",
                alert_id=alert_id,
                customer_id=who,
                channel="sms",
                key="1",
                intent="agent",
                created_at=DAY + timedelta(days=2),
            ),
        ]
        session.add_all(answers)
        await session.flush()
        session.add(
            HandOff(
                response_id=answers[0].id or 0,
                alert_id=alert_id,
                customer_id=who,
                kind="live_transfer",
                status="completed",
                created_at=DAY,
                closed_at=DAY + timedelta(minutes=6),
                queue="fraud",
                claimed_by="alice",
                claimed_at=DAY + timedelta(minutes=1),
            )
        )
        await session.commit()


def _rows(reply: httpx.Response) -> list[dict[str, str]]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(reply.text)))


async def test_exports_stream_the_days_asked_for(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _answers(runtime)
    span = {"since": "2026-03-02", "until": "2026-03-02"}

    rows = _rows(await client.get("/api/v1/exports/responses.csv", params=span))
    assert [(r["channel"], r["key"], r["intent"]) for r in rows] == [
        ("voice", "1", "agent"),
        ("sms", "2", "confirm"),
        ("email", "2", "confirm"),
    ]
    assert {r["customer_ref"] for r in rows} == {"C-77"} and rows[0]["alert_type"] == "large_debit"
    assert rows[0]["handoff_kind"] == "live_transfer" and rows[1]["handoff_id"] == ""
    assert rows[1]["text"] == '\'=HYPERLINK("x")'  # a spreadsheet does not run it
    assert rows[0]["answered_at"] == "2026-03-02T09:00:00+00:00"
    wider = _rows(
        await client.get("/api/v1/exports/responses.csv", params={**span, "until": "2026-03-04"})
    )
    assert len(wider) == 4

    [handoff] = _rows(await client.get("/api/v1/exports/handoffs.csv", params=span))
    assert (handoff["status"], handoff["response_channel"], handoff["customer_ref"]) == (
        "completed",
        "voice",
        "C-77",
    )
    assert handoff["closed_at"] == "2026-03-02T09:06:00+00:00"
    assert (handoff["queue"], handoff["claimed_by"], handoff["claimed_at"]) == (
        "fraud",
        "alice",
        "2026-03-02T09:01:00+00:00",
    )

    backwards = await client.get(
        "/api/v1/exports/handoffs.csv", params={"since": "2026-03-04", "until": "2026-03-02"}
    )
    assert (
        backwards.status_code == 422 and "before it starts" in backwards.json()["error"]["message"]
    )
    async with runtime.deps.sessions() as session:
        exported = [e for e in (await session.exec(select(AuditEntry))).all() if e.kind == "export"]
    assert [e.entity_id for e in exported] == ["responses", "responses", "handoffs"]


async def test_the_openapi_describes_every_webhook_with_an_example(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["webhooks"]) == set(KINDS)
    body = spec["webhooks"]["handoff.completed"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert body["example"]["type"] == "handoff.completed"
    assert "Herald-Signature" in spec["webhooks"]["handoff.completed"]["post"]["description"]
    # The documented body has exactly the fields Herald sends.
    sent = payload(
        OutboxEvent(id=1, kind="alert.failed", entity="alert", data={}, created_at=DAY), "C-1"
    )
    documented = spec["components"]["schemas"]["WebhookBody"]["properties"]
    assert set(json.loads(sent)) == set(documented) == set(body["example"])


async def test_the_studios_trials_never_reach_the_crm(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from alerts.models import TRIAL_CUSTOMER_REF

    await client.post(
        "/api/v1/crm/subscriptions", json={"url": "https://crm.example.com/h", "events": ["*"]}
    )
    real = await make_customer(runtime.deps, ref="C-REAL")
    trial = await make_customer(
        runtime.deps, ref=TRIAL_CUSTOMER_REF, account="NL00TRIAL", phone="+15555550100"
    )
    async with runtime.deps.sessions() as session:
        for who in (real, trial):
            session.add(
                OutboxEvent(
                    kind="response.recorded",
                    entity="response",
                    customer_id=who.id,
                    data={},
                    created_at=DAY,
                )
            )
        await session.commit()
        assert await fan_out(session, now=DAY) == 1
        [delivery] = (await session.exec(select(WebhookDelivery))).all()
        events = (await session.exec(select(OutboxEvent))).all()
    assert delivery.customer_id == real.id
    assert all(e.fanned_out_at is not None for e in events)  # the trial's is done with, too
