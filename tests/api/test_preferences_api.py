"""Preferences and consent over the API: round trip, readable 422s, reset, the change log, and
the customer history that shows the changes and each decision's plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from admin_ui.users import create_user
from alerts.customers.preferences import contact_points, load_preferences
from alerts.customers.records import find_customer
from alerts.models import Decision, Event
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.envelope import error_of, lines_of
from tests.factories import make_customer

BASE = "/api/v1/customers/C-7/preferences"


@pytest.fixture
async def contacts(runtime: Runtime) -> dict[str, int]:
    """Customer C-7 with a phone and an email (their contact point ids by kind, and the
    customer's id), and another customer's phone."""
    ada = await make_customer(
        runtime.deps, ref="C-7", name="Ada Lovelace", phone="+447700900123", email="ada@example.com"
    )
    other = await make_customer(
        runtime.deps,
        ref="C-8",
        name="Other Person",
        account="GB0000000000000000008",
        phone="+447700900999",
        email="other@example.com",
    )
    assert ada.id is not None and other.id is not None
    async with runtime.deps.sessions() as session:
        rows = await contact_points(session, ada.id)
        theirs = await contact_points(session, other.id)
    out = {c.kind: c.id for c in rows if c.id is not None}
    out["other_phone"] = next(c.id for c in theirs if c.kind == "phone" and c.id)
    out["customer"] = ada.id
    return out


async def rules_preferences(runtime: Runtime, ref: str = "C-7") -> Any:
    async with runtime.deps.sessions() as session:
        customer = await find_customer(session=session, external_ref=ref)
        assert customer is not None
        return await load_preferences(session, customer)


async def test_round_trip_through_the_rules(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, contacts: dict[str, int]
) -> None:
    empty = (await client.get(BASE)).json()
    assert empty["default"] == {} and empty["per_alert_type"] == {}
    assert [(c["kind"], c["address"]) for c in empty["contact_points"]] == [
        ("phone", "+447700900123"),
        ("email", "ada@example.com"),
    ]
    assert empty["contact_points"][0]["consent"]["source"] == "import"
    assert {"large_debit", "low_balance"} <= {t["key"] for t in empty["alert_types"]}
    assert empty["link"].startswith(f"{settings.public_url}/p/")

    default = {
        "channels": [
            {"channel": "sms", "contact_point_id": contacts["phone"]},
            {"channel": "email", "contact_point_id": contacts["email"]},
        ],
        "quiet_hours": [{"window": "21:30 - 07:30", "channels": ["voice", "sms"]}],
        "language": "en",
        "caps": [{"max_alerts": 3, "period_seconds": 86400}],
    }
    saved = await client.put(f"{BASE}/*", json=default)
    assert saved.status_code == 200, saved.text
    assert saved.json()["changed"] is True
    assert saved.json()["preference"]["quiet_hours"][0]["window"] == "21:30-07:30"
    again = await client.put(f"{BASE}/*", json=default)
    assert again.json()["changed"] is False  # the same preference twice is one change

    low = await client.put(f"{BASE}/low_balance", json={"opted_out": True})
    assert low.json()["changed"] is True and low.json()["notes"] == []
    mandatory = await client.put(f"{BASE}/large_debit", json={"opted_out": True})
    assert mandatory.status_code == 200
    assert "large_debit is mandatory" in mandatory.json()["notes"][0]

    got = (await client.get(BASE)).json()
    assert got["default"]["language"] == "en"
    assert got["default"]["channels"][0] == {
        "channel": "sms",
        "contact_point_id": contacts["phone"],
    }
    assert got["per_alert_type"] == {
        "large_debit": {"opted_out": True},
        "low_balance": {"opted_out": True},
    }

    prefs = await rules_preferences(runtime)
    assert [c.channel for c in prefs.default.channels] == ["sms", "email"]
    assert prefs.default.quiet_hours[0].window.describe() == "21:30-07:30"
    assert prefs.per_alert_type["low_balance"].opted_out is True
    assert prefs.caps[0].max_alerts == 3

    page = await client.get(got["link"].removeprefix(settings.public_url))
    assert page.status_code == 200 and "Ada" in page.text


@pytest.mark.parametrize(
    "body,expected",
    [
        ({"channels": [{"channel": "fax", "contact_point_id": 1}]}, "channels.0.channel"),
        ({"quiet_hours": [{"window": "25:00-07:00"}]}, "quiet_hours.0.window"),
        ({"quiet_hours": [{"window": "07:00-07:00"}]}, "is empty"),
        ({"language": "English"}, "language"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        ({"opted_out_channels": ["pigeon"]}, "opted_out_channels.0"),
        ([1, 2], "Input should be a valid dictionary"),
    ],
)
async def test_a_bad_body_is_a_readable_422(
    client: httpx.AsyncClient, contacts: dict[str, int], body: Any, expected: str
) -> None:
    response = await client.put(f"{BASE}/*", json=body)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_failed"
    lines = lines_of(response)
    assert any(expected in line for line in lines), lines
    assert (await client.get("/api/v1/customers/C-7/preference-changes")).json() == []


async def test_contact_points_must_be_the_customers_own_and_of_the_right_kind(
    client: httpx.AsyncClient, contacts: dict[str, int]
) -> None:
    theirs = {"channels": [{"channel": "sms", "contact_point_id": contacts["other_phone"]}]}
    response = await client.put(f"{BASE}/*", json=theirs)
    assert response.status_code == 422
    assert "is not this customer's" in lines_of(response)[0]
    wrong_kind = {"channels": [{"channel": "email", "contact_point_id": contacts["phone"]}]}
    response = await client.put(f"{BASE}/*", json=wrong_kind)
    assert response.status_code == 422 and "needs a email" in lines_of(response)[0]
    caps = {"caps": [{"max_alerts": 1, "period_seconds": 3600}]}
    response = await client.put(f"{BASE}/low_balance", json=caps)
    assert response.status_code == 422 and "default preference" in lines_of(response)[0]


async def test_unknown_alert_type_customer_and_missing_token(
    client: httpx.AsyncClient, contacts: dict[str, int]
) -> None:
    response = await client.put(f"{BASE}/no_such_type", json={"opted_out": True})
    assert response.status_code == 404
    assert "no_such_type" in error_of(response)["message"]
    assert "large_debit" in error_of(response)["message"]  # lists the known keys
    assert "large_debit" in error_of(response)["info"]["known"]
    assert (await client.delete(f"{BASE}/no_such_type")).status_code == 404
    missing = await client.get("/api/v1/customers/NOBODY/preferences")
    assert missing.status_code == 404
    anonymous = await client.get(BASE, headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_delete_goes_back_to_inheriting_and_is_recorded(
    client: httpx.AsyncClient, runtime: Runtime, contacts: dict[str, int]
) -> None:
    await client.put(f"{BASE}/low_balance", json={"opted_out": True, "language": "en"})
    assert "low_balance" in (await rules_preferences(runtime)).per_alert_type
    deleted = await client.delete(f"{BASE}/low_balance", headers={"X-Herald-Actor": "crm"})
    assert deleted.json() == {"alert_type": "low_balance", "changed": True}
    assert "low_balance" not in (await rules_preferences(runtime)).per_alert_type
    assert (await client.get(BASE)).json()["per_alert_type"] == {}
    assert (await client.delete(f"{BASE}/low_balance")).json()["changed"] is False
    log = (await client.get("/api/v1/customers/C-7/preference-changes")).json()
    assert [(c["actor"], c["alert_type"], c["after"]) for c in log] == [
        ("crm", "low_balance", {}),
        ("shared-token", "low_balance", {"opted_out": True, "language": "en"}),
    ]
    assert log[0]["before"] == {"opted_out": True, "language": "en"}


async def test_consent_is_recorded_withdrawn_and_logged(
    client: httpx.AsyncClient, runtime: Runtime, contacts: dict[str, int]
) -> None:
    url = f"/api/v1/customers/C-7/contact-points/{contacts['email']}/consent"
    given = await client.put(
        url,
        json={"source": "web_form", "confirmed": True, "marketing": True},
        headers={"X-Herald-Actor": "web: signup"},
    )
    assert given.status_code == 200, given.text
    assert given.json()["consent"]["source"] == "web_form"
    assert given.json()["consent"]["marketing"] is True
    withdrawn = await client.put(url, json={"source": "phone", "withdrawn": True})
    assert withdrawn.json()["consent"]["withdrawn_at"] is not None
    email = next(c for c in (await rules_preferences(runtime)).contact_points if c.kind == "email")
    assert email.consent.withdrawn_at is not None
    bad = await client.put(url, json={"source": ""})
    assert bad.status_code == 422 and "source" in lines_of(bad)[0]
    naive = await client.put(url, json={"source": "web", "given_at": "2026-01-01T10:00:00"})
    assert naive.status_code == 422 and "given_at" in lines_of(naive)[0]
    theirs = f"/api/v1/customers/C-7/contact-points/{contacts['other_phone']}/consent"
    assert (await client.put(theirs, json={"source": "x"})).status_code == 404
    log = (await client.get("/api/v1/customers/C-7/preference-changes")).json()
    assert [(c["actor"], c["alert_type"]) for c in log] == [
        ("shared-token", f"contact:{contacts['email']}"),
        ("web: signup", f"contact:{contacts['email']}"),
    ]
    assert log[0]["before"]["withdrawn_at"] is None and log[0]["after"]["withdrawn_at"]


async def test_history_shows_changes_and_the_decision_plan(
    client: httpx.AsyncClient, runtime: Runtime, contacts: dict[str, int]
) -> None:
    await client.put(
        f"{BASE}/*",
        json={"quiet_hours": [{"window": "22:00-07:00"}], "opted_out_channels": ["voice"]},
    )
    async with runtime.deps.sessions() as s:
        event = Event(
            source="camt054",
            source_event_id="NTF-7",
            event_type="debit_posted",
            account_id="NL91ABNA0417164300",
            customer_id=contacts["customer"],
            amount=Decimal("900.00"),
            currency="EUR",
        )
        s.add(event)
        await s.flush()
        assert event.id is not None
        s.add(
            Decision(
                event_id=event.id,
                alert_type="large_debit",
                customer_id=contacts["customer"],
                outcome="alert",
                reason="large_debit: 900.00 >= 500",
                detail={
                    "kind": "plan",
                    "steps": [
                        {
                            "channel": "sms",
                            "contact_point_id": str(contacts["phone"]),
                            "address": "+447700900123",
                            "attempt": 1,
                            "not_before": datetime(2024, 5, 2, 6, 0, tzinfo=UTC).isoformat(),
                            "deadline": datetime(2024, 5, 2, 21, 0, tzinfo=UTC).isoformat(),
                            "locale": "en",
                            "reason": "sms to phone 1 (***0123), attempt 1/1: moved by quiet "
                            "hours 22:00-07:00",
                        }
                    ],
                    "notes": [
                        "voice to phone 1 (***0123) dropped: the customer opted out of voice"
                    ],
                },
            )
        )
        await s.commit()

    history = (await client.get("/api/v1/customers/C-7/history")).json()
    [change] = history["preference_changes"]
    assert change["actor"] == "shared-token" and change["subject"] == "default preference"
    assert "quiet_hours: inherited → 22:00-07:00" in change["summary"]
    assert "opted_out_channels: inherited → voice" in change["summary"]
    [default] = history["preferences"]
    assert default["data"]["opted_out_channels"] == ["voice"]
    assert default["summary"] == "quiet_hours: 22:00-07:00; opted_out_channels: voice"
    [decision] = history["events"][0]["decisions"]
    assert decision["outcome"] == "alert"  # the keys the history always had are still there
    [step] = decision["steps"]
    assert step["channel"] == "sms" and step["to"] == "+44***23"
    assert step["not_before"].startswith("2024-05-02T06:00")
    assert "moved by quiet hours" in step["reason"]
    assert decision["notes"] == [
        "voice to phone 1 (***0123) dropped: the customer opted out of voice"
    ]

    # The administrator's single view shows them too.
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="ops", password="correct horse battery")
    form = await client.get("/admin/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf
    await client.post(
        "/admin/login",
        data={"username": "ops", "password": "correct horse battery", "csrf_token": csrf[1]},
    )
    view = await client.get("/admin/customers/C-7")
    assert view.status_code == 200
    assert "changed the default preference" in view.text
    assert "quiet_hours: 22:00-07:00; opted_out_channels: voice" in view.text
    assert "quiet_hours: inherited → 22:00-07:00" in view.text
    assert "How this was decided" in view.text and "moved by quiet hours" in view.text
    assert "the customer opted out of voice" in view.text
