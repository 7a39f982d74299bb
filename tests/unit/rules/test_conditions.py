"""Trigger conditions (rule-engine) and dedupe key templates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

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
    # (condition, words the message must contain, position: 0-based, the message says column+1)
    ("event.amount >= 500 and", "syntax error", 23),
    ("event.amount +* 5", "syntax error", 14),
    ("event.amout >= 5", "did you mean 'amount'", 6),
    ("acount == 1", "unknown symbol", 0),
    ("event.amount >= 500 and $now > now", "use now", 24),
    ("$today > now", "use now", 0),
    ("$random(5) > 1", "deterministic", 0),
    ('event.amount >= "x"', 'does not apply to a number (event.amount) and text ("x")', 0),
    ("event.data.due_date", 'event.data["name"]', 11),
]


@pytest.mark.parametrize(("text", "words", "position"), INVALID)
def test_invalid_conditions_say_what_and_where(text: str, words: str, position: int) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(text)
    assert words in str(info.value)
    assert info.value.position == position and info.value.column == position + 1
    assert f"at column {position + 1} " in str(info.value)


# Conditions rule-engine alone accepts (or accepts without saying where): each is refused when
# saved, at the column of the expression that is wrong, which the message quotes.
MISTYPED = [
    # (condition, column, the expression quoted, words the message must contain)
    ("event.amount >> 5", 14, "event.amount >> 5", ">> is a bit operator"),
    ("event.amount > 0 and event.amount & 3", 35, "event.amount & 3", "& is a bit operator"),
    ('event.amount + "x"', 1, 'event.amount + "x"', "+ does not apply to a number (event.amount)"),
    ("event.amout > 5", 7, None, "unknown attribute: 'amout'; did you mean 'amount'?"),
    ("customer.segmnet == 'staff'", 10, None, "did you mean 'segment'?"),
    ("event.currency > 5", 1, "event.currency > 5", "> does not apply to text (event.currency)"),
    ("event.currency == 5", 1, "event.currency == 5", "compares text (event.currency) with a num"),
    ("5 != customer.segment", 1, "5 != customer.segment", "compares a number (5) with text"),
    (
        'event.amount >= 500 and event.booking_date == "2024-06-12"',
        25,
        'event.booking_date == "2024-06-12"',
        "compares a date and time (event.booking_date) with text",
    ),
    (
        "event.type in [1, 2]",
        1,
        "event.type in [1, 2]",
        "looks for text (event.type) in a list of n",
    ),
    ("event.amount not in ['5']", 1, None, "looks for a number (event.amount) in a list of text"),
    ('event.data["due_date"] > 5', 1, None, 'does not apply to text (event.data["due_date"])'),
    ("event.amount > 5 and event.currency", 22, "event.currency", "and needs true or false"),
    ("not customer.segment", 5, "customer.segment", "not needs true or false"),
    ("event.amount > 5 or 1", 21, "1", "or needs true or false on each side"),
    ("-event.currency > 1", 1, "-event.currency", "- needs a number"),
    ("event.amount", 1, "event.amount", "the condition is a number, not true or false"),
    ("event.amount * 2", 1, "event.amount * 2", "e.g. event.amount * 2 >= 500"),
    ("customer.segment", 1, "customer.segment", 'e.g. customer.segment == "EUR"'),
    ("now - event.booking_date > 5", 1, None, "does not apply to a duration"),
]


@pytest.mark.parametrize(("text", "column", "quoted", "words"), MISTYPED)
def test_mistyped_conditions_are_refused_with_column_and_reason(
    text: str, column: int, quoted: str | None, words: str
) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(text)
    message = str(info.value)
    assert message.startswith(f"invalid condition at column {column} ")
    assert info.value.column == column
    if quoted is not None:
        assert f"(in {quoted!r})" in message
    assert words in message


@pytest.mark.parametrize(
    "text",
    [
        "event.amount > 5 and event.description",
        "event.currency == 5",
        "event.amount >> 5 > 1",
    ],
)
def test_a_stored_condition_saved_before_the_type_checks_still_runs(text: str) -> None:
    """Reading back or evaluating a stored condition applies only rule-engine's own checks:
    what worked before keeps working; saving it again would be refused."""
    with pytest.raises(ConditionError):
        compile_condition(text)
    compile_condition(text, typed=False)
    result = evaluate(text, event=make_event(), customer=make_customer(), now=T0)
    assert "is invalid" not in result.reason


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
def test_evaluate(
    text: str, ev: dict[str, Any], cu: dict[str, Any], matched: bool, words: str
) -> None:
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
