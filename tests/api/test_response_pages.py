"""Email response pages: GET never acts, POST records one answer, bad links explain themselves."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from sqlmodel import func, select

from alerts.links import LinkSigner, ResponseLink
from alerts.models import Account, Alert, Customer, DeliveryAttempt, Event, HandOff, Response
from alerts.plans import AlertOption
from herald.runtime import Runtime
from tests.factories import planned_step


@dataclass(frozen=True)
class Sent:
    alert_id: int
    attempt_id: int


@pytest.fixture
async def sent(runtime: Runtime) -> Sent:
    """An open alert about a large debit whose email went out (step 1, after a voice call)."""
    async with runtime.deps.sessions() as s:
        customer = Customer(
            external_ref="C-42",
            name="Ada Lovelace",
            timezone="Europe/London",
            channel_order=["voice", "email"],
        )
        s.add(customer)
        await s.flush()
        assert customer.id is not None
        s.add(Account(customer_id=customer.id, account_id="GB29NWBK60161331926819"))
        event = Event(
            source="camt054",
            source_event_id="NTF-42",
            event_type="debit",
            account_id="GB29NWBK60161331926819",
            customer_id=customer.id,
            amount=Decimal("980.00"),
            currency="GBP",
            description="ACME Electronics",
        )
        s.add(event)
        await s.flush()
        alert = Alert(
            dedupe_key="large_debit:camt054:NTF-42",
            alert_type="large_debit",
            options=[
                AlertOption(key="1", intent="agent", label="Speak to an agent"),
                AlertOption(key="2", intent="confirm", label="This payment was mine"),
            ],
            customer_id=customer.id,
            event_id=event.id,
            status="delivering",
            plan=[
                planned_step("voice", "+447700900123"),
                planned_step("email", "ada@example.com"),
            ],
            current_step=1,
            context={
                "amount": "980.00",
                "currency": "GBP",
                "merchant": "ACME Electronics",
                "account_ending": "6819",
                "booking_date": "2024-05-01",
            },
        )
        s.add(alert)
        await s.flush()
        assert alert.id is not None
        attempt = DeliveryAttempt(
            alert_id=alert.id,
            step_index=1,
            channel="email",
            address="ada@example.com",
            status="sent",
        )
        s.add(attempt)
        await s.commit()
        assert attempt.id is not None
        return Sent(alert_id=alert.id, attempt_id=attempt.id)


def token(runtime: Runtime, attempt_id: int, option: str) -> str:
    return runtime.deps.links.sign(ResponseLink(attempt_id=attempt_id, option=option))


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.deps.sessions() as s:
        responses = (await s.exec(select(func.count()).select_from(Response))).one()
        handoffs = (await s.exec(select(func.count()).select_from(HandOff))).one()
        return responses, handoffs


async def alert_of(runtime: Runtime, sent: Sent) -> Alert:
    async with runtime.deps.sessions() as s:
        alert = await s.get(Alert, sent.alert_id)
        assert alert is not None
        return alert


@pytest.mark.parametrize(
    "option,words", [("agent", "Speak to an agent"), ("confirm", "This payment was mine")]
)
async def test_opening_the_link_only_asks_for_confirmation(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent, option: str, words: str
) -> None:
    link = f"/r/{token(runtime, sent.attempt_id, option)}"
    for _ in range(2):  # a mail scanner and then the customer
        response = await client.get(link)
        assert response.status_code == 200
    html = response.text
    assert words in html and "£980.00" in html and "ACME Electronics" in html
    assert f'<form method="post" action="{link}">' in html
    assert 'name="confirm" value="yes"' in html
    assert "GB29NWBK" not in html and "6819" not in html  # no account numbers
    assert response.headers["referrer-policy"] == "no-referrer"
    assert await counts(runtime) == (0, 0)
    assert (await alert_of(runtime, sent)).status == "delivering"


async def test_asking_for_an_agent_records_one_answer_and_one_callback(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    link = f"/r/{token(runtime, sent.attempt_id, 'agent')}"
    response = await client.post(link, data={"confirm": "yes"})
    assert response.status_code == 200
    assert "An agent will call you back" in response.text
    async with runtime.deps.sessions() as s:
        answer = (await s.exec(select(Response))).one()
        handoff = (await s.exec(select(HandOff))).one()
    assert (answer.dedupe_key, answer.channel, answer.key, answer.intent, answer.alert_id) == (
        f"email:{sent.attempt_id}",
        "email",
        "agent",
        "agent",
        sent.alert_id,
    )
    assert (handoff.kind, handoff.response_id, handoff.status) == ("callback", answer.id, "queued")
    assert (await alert_of(runtime, sent)).status == "closed"


async def test_confirming_closes_the_alert_without_a_handoff(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    link = f"/r/{token(runtime, sent.attempt_id, 'confirm')}"
    response = await client.post(link, data={"confirm": "yes"})
    assert response.status_code == 200
    assert "No further action is needed" in response.text
    assert await counts(runtime) == (1, 0)
    alert = await alert_of(runtime, sent)
    assert alert.status == "closed"
    assert alert.closed_reason == (
        "customer confirmed the alert ('This payment was mine') by email"
    )


async def test_a_replayed_post_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    agent = f"/r/{token(runtime, sent.attempt_id, 'agent')}"
    confirm = f"/r/{token(runtime, sent.attempt_id, 'confirm')}"
    assert (await client.post(agent, data={"confirm": "yes"})).status_code == 200
    for link in (agent, confirm):
        again = await client.post(link, data={"confirm": "yes"})
        assert again.status_code == 200
        assert "already answered" in again.text
        assert "asked to speak to an agent" in again.text
    assert await counts(runtime) == (1, 1)
    page = await client.get(confirm)
    assert "We already have your answer" in page.text
    assert "<form" not in page.text


async def test_a_bare_post_without_the_confirm_field_does_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    link = f"/r/{token(runtime, sent.attempt_id, 'agent')}"
    for data in ({}, {"confirm": "no"}):
        response = await client.post(link, data=data)
        assert response.status_code == 400
        assert "Nothing was recorded" in response.text
    assert await counts(runtime) == (0, 0)
    assert (await alert_of(runtime, sent)).status == "delivering"


async def test_a_tampered_link_shows_an_error_and_records_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    good = token(runtime, sent.attempt_id, "agent")
    forged = LinkSigner("someone-elses-secret").sign(
        ResponseLink(attempt_id=sent.attempt_id, option="agent")
    )
    for bad in (good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"), forged):
        page = await client.get(f"/r/{bad}")
        assert page.status_code == 400
        assert "This link does not work" in page.text and "altered" in page.text
        assert runtime.deps.callcentre_number in page.text
        posted = await client.post(f"/r/{bad}", data={"confirm": "yes"})
        assert posted.status_code == 400
    assert await counts(runtime) == (0, 0)


async def test_an_expired_link_says_so(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    link = f"/r/{token(runtime, sent.attempt_id, 'agent')}"
    runtime.deps.links = LinkSigner(
        runtime.settings.secret_key.get_secret_value(), max_age_seconds=-1
    )
    page = await client.get(link)
    assert page.status_code == 410
    assert "This link has expired" in page.text and "call us" in page.text
    assert runtime.deps.callcentre_number in page.text
    assert (await client.post(link, data={"confirm": "yes"})).status_code == 410
    assert await counts(runtime) == (0, 0)


async def test_links_to_unknown_attempts_or_options_record_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    missing = f"/r/{token(runtime, sent.attempt_id + 1000, 'agent')}"
    assert (await client.get(missing)).status_code == 410
    assert (await client.post(missing, data={"confirm": "yes"})).status_code == 410
    odd = f"/r/{token(runtime, sent.attempt_id, 'delete_account')}"
    assert (await client.get(odd)).status_code == 400
    assert (await client.post(odd, data={"confirm": "yes"})).status_code == 400
    assert await counts(runtime) == (0, 0)


async def test_the_confirm_page_names_the_answer_in_the_customers_language(
    client: httpx.AsyncClient, runtime: Runtime, sent: Sent
) -> None:
    """The seeded large_debit writes its answers in five languages (``labels``): a French
    customer is asked to confirm "Je reconnais ce paiement", not an English label."""
    async with runtime.deps.sessions() as s:
        alert = await s.get(Alert, sent.alert_id)
        assert alert is not None
        customer = await s.get(Customer, alert.customer_id)
        assert customer is not None
        customer.locale = "fr"
        s.add(customer)
        await s.commit()
    html = (await client.get(f"/r/{token(runtime, sent.attempt_id, 'confirm')}")).text
    assert "Je reconnais ce paiement" in html and "This payment was mine" not in html
