"""What "call me now" tells the customer is in their language (the call centre's own words go
through the catalogues), with the centre's opening day and time written in that language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcentre.calls import CALLING, CLOSED_UNTIL, NO_PHONE, CallResult

OPENS = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))  # a Monday


@pytest.mark.parametrize(
    ("language", "closed", "calling"),
    [
        (
            "en",
            "Our call centre is closed right now; an agent will call you back when it opens"
            " (Monday 09:00 Europe/Amsterdam).",
            "We are calling you now on ***4567.",
        ),
        (
            "nl",
            "Onze klantenservice is op dit moment gesloten; een medewerker belt u terug zodra"
            " wij weer open zijn (maandag 09:00 Europe/Amsterdam).",
            "Wij bellen u nu op ***4567.",
        ),
        (
            "fr",
            "Notre centre d'appels est fermé pour le moment\u202f; un conseiller vous rappellera"
            " dès son ouverture (lundi 09:00 Europe/Amsterdam).",
            "Nous vous appelons maintenant au ***4567.",
        ),
        (
            "de",
            "Unser Kundenservice ist gerade geschlossen; ein Mitarbeiter ruft Sie zurück, sobald"
            " wir wieder erreichbar sind (Montag 09:00 Europe/Amsterdam).",
            "Wir rufen Sie jetzt unter ***4567 an.",
        ),
        (
            "es",
            "Nuestro centro de atención está cerrado en este momento; un agente le devolverá la"
            " llamada cuando abramos (lunes 09:00 Europe/Amsterdam).",
            "Le estamos llamando ahora al ***4567.",
        ),
    ],
)
def test_the_customer_is_told_in_their_language(language: str, closed: str, calling: str) -> None:
    shut = CallResult(False, CLOSED_UNTIL, {"zone": "Europe/Amsterdam"}, opens=OPENS)
    assert shut.in_language(language) == closed
    assert CallResult(True, CALLING, {"phone": "***4567"}).in_language(language) == calling
    if language != "en":
        assert (
            CallResult(False, NO_PHONE).in_language(language) != CallResult(False, NO_PHONE).message
        )


def test_the_agent_console_keeps_english() -> None:
    shut = CallResult(False, CLOSED_UNTIL, {"zone": "Europe/Amsterdam"}, opens=OPENS)
    assert shut.message.endswith("when it opens (Monday 09:00 Europe/Amsterdam).")
