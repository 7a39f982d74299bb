"""The account_activity rule: pure decisions with reasons, and the plan built from preferences."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rules.account_activity import AccountActivityParams, decide
from rules.base import ContactFacts, CustomerFacts, EventFacts
from rules.plan import build_plan

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PARAMS = AccountActivityParams(threshold=Decimal("500.00"), fallback_wait_seconds=120)


def event(amount: str | None = "750.00", event_type: str = "debit_posted") -> EventFacts:
    return EventFacts(
        event_id=1,
        source="camt054",
        source_event_id="NL91:REF1",
        event_type=event_type,
        account_id="NL91ABNA0417164300",
        amount=Decimal(amount) if amount is not None else None,
        currency="EUR",
        status="BOOK",
        booking_date=date(2026, 11, 23),
        description="Shop Ltd",
    )


def customer(
    order: tuple[str, ...] = ("voice", "sms", "email"),
    contacts: tuple[ContactFacts, ...] = (
        ContactFacts("phone", "+15550001111"),
        ContactFacts("email", "a@example.com"),
    ),
) -> CustomerFacts:
    return CustomerFacts(
        customer_id=7,
        external_ref="C-7",
        name="Ann",
        locale="en",
        timezone="Europe/Amsterdam",
        channel_order=order,
        contacts=contacts,
    )


def test_debit_at_threshold_alerts_with_plan_in_customer_order() -> None:
    verdict = decide(event=event("500.00"), customer=customer(), params=PARAMS, now=NOW)
    assert verdict.raise_alert
    assert "at or above the threshold 500.00" in verdict.reason
    assert [(s.channel, s.address, s.wait_seconds) for s in verdict.plan] == [
        ("voice", "+15550001111", 0),
        ("sms", "+15550001111", 120),
        ("email", "a@example.com", 120),
    ]
    assert verdict.dedupe_key == "account_activity:camt054:NL91:REF1"
    assert verdict.context["merchant"] == "Shop Ltd"
    assert verdict.context["amount"] == "500.00"


def test_below_threshold_is_skipped_with_reason() -> None:
    verdict = decide(event=event("499.99"), customer=customer(), params=PARAMS, now=NOW)
    assert not verdict.raise_alert
    assert verdict.reason == "debit 499.99 EUR is below the threshold 500.00"


def test_credits_and_unknown_owners_are_skipped() -> None:
    assert (
        decide(
            event=event(event_type="credit_posted"), customer=customer(), params=PARAMS, now=NOW
        ).reason
        == "credit_posted is not a debit"
    )
    skip = decide(event=event(), customer=None, params=PARAMS, now=NOW)
    assert not skip.raise_alert and "no customer owns account NL91ABNA0417164300" in skip.reason


def test_customer_without_reachable_channel_is_skipped() -> None:
    verdict = decide(
        event=event(),
        customer=customer(order=("sms",), contacts=(ContactFacts("email", "a@example.com"),)),
        params=PARAMS,
        now=NOW,
    )
    assert not verdict.raise_alert and "no contact point" in verdict.reason


def test_plan_skips_channels_without_contact_point() -> None:
    plan = build_plan(
        customer=customer(
            order=("email", "voice"), contacts=(ContactFacts("phone", "+15550001111"),)
        ),
        wait_seconds=60,
    )
    assert [(s.channel, s.wait_seconds) for s in plan] == [("voice", 0)]
    assert "first reachable" in plan[0].reason


def test_params_refuse_nonsense() -> None:
    import pytest

    with pytest.raises(ValueError, match="not a number"):
        AccountActivityParams.from_mapping(
            {"threshold": "lots"}, default_threshold=Decimal(1), default_wait=1
        )
    with pytest.raises(ValueError, match="negative"):
        AccountActivityParams.from_mapping(
            {"threshold": "-1"}, default_threshold=Decimal(1), default_wait=1
        )


@given(
    amount=st.decimals(min_value=0, max_value=10**9, places=2),
    threshold=st.decimals(min_value=0, max_value=10**9, places=2),
)
def test_alert_exactly_when_debit_reaches_threshold(amount: Decimal, threshold: Decimal) -> None:
    params = AccountActivityParams(threshold=threshold, fallback_wait_seconds=0)
    verdict = decide(event=event(str(amount)), customer=customer(), params=params, now=NOW)
    assert verdict.raise_alert == (amount >= threshold)
    assert verdict.reason
