"""Type checking of trigger conditions, with the column of what is wrong.

rule-engine checks types while it builds a rule's tree, but does not say where. Here its own
grammar is used with every node wrapped in a `_Located` that knows its span in the text: the
innermost node that fails turns rule-engine's error into a `ConditionProblem` at its position,
and the checks rule-engine leaves out are added — equality and membership across types (text
``== 5``), bit operators (``>>`` for ``>=``), ``and``/``or``/``not`` and ``-`` on the wrong kind
of value, and a condition that is not true or false as a whole.
"""

from __future__ import annotations

from typing import Any, Final

import rule_engine
from rule_engine import DataType
from rule_engine import ast as rule_ast
from rule_engine import errors as rule_errors
from rule_engine import parser as rule_parser
from rule_engine._vendor.ply.lex import LexToken

# The clock and randomness builtins: conditions read `now`, the decision time, instead.
UNSAFE_BUILTINS: Final = frozenset({"now", "today", "random"})
_BIT_OPERATORS: Final = (rule_ast.BitwiseExpression, rule_ast.BitwiseShiftExpression)
_KINDS: Final = {
    "STRING": ("text", "text"),
    "FLOAT": ("a number", "numbers"),
    "BOOLEAN": ("true or false", "true/false values"),
    "DATETIME": ("a date and time", "dates and times"),
    "TIMEDELTA": ("a duration", "durations"),
    "NULL": ("null", "nulls"),
    "BYTES": ("bytes", "bytes"),
    "MAPPING": ("a mapping", "mappings"),
    "ARRAY": ("a list", "lists"),
    "SET": ("a set", "sets"),
    "OBJECT": ("an object", "objects"),
    "FUNCTION": ("a function", "functions"),
}


def _kind(data_type: Any, *, many: bool = False) -> str:
    """How a rule-engine type reads in a message: "a number", "a list of text"."""
    data_type = DataType.NULLABLE.unwrap(data_type)
    one, several = _KINDS.get(data_type.name, ("a value", "values"))
    if data_type.name in ("ARRAY", "SET"):
        return f"{several if many else one} of {_kind(data_type.value_type, many=True)}"
    return several if many else one


def _defined(data_type: Any) -> bool:
    return DataType.NULLABLE.unwrap(data_type) not in (DataType.UNDEFINED, DataType.NULL)


def _compatible(a: Any, b: Any) -> bool:
    unwrap = DataType.NULLABLE.unwrap
    return not (_defined(a) and _defined(b)) or bool(DataType.is_compatible(unwrap(a), unwrap(b)))


TYPE_HINT: Final = ' (numbers compare with numbers, text with quoted text, dates with d"...")'


def _boolean(data_type: Any) -> bool:
    return not _defined(data_type) or DataType.NULLABLE.unwrap(data_type) == DataType.BOOLEAN


def _number(data_type: Any) -> bool:
    return bool(DataType.NULLABLE.unwrap(data_type) == DataType.FLOAT)


class ConditionProblem(Exception):
    """What is wrong with a condition, from ``start`` (0-based) in the text."""

    def __init__(self, message: str, start: int, excerpt: str | None = None) -> None:
        super().__init__(message)
        self.message, self.start, self.excerpt = message, start, excerpt


class _Located:
    """A node of the parse tree that knows where it is in the text; it builds the rule-engine
    node (once) and checks it, raising `ConditionProblem` at itself when something is wrong."""

    __slots__ = ("built", "deferred", "last", "operator", "start", "text")

    def __init__(self, deferred: Any, text: str, start: int, last: int, operator: int | None):
        self.deferred, self.text = deferred, text
        self.start, self.last, self.operator = start, last, operator
        self.built: Any = None

    @property
    def source(self) -> str:
        """The node's own text: from its first token to the end of its last one."""
        return self.text[self.start : _token_end(self.text, self.last)].strip()

    def children(self) -> list[_Located]:
        return [a for a in self.deferred.args if isinstance(a, _Located)]

    def described(self) -> str:
        return f"{_kind(self.built.result_type)} ({self.source})"

    def build(self) -> Any:
        cls = self.deferred.cls
        if issubclass(cls, _BIT_OPERATORS):
            at = self.operator if self.operator is not None else self.start
            symbol = self.text[at : _token_end(self.text, at)]
            raise ConditionProblem(
                f"{symbol} is a bit operator, which conditions do not use: compare with >, >=, "
                "<, <=, == or !=, and combine with and, or, not",
                at,
                self.source,
            )
        try:
            self.built = self.deferred.build()
        except rule_errors.EngineError as exc:
            raise self._explained(exc) from exc
        self._check(cls)
        return self.built

    def _explained(self, exc: rule_errors.EngineError) -> ConditionProblem:
        if isinstance(exc, rule_errors.AttributeResolutionError) or str(exc.message).startswith(
            "attribute access on a MAPPING"
        ):
            return ConditionProblem(explain(exc), self.last)  # the attribute's name
        if isinstance(exc, rule_errors.SymbolResolutionError):
            return ConditionProblem(explain(exc), self.start)
        parts = [c for c in self.children() if c.built is not None]
        binary = issubclass(self.deferred.cls, rule_ast.BinaryExpressionBase)
        if str(exc.message).startswith("data type mismatch") and binary and len(parts) == 2:
            operator = ""
            if self.operator is not None:
                operator = self.text[self.operator : _token_end(self.text, self.operator)] + " "
            kinds = " and ".join(c.described() for c in parts)
            return ConditionProblem(
                f"{operator}does not apply to {kinds}{TYPE_HINT}", self.start, self.source
            )
        return ConditionProblem(explain(exc), self.start, self.source)

    def _check(self, cls: type) -> None:
        """What rule-engine accepts but a condition must not do."""
        parts = self.children()
        if issubclass(cls, rule_ast.ComparisonExpression) and len(parts) == 2:
            left, right = parts
            if not _compatible(left.built.result_type, right.built.result_type):
                raise ConditionProblem(
                    f"compares {left.described()} with {right.described()}, which is never "
                    f"equal{TYPE_HINT}",
                    self.start,
                    self.source,
                )
        elif issubclass(cls, rule_ast.ContainsExpression) and len(parts) == 2:
            container, member = parts  # (context, container, member)
            held = DataType.NULLABLE.unwrap(container.built.result_type)
            inside = {"ARRAY": "value_type", "SET": "value_type", "MAPPING": "key_type"}.get(
                held.name
            )
            wanted = getattr(held, inside) if inside else held
            if held.name != "STRING" and not _compatible(wanted, member.built.result_type):
                raise ConditionProblem(
                    f"looks for {member.described()} in {container.described()}{TYPE_HINT}",
                    self.start,
                    self.source,
                )
        elif issubclass(cls, rule_ast.UnaryExpression) and self.deferred.args[1] == "UMINUS":
            [part] = parts
            if _defined(part.built.result_type) and not _number(part.built.result_type):
                raise ConditionProblem(
                    f"- needs a number, but {part.source!r} is {_kind(part.built.result_type)}",
                    self.start,
                    self.source,
                )
        elif issubclass(cls, rule_ast.LogicExpression | rule_ast.UnaryExpression):
            word, sides = "not", ""
            if issubclass(cls, rule_ast.LogicExpression) and self.operator is not None:
                word, sides = self.text[self.operator :].split(maxsplit=1)[0], " on each side"
            for part in parts:
                if not _boolean(part.built.result_type):
                    raise ConditionProblem(
                        f"{word} needs true or false{sides}, but {part.source!r} is "
                        f"{_kind(part.built.result_type)}: {_compare_it(part)}",
                        part.start,
                        part.source,
                    )
        elif issubclass(cls, rule_ast.Statement):
            [whole] = parts
            if not _boolean(whole.built.result_type):
                raise ConditionProblem(
                    f"the condition is {_kind(whole.built.result_type)}, not true or false: "
                    + _compare_it(whole),
                    whole.start,
                    whole.source,
                )


def _compare_it(part: _Located) -> str:
    """How to turn a value into true or false, by its kind."""
    example = {
        "FLOAT": f"{part.source} >= 500",
        "STRING": f'{part.source} == "EUR"',
        "DATETIME": f"{part.source} < now",
    }.get(DataType.NULLABLE.unwrap(part.built.result_type).name)
    return f"compare it (e.g. {example})" if example else "compare it with something"


def _token_end(text: str, position: int) -> int:
    """Where the token that starts at ``position`` ends."""
    lexer = _PARSER.lexer()
    lexer.input(text)
    for token in iter(lexer.token, None):
        if token.lexpos >= position:
            return int(lexer.lexpos) if token.lexpos == position else position
    return len(text)


class _LocatingParser(rule_parser.Parser):  # type: ignore[misc]
    """rule-engine's grammar, each node wrapped in a `_Located` with its span."""

    def __init__(self) -> None:
        super().__init__()
        for production in self._parser.productions:
            if production.callable is not None:
                production.callable = self._locating(production.callable)

    def lexer(self) -> Any:
        return self._lexer.clone()

    @staticmethod
    def _locating(action: Any) -> Any:
        def located(p: Any) -> None:
            action(p)
            node = p[0]
            if isinstance(node, rule_parser._DeferredAstNode):
                operator = next(
                    (
                        p.slice[i].lexpos
                        for i in range(2, len(p))
                        if isinstance(p.slice[i], LexToken)
                    ),
                    None,
                )
                start, last = p.lexspan(1)[0], p.lexspan(len(p) - 1)[1]
                text = p.lexer.lexdata
                # `a not in b` is one production making two nodes: locate the inner one too.
                node.args = tuple(
                    _Located(a, text, start, last, operator)
                    if isinstance(a, rule_parser._DeferredAstNode)
                    else a
                    for a in node.args
                )
                p[0] = _Located(node, text, start, last, operator)

        return located

    def parse(self, text: str, context: Any, **kwargs: Any) -> Any:
        return super().parse(text, context, tracking=True, **kwargs)


_PARSER: Final = _LocatingParser()


class LocatedRule(rule_engine.Rule):  # type: ignore[misc]
    parser = _PARSER


def explain(exc: rule_errors.EngineError) -> str:
    """rule-engine's message in the words of a condition's author."""
    message = str(exc.message)
    if isinstance(exc, rule_errors.SymbolResolutionError) and exc.symbol_scope == "built-in":
        if exc.symbol_name in ("now", "today"):
            return f"${exc.symbol_name} is not available in conditions; use now (decision time)"
        if exc.symbol_name in UNSAFE_BUILTINS:
            return f"${exc.symbol_name} is not available: conditions must be deterministic"
        message = f"unknown built-in ${exc.symbol_name}"
    elif isinstance(exc, rule_errors.SymbolResolutionError):
        message += "; conditions may use event, customer and now"
    elif message.startswith("attribute access on a MAPPING is disabled"):
        message = (
            'a mapping entry is read as event.data["name"] (or event.data&["name"] when it '
            "may be missing), not with a dot"
        )
    elif message.startswith("data type mismatch"):
        message += TYPE_HINT
    suggestion = getattr(exc, "suggestion", None)
    if suggestion:
        message += f"; did you mean {suggestion!r}?"
    return message
