"""Conditions as plain Python closures, built once per condition from rule-engine's own AST.

rule-engine walks its syntax tree node by node for every event (~40 µs for a condition such as
``event.amount >= 500 and customer.segment != "staff"``). ``fast_matcher`` translates the tree
of a compiled rule into nested closures that do the same thing directly, for the nodes a bank's
conditions use: ``and``/``or``/``not``, ``==``/``!=`` and ordered comparisons, literals, the
``event.*``/``customer.*`` fields, ``now`` and ``mapping["key"]`` (``&[`` too). Any other node
(arithmetic, functions, regexes, ...) leaves the whole condition to rule-engine.

The closures follow rule-engine's semantics: ``==`` between values of different types is
false, ``!=`` true; an ordered comparison of two nulls holds for ``>=``/``<=``. Wherever
rule-engine would raise (an ordered comparison with a null or between types, a missing mapping
key, a null container) the closure raises ``Fallback``, and the caller evaluates the condition
with rule-engine instead, which raises the same error with its own message as before. So a
condition's result, and the reason built from it, never depends on which path decided it;
``tests/unit/rules/test_condition_fast.py`` checks both on generated events.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from rule_engine import ast as rule_ast

from rules.facts import ROOTS

Facts = Mapping[str, Any]  # {"event": EventView, "customer": CustomerView, "now": datetime}
Matcher = Callable[[Facts], Any]


class Fallback(Exception):
    """The closure met a case rule-engine reports as an error: let rule-engine evaluate."""


class _Unsupported(Exception):
    """A node this module does not translate: the condition keeps rule-engine's evaluation."""


_ORDERED = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}
_PLAIN = (str, Decimal, bool, type(None))


def _coerce(node: Any) -> Callable[[Any], Any]:
    """What rule-engine does to a value read from outside (``_new_value``), cheap for the
    common types: text, numbers and nulls pass as they are, the rest go through rule-engine."""

    def coerce(value: Any) -> Any:
        if type(value) in _PLAIN:
            return value
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value
        return node._new_value(value, verify_type=False)

    return coerce


def _field(node: Any) -> Matcher:
    target = node.object
    if (
        node.safe
        or node._object_type is None
        or not isinstance(target, rule_ast.SymbolExpression)
        or target.name not in ROOTS
        or node.name not in ROOTS[target.name]
    ):
        raise _Unsupported(type(node).__name__)
    root, read, coerce = target.name, ROOTS[target.name][node.name].read, _coerce(node)
    return lambda facts: coerce(read(facts[root]))


def _item(node: Any) -> Matcher:
    if not isinstance(node.item, rule_ast.StringExpression):
        raise _Unsupported("a mapping key that is not text")
    container, key, safe, coerce = _build(node.container), node.item.value, node.safe, _coerce(node)

    def item(facts: Facts) -> Any:
        mapping = container(facts)
        if mapping is None:
            if safe:
                return None
            raise Fallback
        if not isinstance(mapping, Mapping):
            raise Fallback
        if key in mapping:
            return coerce(mapping[key])
        if safe:
            return None
        raise Fallback

    return item


def _compare(node: Any) -> Matcher:
    left, right = _build(node.left), _build(node.right)
    if node.type == "eq":
        return lambda f: (lv := left(f)).__class__ is (rv := right(f)).__class__ and lv == rv
    if node.type == "ne":
        return lambda f: (lv := left(f)).__class__ is not (rv := right(f)).__class__ or lv != rv
    raise _Unsupported(node.type)


def _ordered(node: Any) -> Matcher:
    op, left, right = _ORDERED.get(node.type), _build(node.left), _build(node.right)
    if op is None:
        raise _Unsupported(node.type)
    both_null = op in (operator.ge, operator.le)

    def ordered(facts: Facts) -> Any:
        lv, rv = left(facts), right(facts)
        if lv is None and rv is None:
            return both_null
        if lv.__class__ is not rv.__class__ or isinstance(lv, tuple):
            raise Fallback
        return op(lv, rv)

    return ordered


def _logic(node: Any) -> Matcher:
    left, right = _build(node.left), _build(node.right)
    if node.type == "and":
        return lambda f: bool(left(f) and right(f))
    if node.type == "or":
        return lambda f: bool(left(f) or right(f))
    raise _Unsupported(node.type)


def _unary(node: Any) -> Matcher:
    if node.type != "not":
        raise _Unsupported(node.type)
    right = _build(node.right)
    return lambda f: not right(f)


def _symbol(node: Any) -> Matcher:
    if node.name != "now" or node.scope is not None:
        raise _Unsupported(f"symbol {node.name}")
    coerce = _coerce(node)
    return lambda facts: coerce(facts["now"])


_LITERALS = (
    rule_ast.StringExpression,
    rule_ast.FloatExpression,
    rule_ast.BooleanExpression,
    rule_ast.NullExpression,
    rule_ast.DatetimeExpression,
    rule_ast.TimedeltaExpression,
)


def _build(node: Any) -> Matcher:
    # exact classes: a subclass (FuzzyComparisonExpression, ...) means other semantics
    kind = type(node)
    if kind in _LITERALS:
        value = node.value
        return lambda _facts: value
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise _Unsupported(kind.__name__)
    return builder(node)


_BUILDERS: dict[type, Callable[[Any], Matcher]] = {
    rule_ast.GetAttributeExpression: _field,
    rule_ast.GetItemExpression: _item,
    rule_ast.ComparisonExpression: _compare,
    rule_ast.ArithmeticComparisonExpression: _ordered,
    rule_ast.LogicExpression: _logic,
    rule_ast.UnaryExpression: _unary,
    rule_ast.SymbolExpression: _symbol,
}


def fast_matcher(rule: Any) -> Matcher | None:
    """The closure deciding ``rule`` (truthy when it matches), or None where rule-engine must
    evaluate it (a node this module does not translate)."""
    try:
        return _build(rule.statement.expression)
    except _Unsupported:
        return None
