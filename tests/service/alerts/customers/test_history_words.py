"""Preferences and consent changes in words, as the single view lists them."""

from __future__ import annotations

from alerts.customers.history.words import describe_preference, subject, summarize_change

CONTACTS = {7: "phone +31***78", 8: "email a***@example.com"}


def test_every_kind_of_field_reads_as_words() -> None:
    data = {
        "caps": [
            {"max_alerts": 3, "period_seconds": 86400},
            {"max_alerts": 1, "period_seconds": 3600, "alert_type": "low_balance"},
        ],
        "opted_out": True,
        "channels": [
            {"channel": "sms", "contact_point_id": 7},
            {"channel": "email", "contact_point_id": 9},
        ],
        "quiet_hours": [
            {"window": "22:00-07:00", "channels": ["voice", "sms", "email"]},
            {"window": "12:00-13:00", "channels": ["voice"]},
        ],
        "language": None,
        "extra": ["a", "b"],
    }
    assert describe_preference(data, CONTACTS) == (
        "channels: sms to phone +31***78 > email to ?; "
        "quiet_hours: 22:00-07:00, 12:00-13:00 (voice); "
        "language: inherited; opted_out: yes; "
        "caps: 3 per 86400 s, 1 per 3600 s of low_balance; extra: a, b"
    )
    assert describe_preference({}) == "everything inherited"
    assert describe_preference({"channels": [], "caps": []}) == "channels: none; caps: none"


def test_a_change_lists_only_what_changed() -> None:
    before = {"opted_out": False, "language": "en"}
    after = {"opted_out": True, "language": "en", "withdrawn_at": "2024-05-01"}
    assert summarize_change(before, after) == "opted_out: no → yes; withdrawn_at: — → 2024-05-01"
    assert summarize_change(before, before) == "no change"
    assert summarize_change({}, {}) == "reset (nothing was stored)"


def test_what_a_change_is_about() -> None:
    assert subject("*", CONTACTS) == "default preference"
    assert subject("large_debit", CONTACTS) == "large_debit preference"
    assert subject("contact:8", CONTACTS) == "consent for email a***@example.com"
    assert subject("contact:x", CONTACTS) == "consent for x"
