"""Every customer page (preferences, answer confirm, consent, forward, unsubscribe) in each of
Herald's five languages, in real Chromium at 320, 390 and 1280 px: in that language (its own
heading, no English sentence left), <html lang> right, no sideways scroll, axe clean. One
browser context per language; the screenshots are kept (``customer-<page>-<lang>-<width>.png``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from alerts.alert_types.store import get_spec, save_spec
from alerts.links import ResponseLink
from alerts.models import ContactPoint, Customer
from tests.browser.axe import audit, fits, require_axe, speaks
from tests.browser.test_admin_browser import browser  # noqa: F401  (the shared fixture)
from tests.conftest import Stack
from tests.service.alerts.responses.conftest import OPTIONS, send_alert

pytestmark = pytest.mark.integration
WIDTHS = (320, 390, 1280)
# Each page's heading, as a native speaker wrote it (not read back from the catalogue).
HEADINGS = {
    "preferences": {
        "en": "Your alert settings",
        "nl": "Uw instellingen voor meldingen",
        "fr": "Vos réglages d'alertes",
        "de": "Ihre Benachrichtigungseinstellungen",
        "es": "Sus preferencias de avisos",
    },
    "answer": {
        "en": "Please confirm your answer",
        "nl": "Bevestig uw antwoord",
        "fr": "Veuillez confirmer votre réponse",
        "de": "Bitte bestätigen Sie Ihre Antwort",
        "es": "Confirme su respuesta",
    },
    "consent": {
        "en": "Receive our offers?",
        "nl": "Onze aanbiedingen ontvangen?",
        "fr": "Recevoir nos offres\u202f?",
        "de": "Unsere Angebote erhalten?",
        "es": "¿Desea recibir nuestras ofertas?",
    },
    "forward": {
        "en": "Forward this alert",
        "nl": "Deze melding doorsturen",
        "fr": "Transférer cette alerte",
        "de": "Diese Benachrichtigung weiterleiten",
        "es": "Reenviar este aviso",
    },
    "unsubscribe": {
        "en": "Stop these messages?",
        "nl": "Deze berichten stoppen?",
        "fr": "Ne plus recevoir ces messages\u202f?",
        "de": "Diese Nachrichten abbestellen?",
        "es": "¿Dejar de recibir estos mensajes?",
    },
}
# Words of an English sentence that no page in another language may still show.
ENGLISH = re.compile(r"\b(the|your|you|please|call us|alerts?|settings)\b", re.IGNORECASE)
# The answer's label is the alert type's content (alerts' options), not Herald's own words.
CONTENT = {option.label for option in OPTIONS}


async def _customer_pages(stack: Stack, language: str) -> dict[str, str]:
    """A customer speaking ``language`` who got an alert by email, with a marketing consent
    (so their preferences show service alerts and offers): the path of each of their pages."""
    deps = stack.runtime.deps
    _, customer_id, attempts = await send_alert(deps, ref=f"C-{language}", name="Ada Moreau")
    async with deps.sessions() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        customer.locale = language
        email = (
            await session.exec(
                select(ContactPoint).where(
                    ContactPoint.customer_id == customer_id, ContactPoint.kind == "email"
                )
            )
        ).one()
        email.consent_marketing = True
        session.add_all([customer, email])
        offer = await get_spec(session, "savings_offer")  # seeded disabled: the bank turns it on
        assert offer is not None
        await save_spec(session, {**offer.model_dump(mode="json"), "enabled": True}, actor="test")
        await session.commit()
    assert email.id is not None
    links = deps.links
    return {
        "preferences": f"/p/{links.sign_preferences(customer_id)}",
        "answer": f"/r/{links.sign(ResponseLink(attempts['email'], 'confirm'))}",
        "consent": f"/c/{links.sign_consent(email.id, email.address)}",
        "forward": f"/r/f/{links.sign(ResponseLink(attempts['email'], 'forward'))}",
        "unsubscribe": f"/u/{links.sign_unsubscribe(attempts['email'])}",
    }


@pytest.mark.parametrize("language", ["en", "nl", "fr", "de", "es"])
async def test_every_customer_page_in_each_language_fits_and_is_accessible(
    stack: Stack,
    browser: Any,  # noqa: F811
    language: str,
    tmp_path: Path,
) -> None:
    require_axe()
    pages = await _customer_pages(stack, language)
    context = await browser.new_context(
        viewport={"width": WIDTHS[0], "height": 800}, bypass_csp=True
    )
    page = await context.new_page()
    problems: list[str] = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 800})
        for name, path in pages.items():
            where = f"{name} {language} {width} px"
            problems += [f"{where}: {p}" for p in await audit(page, stack.api.url + path)]
            await page.screenshot(
                path=tmp_path / f"customer-{name}-{language}-{width}.png", full_page=True
            )
            problems += [f"{where}: {p}" for p in await fits(page, width)]
            problems += [f"{where}: {p}" for p in await speaks(page, language)]
            if name == "preferences" and await page.locator("#s0-language").count() != 1:
                problems.append(f"{where}: no language select")
            heading = await page.inner_text("h1")
            if heading != HEADINGS[name][language]:
                problems.append(f"{where}: the heading is {heading!r}")
            if language != "en" and width == WIDTHS[0]:
                text = await page.inner_text("main")
                for label in CONTENT:
                    text = text.replace(label, "")
                english = sorted({m.group(0) for m in ENGLISH.finditer(text)})
                if english:
                    problems.append(f"{where}: English words left: {english}")
    await context.close()
    assert not problems, "\n".join(problems)
