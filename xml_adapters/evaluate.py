"""Field evaluation building blocks: faults, readers for the slower sources, pipelines.

The per-record code itself is generated (`xml_adapters.codegen`): paths resolved by the walk,
`from` fallbacks, switches and lazy helpers are read inline; other sources (general XPath,
templates, counts, constants) go through the small reader closures here. A lazy helper too long
to inline is called through `lazy_getter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from lxml import etree

from xml_adapters.convert import CodeMap, ConversionError, Converter, Value
from xml_adapters.paths import (
    CompiledPath,
    PathSet,
    Template,
    evaluate_xpath,
    line_of,
    text_of,
)

MAX_VALUE_CHARS = 200  # a bad value longer than this is cut in the RecordProblem
Values = dict[str, Value | None]
Found = list[Any]  # PathSet.walk's result: by slot, an element or None (or a list of them)
Reader = Callable[[Found, etree._Element, Values], tuple[Value | None, Any, str]]
Evaluator = Callable[[Found, etree._Element, Values], "Fault | None"]
Getter = Callable[[Found, etree._Element, Values], Value | None]  # a lazy field's value
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Fault:
    """The first thing wrong with a record; becomes a RecordProblem."""

    line: int | None  # None: the record's own line
    field: str
    value: str | None
    reason: str


def _clean(text: str) -> str:
    return " ".join(text.split())


def path_reader(
    paths: tuple[tuple[CompiledPath, int], ...], join: str | None, from_: tuple[str, ...]
) -> Reader:
    """Read the first non-blank of `paths` (or all matches joined), else the `from_` fields.

    Used when some path is a general XPath; fields whose paths are all fast read them inline.
    """
    if join is None:
        return _fallback(_alternatives_reader(paths), from_)
    return _fallback(_joined_reader(paths, join), from_)


def _alternatives_reader(paths: tuple[tuple[CompiledPath, int], ...]) -> Reader:
    first_label = paths[0][0].label

    def read(found: Found, element: etree._Element, _values: Values) -> tuple[Any, Any, str]:
        blank = None
        for path, slot in paths:
            if slot >= 0:
                hit = found[slot]
                if hit is None:
                    continue
                text = text_of(path, hit)
            else:
                results = evaluate_xpath(path, element)
                if not results:
                    continue
                text, hit = results[0]
            if text and not text.isspace():
                return _clean(text), hit, path.label
            if blank is None:
                blank = (hit, path.label)
        if blank is not None:
            return "", blank[0], blank[1]
        return None, None, first_label

    return read


def _joined_reader(paths: tuple[tuple[CompiledPath, int], ...], join: str) -> Reader:
    first_label = paths[0][0].label

    def read(found: Found, element: etree._Element, _values: Values) -> tuple[Any, Any, str]:
        for path, slot in paths:
            if slot >= 0:
                texts = [text_of(path, hit) for hit in found[slot] or ()]
            else:
                texts = [text for text, _ in evaluate_xpath(path, element)]
            joined = join.join(_clean(t) for t in texts if t.strip())
            if joined:
                return joined, None, path.label
        return None, None, first_label

    return read


def _fallback(reader: Reader, from_: tuple[str, ...]) -> Reader:
    if not from_:
        return reader

    def read(found: Found, element: etree._Element, values: Values) -> tuple[Any, Any, str]:
        raw, where, label = reader(found, element, values)
        if raw is None:
            for name in from_:
                raw = values.get(name)
                if raw is not None:
                    break
        return raw, where, label

    return read


def template_reader(template: Template, label: str) -> Reader:
    render = template.render
    return lambda _found, _element, values: (render(values), None, label)


def constant_reader(constant: str | None, label: str) -> Reader:
    return lambda _found, _element, _values: (constant, None, label)


def count_reader(path: CompiledPath, slot: int) -> Reader:
    label = path.label

    def read(found: Found, element: etree._Element, _values: Values) -> tuple[Any, Any, str]:
        count = len(found[slot] or ()) if slot >= 0 else len(evaluate_xpath(path, element))
        return (str(count) if count else None), None, label

    return read


def lazy_getter(name: str, evaluate: Evaluator) -> Getter:
    """Evaluate a lazy field the first time a record asks for it; then reuse its value."""

    def get(found: Found, element: etree._Element, values: Values) -> Value | None:
        value = values.get(name, _UNSET)
        if value is _UNSET:
            evaluate(found, element, values)
            return values[name]
        return cast("Value | None", value)

    return get


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What happens to a raw value after it is read."""

    empty_values: frozenset[str]
    default: str | None
    steps: tuple[Converter, ...]
    code_map: CodeMap | None
    negate: tuple[str, str] | None
    required: bool
    label: str
    fixed_label: bool
    missing: str
    invalid: str | None

    @property
    def is_plain(self) -> bool:
        """Nothing to do but clean up the text (and drop `empty_values`)."""
        return not (
            self.default is not None
            or self.steps
            or self.code_map is not None
            or self.negate is not None
            or self.required
        )


def invalid(
    pipeline: Pipeline, label: str, raw: Value | None, where: Any, exc: ConversionError
) -> Fault:
    shown = raw if isinstance(raw, str) else None
    if shown is not None and len(shown) > MAX_VALUE_CHARS:
        shown = shown[:MAX_VALUE_CHARS] + "..."
    if isinstance(where, etree._Element):
        line = line_of(where)
    else:
        line = where if isinstance(where, int) else None
    return Fault(
        line,
        pipeline.label if pipeline.fixed_label else label,
        shown,
        pipeline.invalid or exc.reason,
    )


class Run(Protocol):
    """A record kind's (or context's) generated evaluation: fills `values`, returns the first
    fault. `part` is the record's current part (`$part/` paths read from it), if any; `found`
    the result of the walk of element and part, when the caller has made it."""

    def __call__(
        self,
        element: etree._Element,
        values: Values,
        part: etree._Element | None = None,
        found: Found | None = None,
        /,
    ) -> Fault | None: ...


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The fields of one record kind (or context), compiled into one function.

    `run(element, values)` walks the element's paths, fills plain text fields (one fast path,
    nothing else: most `data` fields) straight from the walk, then evaluates the other fields in
    declaration order, and returns the first fault. See `xml_adapters.codegen`.
    """

    paths: PathSet
    run: Run
    fields: tuple[Any, ...] = ()  # the eager fields' FieldCode, to compile a shape's code
    title: str = ""
