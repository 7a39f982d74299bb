"""A demo customer in their own language, end to end: Bram de Vries (locale nl in
examples/customers.csv) hears the large-debit call in Dutch with the Dutch voice, asks for a
copy by text and gets a Dutch SMS, texts HELP and gets Herald's Dutch keyword reply."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from alerts.customers.records import import_customers
from alerts.deps import DEFAULT_VOICES
from alerts.models import Alert, Customer, Response
from channels.i18n import translations
from herald.demo import tune_for_demo
from herald.demo_bank import DemoBank, running_bank
from herald.worker import drain
from tests.conftest import REPO, Stack
from tests.factories import api_headers

pytestmark = pytest.mark.integration
BRAM = "+15550000002"
HELP = (
    "%(brand)s alerts: we text you about activity on your account. Reply STOP to "
    "stop texts, START to resume. Call %(number)s for help."
)


def _says(stack: Stack) -> list[dict[str, str]]:
    calls = [c for c in stack.sim.state.calls.values() if c.to == BRAM]
    return [t for c in calls for t in c.transcript if t.get("verb") == "Say"]


async def _demo(stack: Stack, bram: dict[str, object]) -> None:
    """The demo customers and the first demo feed, with Bram behaving as ``bram`` says."""
    stack.set_scenario(
        {
            "default": {"voice": {"answer": "no-answer"}, "sms": {"delivery": "delivered"}},
            "recipients": {BRAM: bram},
        }
    )
    async with stack.runtime.deps.sessions() as session:
        await import_customers(session=session, path=REPO / "examples" / "customers.csv")
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        resp = await client.post(
            "/api/v1/ingest/camt054",
            content=(REPO / "examples" / "feeds" / "camt054-demo.xml").read_bytes(),
            headers={**api_headers(stack.settings), "X-Filename": "camt054-demo.xml"},
        )
        assert resp.status_code == 200, resp.text
    await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)


@pytest.fixture
async def bank(stack: Stack) -> AsyncIterator[DemoBank]:
    async with running_bank(stack.settings.transaction_signing_key) as (fake, url):
        async with stack.runtime.deps.sessions() as session:
            await tune_for_demo(session, fallback_wait_seconds=0, bank_url=url)
        yield fake


def test_the_demo_gives_at_least_three_customers_another_language() -> None:
    with (REPO / "examples" / "customers.csv").open(encoding="utf-8") as handle:
        locales = {row["name"]: row["locale"] for row in csv.DictReader(handle)}
    others = {name: locale for name, locale in locales.items() if locale != "en"}
    assert len(others) >= 3 and others["Bram de Vries"] == "nl", others


async def test_a_dutch_demo_customer_hears_reads_and_gets_replies_in_dutch(
    stack: Stack, bank: DemoBank
) -> None:
    await _demo(
        stack,
        {
            "voice": {"answer": "human", "presses": ["4"]},
            "sms": {"delivery": "delivered", "reply": "HELP"},
        },
    )
    async with stack.runtime.deps.sessions() as session:
        bram = (await session.exec(select(Customer).where(Customer.name == "Bram de Vries"))).one()
        alert = (await session.exec(select(Alert).where(Alert.customer_id == bram.id))).first()
    assert bram.locale == "nl" and alert is not None and alert.locale == "nl"

    says = _says(stack)
    offer = [t for t in says if t["text"] == "For English, press 8."]
    english, dutch = DEFAULT_VOICES["en"], DEFAULT_VOICES["nl"]
    assert [(t["voice"], t["language"]) for t in offer] == [(english.voice, english.language)]
    rest = [t for t in says if t not in offer]  # everything else in the Dutch voice
    assert rest and all((t["voice"], t["language"]) == (dutch.voice, dutch.language) for t in rest)
    spoken = " ".join(t["text"] for t in rest)
    assert "Dit is een belangrijk veiligheidsbericht van uw bank" in spoken
    assert "euro" in spoken and "EUR" not in spoken  # the amount as a Dutch voice says it
    assert "Stuur mij dit per sms: druk op 4." in spoken  # the demo's own menu, in Dutch

    texts = [m for m in stack.sim.state.messages.values() if m.to == BRAM]
    [copy] = [m for m in texts if m.direction != "outbound-reply"]
    assert copy.body.startswith("Herald Bank: € ") and "afgeschreven" in copy.body
    assert "Antwoord 1 (Een medewerker spreken)" in copy.body
    [reply] = [m for m in texts if m.direction == "outbound-reply"]
    names = {"brand": stack.settings.brand, "number": stack.settings.callcentre.phone_number}
    assert reply.body.startswith(translations("nl").gettext(HELP) % names)
    assert reply.body.startswith(f"{stack.settings.brand}-meldingen: wij sturen u")


async def test_pressing_8_replays_the_call_in_english_and_it_stays_english(
    stack: Stack, bank: DemoBank
) -> None:
    await _demo(stack, {"voice": {"answer": "human", "presses": ["8", "2"]}})
    says = _says(stack)
    english = DEFAULT_VOICES["en"]
    first_english = next(
        i for i, t in enumerate(says) if t["text"].startswith("This is an important security")
    )
    before, after = says[:first_english], says[first_english:]
    assert any("veiligheidsbericht" in t["text"] for t in before)  # heard in Dutch first
    assert all((t["voice"], t["language"]) == (english.voice, english.language) for t in after)
    heard = " ".join(t["text"] for t in after)
    assert (
        "A payment of" in heard and "euros" in heard and "This payment was mine: press 2." in heard
    )
    assert "For English, press 8." not in heard  # not offered again once in English
    assert after[-1]["text"] == "Thank you. We have noted your confirmation. Goodbye."
    async with stack.runtime.deps.sessions() as session:
        bram = (await session.exec(select(Customer).where(Customer.name == "Bram de Vries"))).one()
        alert = (await session.exec(select(Alert).where(Alert.customer_id == bram.id))).one()
        responses = (
            await session.exec(select(Response).where(Response.alert_id == alert.id))
        ).all()
    assert [(r.key, r.intent) for r in responses] == [("2", "confirm")]  # 8 is not an answer
    assert alert.status == "closed"
