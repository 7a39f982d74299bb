"""Trigger conditions (rule-engine) and dedupe key templates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rules.conditions import ConditionError, compile_condition, evaluate
from rules.facts import check_key_template, render_key
from tests.unit.rules.builders import T0, make_customer, make_event, utc

VALID = [
    'event.amount >= 500 and event.currency == "EUR" and customer.segment != "staff"',
    "event.amount <= -100",
    'event.data["due_date"] != null',
    'event.data&["tracking_number"] == "NP1"',
    '"due_date" in event.data',
    'event.type =~ "debit_.*"',
    'customer.attributes&["vip"] == "yes"',
    "event.booking_date < now",
    '$parse_datetime(event.data["due_date"]) - now <= t"P7D"',
    "",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_conditions_compile(text: str) -> None:
    compile_condition(text)


INVALID = [
    # (condition, words the message must contain, position)
    ("event.amount >= 500 and", "syntax error", 23),
    ("event.amount +* 5", "syntax error", 14),
    ("event.amout >= 5", "did you mean 'amount'", 6),
    ("acount == 1", "unknown symbol", 0),
    ("event.amount >= 500 and $now > now", "use now", 24),
    ("$today > now", "use now", 0),
    ("$random(5) > 1", "deterministic", 0),
    ('event.amount >= "x"', "data type mismatch", None),
    ("event.data.due_date", 'event.data["name"]', None),
]


@pytest.mark.parametrize(("text", "words", "position"), INVALID)
def test_invalid_conditions_say_what_and_where(text: str, words: str, position: int | None) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(text)
    assert words in str(info.value)
    assert info.value.position == position
    if position is not None:
        assert f"position {position}" in str(info.value)


EVALUATIONS = [
    # (condition, event overrides, customer overrides, matched, words in reason)
    ("event.amount >= 500", {}, {}, True, "holds"),
    ("event.amount >= 1000", {}, {}, False, "does not hold"),
    ('customer.segment != "staff"', {}, {"segment": "staff"}, False, "does not hold"),
    ("event.amount >= 500", {"amount": None}, {}, False, "cannot be evaluated"),
    ('event.data["due_date"] == "x"', {}, {}, False, "has no 'due_date'"),
    ('event.data&["due_date"] == "2024-07-01"', {"data": {"due_date": "2024-07-01"}}, {}, True, ""),
    (
        '$parse_datetime(event.data["due_date"]) - now <= t"P7D"',
        {"data": {"due_date": "2024-06-15T00:00:00+00:00"}},
        {},
        True,
        "",
    ),
    (
        '$parse_datetime(event.data["due_date"]) - now <= t"P7D"',
        {"data": {"due_date": "2024-07-15T00:00:00+00:00"}},
        {},
        False,
        "",
    ),
    ("event.booking_date < now", {"booking_date": date(2024, 6, 11)}, {}, True, ""),
    ("", {}, {}, True, "no condition"),
]


@pytest.mark.parametrize(("text", "ev", "cu", "matched", "words"), EVALUATIONS)
def test_evaluate(text: str, ev: dict, cu: dict, matched: bool, words: str) -> None:
    result = evaluate(text, event=make_event(**ev), customer=make_customer(**cu), now=T0)
    assert result.matched is matched
    assert words in result.reason


def test_evaluate_reports_an_invalid_stored_condition_instead_of_raising() -> None:
    result = evaluate("event.amount >=", event=make_event(), customer=make_customer(), now=T0)
    assert not result.matched
    assert "invalid" in result.reason


KEYS = [
    ("{alert_type}:{event.source}:{event.source_event_id}", "t:camt054:E-1"),
    ("{alert_type}:{event.account}:{local_date}", "t:NL91ABNA0417164300:2024-06-12"),
    ("{event.data.tracking_number}/{customer.ref}", "NP1/C-1001"),
    ("{event.amount}|{event.booking_date}|{utc_date}", "750.00|2024-06-12|2024-06-12"),
    ("{event.data.missing}", ""),
]


@pytest.mark.parametrize(("template", "expected"), KEYS)
def test_render_key(template: str, expected: str) -> None:
    check_key_template(template)
    event = make_event(data={"tracking_number": "NP1"})
    assert render_key(template, alert_type="t", event=event, customer=make_customer(), now=T0) == (
        expected
    )


def test_local_date_is_the_customers_date_not_utc() -> None:
    late = utc(2024, 6, 12, 22, 30)  # 00:30 on the 13th in Amsterdam
    key = render_key(
        "{local_date}/{utc_date}",
        alert_type="t",
        event=make_event(),
        customer=make_customer(),
        now=late,
    )
    assert key == "2024-06-13/2024-06-12"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{event.__class__}", "unknown placeholder"),
        ("{event.amount.real}", "unknown placeholder"),
        ("{event.data}", "unknown placeholder"),
        ("{customer.name}", "unknown placeholder"),
        ("{alert_type", "unbalanced"),
        ("  ", "empty"),
    ],
)
def test_bad_key_templates_are_refused(template: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_key_template(template)


def test_amount_text_is_plain_decimal() -> None:
    key = render_key(
        "{event.amount}",
        alert_type="t",
        event=make_event(amount=Decimal("1E+3")),
        customer=make_customer(),
        now=T0,
    )
    assert key == "1000"
