"""The compiled conditions (rules.condition_fast) decide exactly as rule-engine does.

For generated conditions over generated events and customers (nulls, other currencies, missing
and present data keys, dates), the closure's result equals ``rule.matches``, and where
rule-engine raises the closure raises too (so ``evaluate`` hands that case to rule-engine).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_engine import errors as rule_errors

from rules.condition_fast import fast_matcher
from rules.conditions import compile_condition, evaluate
from tests.unit.rules.builders import T0, make_customer, make_event

ATOMS = [
    "event.amount >= 500",
    "event.amount < -100",
    "event.amount > 0",
    "event.amount <= 2999.99",
    'event.currency == "EUR"',
    'event.currency != "USD"',
    'customer.segment != "staff"',
    'customer.segment == "private"',
    'event.credit_debit == "DBIT"',
    'event.data["balance_type"] == "CLBD"',
    'event.data&["balance_type"] == "CLBD"',
    'event.data&["kind"] != "x"',
    'customer.attributes&["vip"] == "yes"',
    "event.booking_date < now",
    "event.booking_date >= now",
    "event.description == null",
    "event.amount == null",
    "true",
]
# every atom above has a closure; the conditions below stay with rule-engine
RULE_ENGINE_ONLY = [
    '$parse_datetime(event.data["due_date"]) - now <= t"P7D"',
    'event.description =~ "Shop.*"',
    "event.amount + 1 > 2",
]


@st.composite
def conditions(draw: Any) -> str:
    def expr(depth: int) -> str:
        if depth == 0 or draw(st.booleans()):
            atom: str = draw(st.sampled_from(ATOMS))
            return atom
        op = draw(st.sampled_from(["and", "or", "not"]))
        if op == "not":
            return f"not ({expr(depth - 1)})"
        return f"({expr(depth - 1)}) {op} ({expr(depth - 1)})"

    return expr(3)


@st.composite
def facts(draw: Any) -> dict[str, Any]:
    amount = draw(
        st.none() | st.sampled_from(["500", "499.99", "-100", "-100.01", "0", "2999.99", "3000"])
    )
    data = draw(
        st.dictionaries(
            st.sampled_from(["balance_type", "kind", "due_date"]),
            st.sampled_from(["CLBD", "x", "", "2024-07-01"]),
        )
    )
    event = make_event(
        amount=None if amount is None else Decimal(amount),
        currency=draw(st.sampled_from(["EUR", "USD", None])),
        credit_debit=draw(st.sampled_from(["DBIT", "CRDT", None])),
        booking_date=draw(st.sampled_from([None, date(2024, 6, 11), date(2024, 6, 13)])),
        description=draw(st.sampled_from([None, "Shop 1", ""])),
        data=data,
    )
    customer = make_customer(
        segment=draw(st.sampled_from(["retail", "staff", "private"])),
        attributes=draw(st.dictionaries(st.just("vip"), st.sampled_from(["yes", "no"]))),
    )
    return {"event": event, "customer": customer, "now": T0}


def _outcome(call: Any) -> object:
    try:
        return bool(call())
    except rule_errors.EngineError:
        return "raises"
    except Exception:
        return "fast path hands over"


@settings(max_examples=400, deadline=None)
@given(conditions(), facts())
def test_the_closure_decides_as_rule_engine_does(text: str, thing: dict[str, Any]) -> None:
    rule = compile_condition(text, typed=False)
    fast = fast_matcher(rule)
    assert fast is not None, text
    expected = _outcome(lambda: rule.matches(thing))
    got = _outcome(lambda: fast(thing))
    if expected == "raises":  # the closure never returns a result there
        assert got == "fast path hands over", (text, thing)
    else:
        assert got == expected, (text, thing)


@settings(max_examples=200, deadline=None)
@given(conditions(), facts())
def test_evaluate_gives_the_same_result_and_reason_on_both_paths(
    text: str, thing: dict[str, Any]
) -> None:
    """evaluate() (the closure, rule-engine where it hands over) against rule-engine alone."""
    event, customer = thing["event"], thing["customer"]
    result = evaluate(text, event=event, customer=customer, now=T0)
    try:
        matched = bool(compile_condition(text, typed=False).matches(thing))
    except rule_errors.EngineError:
        assert not result.matched
        assert "cannot be evaluated" in result.reason
        return
    assert result.matched is matched
    assert result.reason.startswith(f"condition {text!r} {'holds' if matched else 'does not'}")


@pytest.mark.parametrize("text", RULE_ENGINE_ONLY)
def test_conditions_beyond_the_closures_stay_with_rule_engine(text: str) -> None:
    assert fast_matcher(compile_condition(text, typed=False)) is None
