"""Trigger conditions: compile with rule-engine against the event/customer schema, evaluate.

A condition is an expression in rule-engine's language (never Python, never ``eval``) over three
symbols: ``event`` and ``customer`` (the fields of ``rules.facts``) and ``now`` (the decision time,
a datetime). Examples::

    event.amount >= 500 and event.currency == "EUR" and customer.segment != "staff"
    event.amount <= -100 and event.data&["balance_type"] == "CLBD"
    $parse_datetime(event.data["due_date"]) - now <= t"P7D"

Conditions are type-checked against that vocabulary when the alert type is saved: an unknown
field, a syntax error, an operator applied to the wrong kind of value (``event.amount + "x"``),
text compared with a number (``event.currency == 5``), a bit operator (``event.amount >> 5``),
``and``/``or``/``not`` on something that is not true or false, or a condition that is not true or
false as a whole, is refused with the column, the expression and what is wrong. The clock and
randomness builtins (``$now``, ``$today``, ``$random``) are not available: use ``now``, which is
the decision time passed in.
A missing value (``event.amount`` of a balance-less event) makes an ordered comparison fail to
evaluate; ``evaluate`` reports that as a non-match with the reason, never an exception.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any, Final

import rule_engine
from rule_engine import DataType
from rule_engine import builtins as rule_builtins
from rule_engine import errors as rule_errors

from rules.condition_fast import Fallback, Matcher, fast_matcher
from rules.condition_types import UNSAFE_BUILTINS, ConditionProblem, LocatedRule, explain
from rules.facts import ROOTS, CustomerView, EventView, FactField

_TYPES: Final[dict[str, Any]] = {
    "string": DataType.STRING,
    "number": DataType.FLOAT,
    "datetime": DataType.DATETIME,
    "mapping": DataType.MAPPING(DataType.STRING, DataType.STRING),
}


class ConditionError(ValueError):
    """A condition that does not compile: what is wrong, and where.

    ``position`` is the 0-based offset into the condition, the message says the column (1-based)
    and quotes the offending expression (``excerpt``) or the text from there.
    """

    def __init__(
        self, message: str, *, condition: str, position: int | None, excerpt: str | None = None
    ) -> None:
        self.reason = message
        self.condition = condition
        self.position = position
        where = f" at column {position + 1}" if position is not None else ""
        near = ""
        if position is not None:
            near = f" (near {condition[position : position + 12]!r})" if condition else ""
            if excerpt:
                near = f" (in {excerpt!r})"
            elif position >= len(condition):
                near = " (at the end)"
        super().__init__(f"invalid condition{where}{near}: {message}")

    @property
    def column(self) -> int | None:
        return None if self.position is None else self.position + 1


@dataclass(frozen=True, slots=True)
class ConditionResult:
    matched: bool
    reason: str


def _object_type(name: str, fields: dict[str, FactField]) -> Any:
    def accessor(obj: object, attribute: str) -> Any:
        return fields[attribute].read(obj)

    return DataType.OBJECT(
        name,
        attributes={key: _TYPES[f.kind] for key, f in fields.items()},
        accessor=accessor,
    )


_SCHEMA: Final[dict[str, Any]] = {name: _object_type(name, f) for name, f in ROOTS.items()} | {
    "now": DataType.DATETIME
}


class _SafeBuiltins(rule_builtins.Builtins):  # type: ignore[misc]
    """Builtins that refuse, at compile time, any name they do not hold."""

    def resolve_type(self, name: str) -> Any:
        if name not in self:
            raise rule_errors.SymbolResolutionError(name, symbol_scope="built-in")
        return super().resolve_type(name)


def _context() -> Any:
    context = rule_engine.Context(
        type_resolver=_SCHEMA,
        default_timezone="utc",
        mapping_attribute_lookup=False,
    )
    # The default builtins, less the ones that read the clock or a global random generator.
    defaults = rule_builtins.Builtins.from_defaults(timezone=dt.UTC)
    context.builtins = _SafeBuiltins(
        {name: defaults[name] for name in defaults if name not in UNSAFE_BUILTINS},
        timezone=dt.UTC,
        value_types={
            name: defaults.resolve_type(name) for name in defaults if name not in UNSAFE_BUILTINS
        },
    )
    return context


def _position(exc: rule_errors.EngineError, text: str) -> int | None:
    if isinstance(exc, rule_errors.RuleSyntaxError):
        token = exc.token
        return len(text) if token is None else int(token.lexpos)
    name = getattr(exc, "symbol_name", None) or getattr(exc, "attribute_name", None)
    if isinstance(exc, rule_errors.SymbolResolutionError) and exc.symbol_scope == "built-in":
        name = f"${name}"
    if isinstance(name, str):
        at = text.find(name)
        return at if at >= 0 else None
    return None


@functools.lru_cache(maxsize=512)
def compile_condition(text: str, *, typed: bool = True) -> Any:
    """The compiled rule for ``text``; ConditionError with message and position if invalid.

    ``typed`` (saving a condition) adds the checks of ``rules.condition_types``; without it
    (running or reading back a stored condition) only rule-engine's own checks apply, so a
    condition saved before those checks existed keeps working as it did. Both evaluate alike.
    An empty condition matches every event of the trigger's types.
    """
    source = text.strip() or "true"
    try:
        rule = (LocatedRule if typed else rule_engine.Rule)(source, context=_context())
    except ConditionProblem as problem:
        raise ConditionError(
            problem.message, condition=source, position=problem.start, excerpt=problem.excerpt
        ) from problem
    except rule_errors.EngineError as exc:
        raise ConditionError(
            explain(exc), condition=source, position=_position(exc, source)
        ) from exc
    except (ValueError, TypeError) as exc:  # e.g. a bad literal the parser hands through
        raise ConditionError(str(exc), condition=source, position=None) from exc
    return rule


@dataclass(frozen=True, slots=True)
class _Runnable:
    """A stored condition ready to run: rule-engine's rule, its fast closure (None when
    rule-engine must evaluate it) and the fields its reason shows."""

    rule: Any
    fast: Matcher | None
    shown: tuple[tuple[str, str, FactField], ...]


@functools.lru_cache(maxsize=512)
def _runnable(condition: str) -> _Runnable:
    rule = compile_condition(condition, typed=False)
    shown = []
    for root, name in dict.fromkeys(_REFERENCE.findall(condition)):
        field = ROOTS[root].get(name)
        if field is not None and field.kind != "mapping":
            shown.append((root, name, field))
    return _Runnable(rule, fast_matcher(rule), tuple(shown))


def evaluate(
    condition: str, *, event: EventView, customer: CustomerView, now: dt.datetime
) -> ConditionResult:
    """Whether ``condition`` holds for this event and customer, with the reason for the timeline."""
    if not condition.strip():
        return ConditionResult(True, "no condition: every event of the trigger's types matches")
    try:
        runnable = _runnable(condition)
    except ConditionError as exc:
        return ConditionResult(False, f"condition {condition!r} is invalid: {exc}")
    facts = {"event": event, "customer": customer, "now": now}
    try:
        if runnable.fast is None:
            raise Fallback
        matched = bool(runnable.fast(facts))
    except Exception:  # rule-engine decides, and words its error, exactly as before
        try:
            matched = bool(runnable.rule.matches(facts))
        except rule_errors.EngineError as exc:
            detail = exc.message
            if isinstance(exc, rule_errors.LookupError):
                detail = f"the event has no {exc.item!r}"
            return ConditionResult(
                False,
                f"condition {condition!r} cannot be evaluated for this event ({detail}): "
                "treated as not matching",
            )
    values = _values(runnable.shown, event, customer)
    if matched:
        return ConditionResult(True, f"condition {condition!r} holds{values}")
    return ConditionResult(False, f"condition {condition!r} does not hold{values}")


_REFERENCE = re.compile(r"\b(event|customer)\.([a-z_]+)\b")


def _values(
    shown: tuple[tuple[str, str, FactField], ...], event: EventView, customer: CustomerView
) -> str:
    """ " (event.amount = 750.00, customer.segment = 'retail')": what the condition read."""
    if not shown:
        return ""
    parts = []
    for root, name, field in shown:
        value = field.read(event if root == "event" else customer)
        text = repr(value) if isinstance(value, str) else str(value)
        parts.append(f"{root}.{name} = {text}")
    return f" ({', '.join(parts)})"
