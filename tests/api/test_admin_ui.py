"""Admin UI over HTTP: login, CSRF, redirects, customer search, the single view, open hand-offs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import col, select

from admin_ui.users import authenticate, create_user, hash_password, verify_password
from alerts.models import (
    Account,
    Alert,
    AttemptEvent,
    ContactPoint,
    Customer,
    Decision,
    DeliveryAttempt,
    Event,
    HandOff,
    Response,
)
from alerts.plans import PlannedStep
from herald.runtime import Runtime
from tests.service.alerts.customers.test_history import seed

PASSWORD = "correct horse battery"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # 14:00 CEST in Europe/Berlin
REASON = "debit 750.00 EUR on DE001234 is at or above the threshold 100.00; first channel voice"


@pytest.fixture
async def staff(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="alice", password=PASSWORD, role="agent")


async def seed_customer(
    runtime: Runtime,
    *,
    ref: str = "C-1001",
    name: str = "Ada Lovelace",
    with_history: bool = True,
    created_at: datetime = T0,
) -> None:
    """A customer; with history: one large debit → decision → alert → voice attempt with its
    status timeline (one late callback ignored) → "press 1" answer → open live transfer."""
    async with runtime.deps.sessions() as s:
        customer = Customer(
            external_ref=ref,
            name=name,
            timezone="Europe/Berlin",
            channel_order=["voice", "sms", "email"],
            created_at=created_at,
        )
        s.add(customer)
        await s.flush()
        assert customer.id is not None
        if not with_history:
            await s.commit()
            return
        account = f"DE00{customer.id:04d}"
        s.add(Account(customer_id=customer.id, account_id=account))
        s.add(ContactPoint(customer_id=customer.id, kind="phone", address="+4915112345678"))
        s.add(ContactPoint(customer_id=customer.id, kind="email", address="ada@example.com"))
        event = Event(
            source="camt054",
            source_event_id=f"NTF-{ref}",
            event_type="debit",
            account_id=account,
            customer_id=customer.id,
            amount=Decimal("750.00"),
            currency="EUR",
            credit_debit="DBIT",
            booking_date=date(2024, 5, 1),
            description="ACME Electronics",
            created_at=T0,
        )
        s.add(event)
        await s.flush()
        assert event.id is not None
        decision = Decision(
            event_id=event.id,
            alert_type="account_activity",
            customer_id=customer.id,
            outcome="alert",
            reason=REASON,
            created_at=T0,
        )
        s.add(decision)
        await s.flush()
        alert = Alert(
            dedupe_key=f"account_activity:camt054:NTF-{ref}",
            alert_type="account_activity",
            customer_id=customer.id,
            event_id=event.id,
            decision_id=decision.id,
            status="closed",
            closed_reason="customer asked to speak to an agent by voice",
            plan=[
                PlannedStep(
                    channel="voice",
                    contact_point_id="1",
                    address="+4915112345678",
                    not_before=T0,
                    deadline=T0 + timedelta(hours=1),
                    reason="voice is the customer's first choice",
                ),
                PlannedStep(
                    channel="sms",
                    contact_point_id="1",
                    address="+4915112345678",
                    not_before=T0,
                    deadline=T0 + timedelta(hours=1),
                    reason="fallback when the call is not answered",
                ),
            ],
            context={"amount": "750.00", "currency": "EUR", "merchant": "ACME Electronics"},
            created_at=T0,
        )
        s.add(alert)
        await s.flush()
        assert alert.id is not None
        attempt = DeliveryAttempt(
            alert_id=alert.id,
            step_index=0,
            channel="voice",
            address="+4915112345678",
            status="completed",
            provider_sid=f"CA-{ref}",
            created_at=T0,
        )
        s.add(attempt)
        await s.flush()
        assert attempt.id is not None
        for i, (status, provider, detail, applied) in enumerate(
            [
                ("sending", None, "handed to Twilio", True),
                ("ringing", "ringing", None, True),
                ("completed", "completed", "answered by a human", True),
                ("ringing", "ringing", "late callback after completed", False),
            ]
        ):
            s.add(
                AttemptEvent(
                    attempt_id=attempt.id,
                    status=status,
                    provider_status=provider,
                    detail=detail,
                    applied=applied,
                    created_at=T0 + timedelta(seconds=10 * (i + 1)),
                )
            )
        response = Response(
            dedupe_key=f"voice:CA-{ref}:1",
            alert_id=alert.id,
            attempt_id=attempt.id,
            customer_id=customer.id,
            channel="voice",
            key="1",
            intent="agent",
            created_at=T0 + timedelta(minutes=1),
        )
        s.add(response)
        await s.flush()
        assert response.id is not None
        s.add(
            HandOff(
                response_id=response.id,
                alert_id=alert.id,
                customer_id=customer.id,
                kind="live_transfer",
                status="queued",
                created_at=T0 + timedelta(minutes=1),
                context={
                    "customer": {"ref": ref, "name": name, "timezone": "Europe/Berlin"},
                    "alert": {
                        "id": alert.id,
                        "type": "account_activity",
                        "amount": "750.00",
                        "currency": "EUR",
                        "merchant": "ACME Electronics",
                    },
                    "answer": {"channel": "voice", "key": "1", "intent": "agent", "text": None},
                },
            )
        )
        await s.commit()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


async def login(
    client: httpx.AsyncClient, password: str = PASSWORD, next_path: str | None = None
) -> httpx.Response:
    form = await client.get("/admin/login")
    data = {"username": "alice", "password": password, "csrf_token": csrf_of(form.text)}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/admin/login", data=data)


# --- users -----------------------------------------------------------------------------------


async def test_create_user_refuses_short_passwords_duplicates_and_unknown_roles(
    runtime: Runtime,
) -> None:
    async with runtime.deps.sessions() as session:
        with pytest.raises(ValueError, match="at least 10 characters"):
            await create_user(session=session, username="bob", password="short")
        with pytest.raises(ValueError, match="unknown role"):
            await create_user(session=session, username="bob", password=PASSWORD, role="root")
        user = await create_user(session=session, username="Bob", password=PASSWORD)
        assert user.role == "admin" and user.password_hash != PASSWORD
        with pytest.raises(ValueError, match="already exists"):
            await create_user(session=session, username="bob ", password=PASSWORD)
        assert (await authenticate(session=session, username="BOB", password=PASSWORD)) is not None
        assert await authenticate(session=session, username="bob", password=PASSWORD + "x") is None
        assert await authenticate(session=session, username="nobody", password=PASSWORD) is None


def test_password_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2")
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, "wrong password")
    assert not verify_password("not-a-hash", PASSWORD)


# --- login, logout, CSRF ---------------------------------------------------------------------


async def test_login_succeeds_and_opens_the_customer_list(
    client: httpx.AsyncClient, staff: None
) -> None:
    response = await login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/customers"
    page = await client.get("/admin/customers")
    assert page.status_code == 200
    assert "alice" in page.text and "Customers" in page.text


@pytest.mark.parametrize("username,password", [("alice", "wrong password!"), ("mallory", PASSWORD)])
async def test_wrong_credentials_show_the_form_again_without_saying_which(
    client: httpx.AsyncClient, staff: None, username: str, password: str
) -> None:
    form = await client.get("/admin/login")
    response = await client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert 'name="password"' in response.text
    assert (await client.get("/admin/customers")).status_code == 303


async def test_login_without_csrf_token_is_refused(client: httpx.AsyncClient, staff: None) -> None:
    await client.get("/admin/login")
    for data in (
        {"username": "alice", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "csrf_token": "forged"},
    ):
        response = await client.post("/admin/login", data=data)
        assert response.status_code == 403
        assert "could not be accepted" in response.text
    assert (await client.get("/admin/customers")).status_code == 303


async def test_logout_needs_the_csrf_token(client: httpx.AsyncClient, staff: None) -> None:
    await login(client)
    refused = await client.post("/admin/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    page = await client.get("/admin/customers")
    assert page.status_code == 200
    done = await client.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/admin/login"
    assert (await client.get("/admin/customers")).status_code == 303


@pytest.mark.parametrize(
    "path",
    [
        "/admin",
        "/admin/customers",
        "/admin/customers?q=ada",
        "/admin/customers/C-1001",
        "/admin/handoffs",
    ],
)
async def test_pages_send_a_logged_out_visitor_to_the_login_form(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/login?next={quote(path, safe='')}"


@pytest.mark.parametrize(
    "next_path,expected",
    [
        ("/admin/handoffs", "/admin/handoffs"),
        ("https://evil.example/admin", "/admin/customers"),
        ("//evil.example/admin", "/admin/customers"),
    ],
)
async def test_login_returns_to_the_page_asked_for_but_never_off_site(
    client: httpx.AsyncClient, staff: None, next_path: str, expected: str
) -> None:
    response = await login(client, next_path=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_admin_home_redirects_to_customers(client: httpx.AsyncClient, staff: None) -> None:
    await login(client)
    response = await client.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/admin/customers"


# --- pages -----------------------------------------------------------------------------------


async def test_customer_page_shows_the_whole_story(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    await seed_customer(runtime)
    await login(client)
    response = await client.get("/admin/customers/C-1001")
    assert response.status_code == 200
    html = response.text
    assert "Ada Lovelace" in html and "ada@example.com" in html and "+4915112345678" in html
    assert "1. voice, 2. sms, 3. email" in html
    assert "ACME Electronics" in html and "750.00 EUR" in html and "NTF-C-1001" in html
    assert REASON in html
    assert "customer asked to speak to an agent by voice" in html
    assert "fallback when the call is not answered" in html
    timeline = html[html.index("handed to Twilio") : html.index("late callback after completed")]
    assert timeline.index("ringing") < timeline.index("answered by a human")
    assert re.search(r'class="ignored".*?late callback after completed.*?ignored', html, re.S)
    assert "Customer asked to speak to an agent by voice (answer “1”)" in html
    assert "Live transfer to the call centre" in html
    # Stored in UTC, shown in the customer's zone with its name.
    assert "2024-05-01 14:00:00 CEST (Europe/Berlin)" in html
    assert "2024-05-01 12:00:00" not in html


async def test_unknown_customer_is_a_404_page(client: httpx.AsyncClient, staff: None) -> None:
    await login(client)
    response = await client.get("/admin/customers/NOPE-1")
    assert response.status_code == 404
    assert "Customer not found" in response.text and "NOPE-1" in response.text


async def test_customer_page_shows_the_newest_alerts_and_links_to_older_ones(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    await seed(runtime, ref="C-PAGED", account="NL01HIST0000000025", alerts=25, skips=2, changes=3)
    await login(client)
    first = (await client.get("/admin/customers/C-PAGED")).text
    assert "Showing 20 of 25 alerts" in first
    shown = [int(n) for n in re.findall(r"Alert #(\d+) ", first)]
    assert len(shown) == 20 and shown == sorted(shown, reverse=True)
    link = re.search(r'<a class="button" href="\?([^"#]*)#alerts">Older alerts', first)
    assert link and link.group(1) == f"before={shown[-1]}"
    assert "Newest alerts" not in first
    older = (await client.get(f"/admin/customers/C-PAGED?{link.group(1)}")).text
    assert "Showing 21 to 25 of 25 alerts" in older
    rest = [int(n) for n in re.findall(r"Alert #(\d+) ", older)]
    assert len(rest) == 5 and max(rest) < min(shown)
    assert "Older alerts" not in older
    assert '<a class="button light" href="?#alerts">← Newest alerts</a>' in older
    # The events without an alert and the changes are lists of their own, on every page.
    for html in (first, older):
        assert "Showing 2 of 2 events without an alert" in html
        assert "Showing 3 of 3 preference changes" in html
    # A hand-off's moves, with the agent who moved it and the late move that was refused.
    assert "by agent ann" in first and "refused: claim from completed" in first


async def test_search_finds_customers_by_reference_or_name(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    await seed_customer(runtime)
    await seed_customer(runtime, ref="C-2002", name="Grace Hopper", with_history=False)
    await login(client)
    everyone = (await client.get("/admin/customers")).text
    assert "C-1001" in everyone and "C-2002" in everyone
    assert re.search(
        r"C-1001</a></td>\s*<td>Ada Lovelace</td>\s*<td>DE000001</td>\s*"
        r"<td>1</td>\s*<td><span class=\"badge good\">closed",
        everyone,
    )
    by_name = (await client.get("/admin/customers", params={"q": "grace"})).text
    assert "C-2002" in by_name and "C-1001" not in by_name
    by_ref = (await client.get("/admin/customers", params={"q": "1001"})).text
    assert "C-1001" in by_ref and "C-2002" not in by_ref
    nothing = (await client.get("/admin/customers", params={"q": "%"})).text
    assert "No customers found" in nothing


async def test_customer_list_is_newest_first_in_pages_of_fifty(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    for i in range(51):
        await seed_customer(
            runtime,
            ref=f"P-{i:03d}",
            name=f"Person {i}",
            with_history=False,
            created_at=T0 + timedelta(minutes=i),
        )
    await login(client)
    first = (await client.get("/admin/customers")).text
    refs = re.findall(r">(P-\d{3})</a>", first)
    assert len(refs) == 50 and refs[0] == "P-050" and "P-000" not in refs
    second = (await client.get("/admin/customers", params={"page": 2})).text
    assert re.findall(r">(P-\d{3})</a>", second) == ["P-000"]
    assert "Page 2 of 2" in second


async def test_open_handoffs_list_who_answered_what(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    await seed_customer(runtime)
    await seed_customer(runtime, ref="C-3003", name="Closed Case")
    async with runtime.deps.sessions() as s:
        done = (
            await s.exec(
                select(HandOff)
                .join(Customer, col(Customer.id) == HandOff.customer_id)
                .where(Customer.external_ref == "C-3003")
            )
        ).one()
        done.status = "completed"
        s.add(done)
        await s.commit()
    await login(client)
    html = (await client.get("/admin/handoffs")).text
    assert '<a href="/admin/customers/C-1001">Ada Lovelace</a>' in html
    assert "Customer asked to speak to an agent by voice" in html
    assert "750.00 EUR to ACME Electronics" in html
    assert "Live transfer" in html and "2024-05-01 14:01:00 CEST (Europe/Berlin)" in html
    assert "C-3003" not in html


async def test_names_from_the_data_are_escaped(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    await seed_customer(runtime, ref="X-1", name="<script>alert(1)</script>", with_history=False)
    await login(client)
    html = (await client.get("/admin/customers")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_a_callback_shows_when_to_call_and_a_task_what_to_do(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    await seed_customer(runtime)
    async with runtime.deps.sessions() as s:
        handoff = (await s.exec(select(HandOff))).one()
        handoff.kind = "callback"
        handoff.context = {
            **handoff.context,
            "callback_at": "2024-05-02T12:30:00+00:00",
            "task": "complete the transaction: the endpoint answered HTTP 503",
        }
        s.add(handoff)
        await s.commit()
    await login(client)
    html = (await client.get("/admin/handoffs")).text
    assert "call back 2024-05-02 14:30:00 CEST (Europe/Berlin)" in html
    assert "the endpoint answered HTTP 503" in html


async def test_the_studios_trial_customer_is_not_in_the_customer_list(
    client: httpx.AsyncClient, staff: None, runtime: Runtime
) -> None:
    from alerts.models import TRIAL_CUSTOMER_REF
    from tests.factories import make_customer

    await seed_customer(runtime, ref="C-REAL", name="Real Person", with_history=False)
    await make_customer(
        runtime.deps, ref=TRIAL_CUSTOMER_REF, name="Sam Jansen", account="NL00TRIAL", phone=None
    )
    await login(client)
    listed = (await client.get("/admin/customers")).text
    searched = (await client.get("/admin/customers", params={"q": "Jansen"})).text
    assert "Real Person" in listed and "Sam Jansen" not in listed
    assert "Sam Jansen" not in searched
