"""Preference resolution: merge over the alert type, opt-outs, consent, carrier opt-outs."""

from __future__ import annotations

from typing import Any

import pytest

from rules.preferences import (
    AlertPreference,
    ChannelChoice,
    FrequencyCap,
    QuietHours,
    Resolved,
    merge,
    resolve,
)
from tests.unit.rules.builders import (
    T0,
    consent,
    email,
    make_customer,
    make_prefs,
    phone,
    spec,
    utc,
)


def _resolve(alert: Any = None, **prefs: Any) -> Resolved:
    return resolve(
        preferences=make_prefs(**prefs),
        alert_type=alert or spec(),
        customer=make_customer(),
        now=T0,
    )


def _targets(resolved: Resolved) -> list[tuple[str, str]]:
    return [(t.channel, t.contact.id) for t in resolved.targets]


def test_no_preferences_follow_the_alert_types_order_with_the_first_contact() -> None:
    resolved = _resolve(contacts=(phone("p1"), phone("p2"), email("e1")))
    assert _targets(resolved) == [("voice", "p1"), ("sms", "p1"), ("email", "e1")]
    assert resolved.blocked is None
    assert resolved.language == "en" and resolved.tz == "Europe/Amsterdam"
    assert resolved.quiet_hours == ()


def test_customer_order_binds_channels_to_specific_contact_points() -> None:
    choice = (
        ChannelChoice("sms", "p2"),
        ChannelChoice("email", "e1"),
        ChannelChoice("voice", "p1"),
    )
    resolved = _resolve(
        contacts=(phone("p1"), phone("p2", "+31687654321"), email("e1")),
        default=AlertPreference(channels=choice),
    )
    assert _targets(resolved) == [("sms", "p2"), ("email", "e1"), ("voice", "p1")]
    assert all("customer's channel order" in t.reason for t in resolved.targets)


def test_per_type_preference_overrides_the_default_field_by_field() -> None:
    quiet = (QuietHours.parse("22:00-07:00"),)
    default = AlertPreference(quiet_hours=quiet, language="nl", opted_out_channels=frozenset())
    per_type = {"test_alert": AlertPreference(opted_out_channels=frozenset({"voice"}))}
    resolved = _resolve(default=default, per_type=per_type)
    assert _targets(resolved) == [("sms", "p1"), ("email", "e1")]
    assert resolved.quiet_hours == quiet
    assert resolved.language == "nl"
    assert "the customer's test_alert preference overrides their default" in resolved.notes
    assert any("opted out of voice" in n for n in resolved.notes)


def test_explicitly_no_quiet_hours_overrides_a_default() -> None:
    default = AlertPreference(quiet_hours=(QuietHours.parse("22:00-07:00"),))
    merged = merge(default, AlertPreference(quiet_hours=()))
    assert merged.quiet_hours == ()


DROPS = [
    # (contact, channel that must disappear, words in the note)
    (phone(consent=None), "voice", "no consent recorded"),
    (phone(sms_opted_out=True), "sms", "opted out of SMS"),
    (phone(sms_capable=False), "sms", "is a landline"),
    (phone(invalid=True), "voice", "reported invalid"),
    (phone(consent=consent(withdrawn_at=utc(2024, 1, 1))), "voice", "consent withdrawn"),
    (phone(consent=consent(given_at=utc(2030, 1, 1))), "voice", "only takes effect"),
]


@pytest.mark.parametrize(("contact", "channel", "words"), DROPS)
def test_contact_points_that_may_not_be_used_are_dropped_with_a_reason(
    contact: Any, channel: str, words: str
) -> None:
    resolved = _resolve(contacts=(contact, email()))
    assert channel not in [c for c, _ in _targets(resolved)]
    assert any(words in n and "***5678" in n for n in resolved.notes)
    assert "+31612345678" not in " ".join(resolved.notes)  # addresses are masked


def test_an_opted_out_alert_type_is_blocked() -> None:
    resolved = _resolve(per_type={"test_alert": AlertPreference(opted_out=True)})
    assert resolved.blocked == "the customer opted out of test_alert"


def test_a_mandatory_type_overrides_the_type_opt_out_but_not_consent_or_stop() -> None:
    mandatory = spec(mandatory=True)
    resolved = _resolve(
        mandatory,
        contacts=(phone(sms_opted_out=True), email(consent=None)),
        per_type={"test_alert": AlertPreference(opted_out=True)},
    )
    assert resolved.blocked is None
    assert _targets(resolved) == [("voice", "p1")]
    assert any("but test_alert is mandatory" in n for n in resolved.notes)


def test_a_mandatory_type_still_honours_channel_opt_outs() -> None:
    mandatory = spec(mandatory=True)
    resolved = _resolve(
        mandatory, default=AlertPreference(opted_out_channels=frozenset({"voice", "sms"}))
    )
    assert _targets(resolved) == [("email", "e1")]


def test_marketing_needs_a_confirmed_marketing_consent() -> None:
    marketing = spec(category="marketing", options=[])
    confirmed = consent(confirmed=True, marketing=True)
    resolved = _resolve(
        marketing,
        contacts=(
            phone("p1", consent=consent(marketing=True)),  # not confirmed
            phone("p2", "+31600000002", consent=confirmed),
            email("e1", consent=consent(confirmed=True)),  # service only
        ),
    )
    assert _targets(resolved) == [("voice", "p2"), ("sms", "p2")]
    assert any("no confirmed marketing consent" in n for n in resolved.notes)


def test_channels_the_alert_type_does_not_send_and_unknown_contacts_are_noted() -> None:
    sms_only = spec(content={"en": {"sms": {"body": "b"}}}, delivery={"channel_order": ["sms"]})
    choice = (ChannelChoice("voice", "p1"), ChannelChoice("sms", "p9"), ChannelChoice("sms", "p1"))
    resolved = _resolve(sms_only, default=AlertPreference(channels=choice))
    assert _targets(resolved) == [("sms", "p1")]
    assert "voice: test_alert is not sent by voice" in resolved.notes
    assert "sms: no contact point 'p9'" in resolved.notes


def test_a_customer_without_phone_is_told_so() -> None:
    resolved = _resolve(contacts=(email(),))
    assert _targets(resolved) == [("email", "e1")]
    assert "voice: the customer has no phone" in resolved.notes


def test_caps_that_apply_are_kept() -> None:
    caps = (FrequencyCap(3, 86400), FrequencyCap(1, 3600, "test_alert"), FrequencyCap(1, 60, "x"))
    resolved = _resolve(caps=caps)
    assert resolved.caps == caps[:2]
    assert caps[0].describe() == "at most 3 alerts of any type per day"
    assert caps[1].describe() == "at most 1 test_alert alerts per hour"


def test_windows_add_the_marketing_legal_window_for_calls_and_texts_only() -> None:
    resolved = _resolve(quiet="22:00-07:00")
    service = resolved.windows(marketing=False)
    marketing = resolved.windows(marketing=True)
    assert len(service.blocks) == 1 and len(marketing.blocks) == 2
    assert marketing.blocks[1].channels == frozenset({"voice", "sms"})
