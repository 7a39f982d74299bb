"""The unsubscribe page (/u/) in the customer's language, with <html lang> saying which."""

from __future__ import annotations

import httpx
import pytest

from alerts.models import Customer
from herald.runtime import Runtime
from tests.service.alerts.responses.conftest import send_alert


async def _link_for(runtime: Runtime, locale: str) -> str:
    _, customer_id, attempts = await send_alert(runtime.deps)
    async with runtime.deps.sessions() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        customer.locale = locale
        session.add(customer)
        await session.commit()
    return f"/u/{runtime.deps.links.sign_unsubscribe(attempts['email'])}"


@pytest.mark.parametrize(
    "locale,lang,asked,button,done",
    [
        ("nl", "nl", "Deze berichten stoppen?", "Afmelden", "U bent afgemeld"),
        (
            "fr-BE",
            "fr",
            "Ne plus recevoir ces messages\u202f?",
            "Me désabonner",
            "Votre désabonnement",
        ),
        ("de", "de", "Diese Nachrichten abbestellen?", "Abbestellen", "Sie haben sich abgemeldet"),
        ("es", "es", "¿Dejar de recibir estos mensajes?", "Darme de baja", "Se ha dado de baja"),
        ("pt-BR", "en", "Stop these messages?", "Unsubscribe", "You are unsubscribed"),
    ],
)
async def test_the_unsubscribe_page_speaks_the_customers_language(
    client: httpx.AsyncClient,
    runtime: Runtime,
    locale: str,
    lang: str,
    asked: str,
    button: str,
    done: str,
) -> None:
    link = await _link_for(runtime, locale)
    shown = await client.get(link)
    assert shown.status_code == 200
    assert f'<html lang="{lang}">' in shown.text
    assert asked in shown.text and button in shown.text
    assert runtime.deps.callcentre_number in shown.text
    answered = await client.post(link)
    assert answered.status_code == 200 and done in answered.text
    assert f'<html lang="{lang}">' in answered.text


async def test_staff_pages_stay_english(client: httpx.AsyncClient) -> None:
    login = await client.get("/admin/login")
    assert login.status_code == 200 and '<html lang="en">' in login.text
