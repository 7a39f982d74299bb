"""Customer import: good rows in, bad rows reported with their row number and reason."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlmodel import select

from alerts.customers.records import import_customers
from alerts.models import Account, ContactPoint, Customer
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.factories import api_headers

CSV = """external_ref,name,locale,timezone,accounts,phones,emails,channel_order
C-1,Ann Smith,en,Europe/London,GB29 NWBK 6016 1331 9268 19,+447700900123,ann@example.com,sms;email
C-2,Bad Phone,en,Europe/London,NL91ABNA0417164300,0612345678,,voice
C-3,Bad Zone,en,Mars/Olympus,NL20INGB0001234567,+31612345678,,voice
C-4,Bad Channel,en,UTC,DE89370400440532013000,+4915112345678,,pager
C-5,Stolen Account,en,UTC,GB29NWBK60161331926819,+447700900999,,sms
"""


async def test_csv_import_reports_bad_rows_and_keeps_good(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CSV)
    async with runtime.deps.sessions() as session:
        report = await import_customers(session=session, path=path)
    assert report.imported == 1
    errors = {e["row"]: e["error"] for e in report.errors}
    assert set(errors) == {3, 4, 5, 6}
    assert "E.164" in errors[3]
    assert "IANA time zone" in errors[4]
    assert "unknown channel" in errors[5]
    assert "already belongs to another customer" in errors[6]
    async with runtime.deps.sessions() as session:
        customers = (await session.exec(select(Customer))).all()
        assert [c.external_ref for c in customers] == ["C-1"]
        assert customers[0].channel_order == ["sms", "email"]
        accounts = (await session.exec(select(Account))).all()
        assert [a.account_id for a in accounts] == ["GB29NWBK60161331926819"]
        contacts = (await session.exec(select(ContactPoint))).all()
        assert sorted((c.kind, c.address) for c in contacts) == [
            ("email", "ann@example.com"),
            ("phone", "+447700900123"),
        ]


async def test_json_import_updates_existing(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "customers.json"
    rows = [
        {
            "external_ref": "C-9",
            "name": "Old Name",
            "accounts": ["NL91ABNA0417164300"],
            "phones": ["+31612345678"],
        }
    ]
    path.write_text(json.dumps(rows))
    async with runtime.deps.sessions() as session:
        first = await import_customers(session=session, path=path)
    rows[0]["name"] = "New Name"
    rows[0]["emails"] = ["new@example.com"]
    path.write_text(json.dumps({"customers": rows}))
    async with runtime.deps.sessions() as session:
        second = await import_customers(session=session, path=path)
    assert (first.imported, second.imported, second.updated) == (1, 0, 1)
    async with runtime.deps.sessions() as session:
        customer = (await session.exec(select(Customer))).one()
        assert customer.name == "New Name"
        assert len((await session.exec(select(ContactPoint))).all()) == 2


async def test_api_creates_customer_and_rejects_bad_body(
    settings: Settings, runtime: Runtime
) -> None:
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as client:
        ok = await client.post(
            "/api/v1/customers",
            headers=api_headers(settings),
            json={
                "external_ref": "C-7",
                "name": "Api Person",
                "timezone": "America/New_York",
                "accounts": ["US12345678"],
                "phones": ["+12025550123"],
            },
        )
        bad = await client.post(
            "/api/v1/customers",
            headers=api_headers(settings),
            json={"external_ref": "C-8", "name": "x", "phones": ["12345"]},
        )
        anon = await client.post("/api/v1/customers", json={"external_ref": "C-9", "name": "x"})
    assert ok.status_code == 201 and ok.json()["created"] is True
    assert bad.status_code == 422 and "E.164" in bad.text
    assert anon.status_code == 401
