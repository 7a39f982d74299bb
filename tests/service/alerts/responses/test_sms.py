"""An SMS a customer sent: keyword first, else an answer to their open SMS alert."""

from __future__ import annotations

from sqlmodel import select

from alerts.columns import utcnow
from alerts.models import Alert, ContactPoint, Customer, Response
from alerts.responses.sms import text_received
from channels.base import InboundMessage
from tests.service.alerts.responses.conftest import PHONE, Sent


def text(body: str, sid: str) -> InboundMessage:
    return InboundMessage(
        provider_sid=sid, from_address=PHONE, to_address="+15550000000", body=body
    )


async def test_a_reply_answers_the_open_sms_alert_once(sent: Sent) -> None:
    reply = await text_received(deps=sent.deps, inbound=text("2", "SM1"), now=utcnow())
    assert reply.messages == ("Thank you for confirming. No further action is needed.",)
    again = await text_received(deps=sent.deps, inbound=text("2", "SM1"), now=utcnow())
    assert again.messages == ()  # the provider retried: nothing twice
    async with sent.deps.sessions() as session:
        alert = await session.get(Alert, sent.alert_id)
        [response] = (await session.exec(select(Response))).all()
    assert alert is not None and alert.status == "closed"
    assert (response.attempt_id, response.intent) == (sent.sms, "confirm")


async def test_stop_opts_the_number_out_and_confirms_once(sent: Sent) -> None:
    first = await text_received(deps=sent.deps, inbound=text("Stop", "SM2"), now=utcnow())
    assert len(first.messages) == 1 and "no more texts" in first.messages[0]
    second = await text_received(deps=sent.deps, inbound=text("STOP", "SM3"), now=utcnow())
    assert second.messages == ()
    async with sent.deps.sessions() as session:
        phone = (await session.exec(select(ContactPoint).where(ContactPoint.kind == "phone"))).one()
        intents = [r.intent for r in (await session.exec(select(Response))).all()]
    assert phone.sms_opted_out_at is not None and intents == ["stop", "stop"]


async def _speaks(sent: Sent, locale: str) -> None:
    async with sent.deps.sessions() as session:
        customer = await session.get(Customer, sent.customer_id)
        assert customer is not None
        customer.locale = locale
        session.add(customer)
        await session.commit()


async def test_a_dutch_customer_gets_the_keyword_replies_in_dutch(sent: Sent) -> None:
    await _speaks(sent, "nl-NL")
    help_ = await text_received(deps=sent.deps, inbound=text("HELP", "SM10"), now=utcnow())
    [message] = help_.messages
    assert "Antwoord STOP om de sms'jes te stoppen" in message
    assert "Kies welke meldingen u ontvangt: http" in message and "/p/" in message
    stop = await text_received(deps=sent.deps, inbound=text("stop", "SM11"), now=utcnow())
    assert stop.messages == (
        f"{sent.deps.brand}: u ontvangt geen sms'jes meer van dit nummer. "
        "Antwoord START om ze weer te ontvangen.",
    )


async def test_a_belgian_french_customer_gets_the_answer_reply_in_french(sent: Sent) -> None:
    await _speaks(sent, "fr-BE")
    reply = await text_received(deps=sent.deps, inbound=text("2", "SM12"), now=utcnow())
    assert reply.messages == ("Merci de votre confirmation. Vous n'avez rien d'autre à faire.",)


async def test_an_unknown_locale_falls_back_to_english(sent: Sent) -> None:
    await _speaks(sent, "pt-BR")
    reply = await text_received(deps=sent.deps, inbound=text("2", "SM13"), now=utcnow())
    assert reply.messages == ("Thank you for confirming. No further action is needed.",)
