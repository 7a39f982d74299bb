"""The agent's whisper: the alert in one breath."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.responses.transfers import whisper_text
from alerts.responses.values import HandOffContext


def test_the_whisper_is_the_alert_in_one_breath() -> None:
    context = HandOffContext.model_validate(
        {
            "answer": {"channel": "voice", "key": "1", "intent": "agent", "at": datetime.now(UTC)},
            "customer": {"ref": "C-1", "name": "Ann Smith", "locale": "en", "timezone": "UTC"},
            "alert": {
                "type": "large_debit",
                "status": "delivered",
                "raised_at": datetime.now(UTC),
                "amount": "750.00",
                "currency": "EUR",
                "description": "Shop Ltd",
            },
        }
    )
    assert whisper_text(context) == (
        "Herald large debit alert for Ann Smith: 750.00 EUR, Shop Ltd. They pressed 1 to speak "
        "to an agent. Details are on your screen."
    )
    assert "No details" in whisper_text(None)
