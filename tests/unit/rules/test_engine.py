"""decide(): the order of the checks, the skip reasons, and the shape of a plan."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rules.alert_types import AlertTypeSpec
from rules.catalogue import default_alert_type
from rules.centre import CentreView
from rules.engine import Decision, Plan, Skip, decide, decision_as_dict, step_from_dict
from rules.preferences import AlertPreference, CustomerPreferences, FrequencyCap
from rules.timewindows import SendWindows
from tests.unit.rules.builders import (
    T0,
    closed_centre,
    consent,
    email,
    make_customer,
    make_event,
    make_prefs,
    open_centre,
    phone,
    spec,
    utc,
)


def run(
    *,
    alert: AlertTypeSpec | None = None,
    prefs: CustomerPreferences | None = None,
    centre: CentreView | None = None,
    recent: list[tuple[str, str, datetime]] | None = None,
    now: datetime = T0,
    customer: dict[str, Any] | None = None,
    **event: Any,
) -> Decision:
    return decide(
        event=make_event(**event),
        customer=make_customer(**(customer or {})),
        preferences=prefs or make_prefs(),
        alert_type=alert or spec(),
        centre=centre or open_centre(),
        recent_alerts=recent or [],
        now=now,
    )


def skipped(decision: Decision) -> str:
    assert isinstance(decision, Skip), decision
    return decision.reason


def planned(decision: Decision) -> Plan:
    assert isinstance(decision, Plan), decision
    return decision


KEY = "test_alert:camt054:E-1"
SKIPS = [
    # (run kwargs, words in the skip reason)
    ({"alert": spec(enabled=False)}, "disabled"),
    ({"event_type": "credit_posted"}, "credit_posted is not one of debit_posted"),
    ({"amount": Decimal("12.00")}, "does not hold"),
    ({"amount": None}, "cannot be evaluated"),
    ({"recent": [(KEY, "test_alert", T0 - timedelta(hours=2))]}, "duplicate of the alert"),
    (
        {"prefs": make_prefs(per_type={"test_alert": AlertPreference(opted_out=True)})},
        "opted out of test_alert",
    ),
    ({"prefs": make_prefs(contacts=(phone(consent=None),))}, "no channel may be used"),
    (
        {
            "prefs": make_prefs(caps=(FrequencyCap(2, 86400),)),
            "recent": [
                ("a", "other", T0 - timedelta(hours=1)),
                ("b", "x", T0 - timedelta(hours=3)),
            ],
        },
        "frequency cap reached: 2 sent, at most 2 alerts of any type per day",
    ),
    ({"centre": closed_centre(None)}, "cannot hold"),
    ({"centre": closed_centre(T0 + timedelta(days=3))}, "expires before then"),
]


@pytest.mark.parametrize(("kwargs", "words"), SKIPS)
def test_skip_reasons(kwargs: dict[str, Any], words: str) -> None:
    reason = skipped(run(**kwargs))
    assert reason.startswith("test_alert: ")
    assert words in reason


def test_an_old_duplicate_outside_the_window_does_not_skip() -> None:
    planned(run(recent=[(KEY, "test_alert", T0 - timedelta(days=2))]))


def test_a_mandatory_type_is_not_held_back_by_caps() -> None:
    prefs = make_prefs(caps=(FrequencyCap(0, 86400),))
    plan = planned(run(alert=spec(mandatory=True), prefs=prefs))
    assert any("mandatory" in n for n in plan.notes)


def test_the_plan_calls_twice_then_texts_then_emails() -> None:
    plan = planned(run())
    shape = [(s.channel, s.attempt, s.not_before - T0) for s in plan.steps]
    assert shape == [
        ("voice", 1, timedelta(0)),
        ("voice", 2, timedelta(minutes=15)),
        ("sms", 1, timedelta(minutes=20)),
        ("email", 1, timedelta(minutes=25)),
    ]
    assert plan.dedupe_key == KEY
    assert plan.expires_at == T0 + timedelta(days=1)
    assert plan.content_locale == "en"
    assert plan.centre_action == "normal"
    assert [s.contact_point_id for s in plan.steps] == ["p1", "p1", "p1", "e1"]
    assert "2024-06-12 12:00 Europe/Amsterdam" in plan.reason
    assert all(s.reason and s.deadline <= plan.expires_at for s in plan.steps)


def test_quiet_hours_push_the_first_step_and_the_deadline_stops_before_the_next() -> None:
    night = utc(2024, 6, 12, 20, 0)  # 22:00 in Amsterdam
    plan = planned(run(prefs=make_prefs(quiet="21:30-07:30"), now=night))
    first = plan.steps[0]
    assert first.not_before == utc(2024, 6, 13, 5, 30)  # 07:30 CEST
    assert "moved by quiet hours 21:30-07:30" in first.reason
    assert first.deadline == utc(2024, 6, 13, 19, 30)  # quiet hours begin again at 21:30


def test_the_deadline_is_when_quiet_hours_begin() -> None:
    evening = utc(2024, 6, 12, 19, 20)  # 21:20 in Amsterdam
    plan = planned(run(prefs=make_prefs(quiet="21:30-07:30"), now=evening))
    assert plan.steps[0].not_before == evening
    assert plan.steps[0].deadline == utc(2024, 6, 12, 19, 30)
    assert plan.steps[1].not_before == utc(2024, 6, 13, 5, 30)  # 2nd call after the night
    assert plan.steps[1].deadline == plan.expires_at  # 19:20 UTC, before 21:30 local


def test_holding_for_the_centre_delays_the_whole_plan() -> None:
    opens = T0 + timedelta(hours=20)
    plan = planned(run(centre=closed_centre(opens)))
    assert plan.centre_action == "hold"
    assert opens <= plan.steps[0].not_before < opens + timedelta(minutes=30)
    assert "held for the call centre" in plan.steps[0].reason


def test_callback_instead_changes_the_options_offered() -> None:
    alert = spec(centre={"when_overloaded": "callback_instead"})
    plan = planned(run(alert=alert, centre=open_centre(agents_available=0)))
    assert [o.intent for o in plan.options] == ["callback", "confirm"]
    assert plan.steps[0].not_before == T0


def test_marketing_calls_wait_for_0800_local_but_email_does_not() -> None:
    marketing = spec(
        category="marketing",
        options=[],
        delivery={"channel_order": ["email", "voice"], "fallback_wait_seconds": 0},
    )
    good = consent(confirmed=True, marketing=True)
    prefs = make_prefs(contacts=(phone(consent=good), email(consent=good)))
    early = utc(2024, 6, 12, 4, 0)  # 06:00 in Amsterdam
    plan = planned(run(alert=marketing, prefs=prefs, now=early))
    assert [(s.channel, s.not_before) for s in plan.steps] == [
        ("email", early),
        ("voice", utc(2024, 6, 12, 6, 0)),
    ]
    assert "marketing calls and texts only 08:00-21:00 local" in plan.steps[1].reason


def test_steps_that_cannot_start_before_expiry_are_dropped() -> None:
    alert = spec(ttl_seconds=600)
    plan = planned(run(alert=alert))
    # the 2nd call (15 min) and the email (10 min) would start after the 10-minute TTL
    assert [(s.channel, s.attempt) for s in plan.steps] == [("voice", 1), ("sms", 1)]
    dropped = [n for n in plan.notes if "would start after the alert expires" in n]
    assert len(dropped) == 2


def test_content_locale_follows_the_customers_language() -> None:
    content = {
        "en": {
            "voice": {"message": "m"},
            "sms": {"body": "b"},
            "email": {"subject": "s", "text": "t"},
        },
        "nl": {"voice": {"message": "m"}, "sms": {"body": "b"}},
    }
    plan = planned(run(alert=spec(content=content), customer={"locale": "nl-NL"}))
    assert plan.content_locale == "nl"
    assert [s.locale for s in plan.steps] == ["nl", "nl", "nl", "en"]


def test_low_balance_once_per_account_per_local_day() -> None:
    alert = default_alert_type("low_balance")
    first = planned(run(alert=alert, event_type="balance_closing_booked", amount=Decimal("5")))
    assert first.dedupe_key == "low_balance:NL91ABNA0417164300:2024-06-12"
    again = run(
        alert=alert,
        event_type="balance_interim_available",
        amount=Decimal("3"),
        source_event_id="E-2",
        recent=[(first.dedupe_key, "low_balance", T0)],
        now=T0 + timedelta(hours=3),
    )
    assert "duplicate" in skipped(again)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        run(now=datetime(2024, 6, 12, 10, 0))


def test_decisions_serialise_to_json_and_steps_come_back() -> None:
    plan = planned(run(prefs=make_prefs(quiet="21:30-07:30")))
    stored = json.loads(json.dumps(decision_as_dict(plan)))
    assert stored["kind"] == "plan" and stored["dedupe_key"] == KEY
    assert [step_from_dict(s) for s in stored["steps"]] == list(plan.steps)
    assert SendWindows.from_dict(stored["windows"]) == plan.windows
    skip = json.loads(json.dumps(decision_as_dict(run(amount=Decimal("1")))))
    assert skip["kind"] == "skip" and "does not hold" in skip["reason"]


def test_a_very_long_dedupe_key_is_bounded_and_still_distinct() -> None:
    from rules.facts import bounded_key

    long_a, long_b = "k:" + "a" * 400, "k:" + "a" * 399 + "b"
    assert len(bounded_key(long_a)) == 260 and bounded_key(long_a) != bounded_key(long_b)
    assert bounded_key(long_a) == bounded_key(long_a) and bounded_key("short") == "short"


def _trigger(batches: str | None) -> dict[str, Any]:
    trigger: dict[str, Any] = {"event_types": ["debit_posted"], "condition": "event.amount >= 500"}
    if batches is not None:
        trigger["batches"] = batches
    return trigger


@pytest.mark.parametrize(
    ("batches", "fires_for"),
    [
        (None, {"single", "batch", None}),  # the default: once per booking
        ("entries", {"single", "batch", None}),
        ("transactions", {"single", "item", None}),
        ("both", {"single", "batch", "item", None}),
    ],
)
def test_an_alert_type_chooses_batch_bookings_or_their_transactions(
    batches: str | None, fires_for: set[str | None]
) -> None:
    alert = spec(trigger=_trigger(batches))
    for role in ("single", "batch", "item", None):
        data = {} if role is None else {"batch_role": role}
        decision = run(alert=alert, data=data)
        assert isinstance(decision, Plan) == (role in fires_for), (batches, role, decision)
        if role not in fires_for:
            assert "batch booking" in skipped(decision)


def test_an_unknown_batch_choice_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="entries"):
        spec(trigger=_trigger("payments"))


def test_response_options_are_offered_in_the_customers_language() -> None:
    alert = spec(
        options=[
            {
                "key": "1",
                "intent": "agent",
                "label": "Speak to an agent",
                "labels": {"nl": "Spreek een medewerker"},
            },
            {"key": "2", "intent": "confirm", "label": "It was me"},
        ],
        content={
            "en": {
                "sms": {"body": "Payment of {{ amount }}"},
                "voice": {"message": "Hello"},
                "email": {"subject": "Payment", "text": "Payment"},
            },
            "nl": {
                "sms": {"body": "Betaling van {{ amount }}"},
                "voice": {"message": "Hallo"},
                "email": {"subject": "Betaling", "text": "Betaling"},
            },
        },
    )
    dutch = planned(run(alert=alert, customer={"locale": "nl-BE"}))
    assert dutch.content_locale == "nl"
    assert [o.label for o in dutch.options] == ["Spreek een medewerker", "It was me"]
    english = planned(run(alert=alert))
    assert [o.label for o in english.options] == ["Speak to an agent", "It was me"]
