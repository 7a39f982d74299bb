"""Compile a mapping's fields: sources, conversions, checks, laziness, generated evaluation.

Checks what pydantic cannot: XPath and template syntax, namespace prefixes, that every reference
names a field defined before it (or a built-in), and that amount/booking_date are converted to
the right type. Helpers that can be computed on demand are made lazy; the rest of a record
kind's fields become one generated function (`xml_adapters.codegen`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from xml_adapters.base import MappingError
from xml_adapters.codegen import FieldCode, compile_run
from xml_adapters.convert import DATE_CONVERTERS, DECIMAL_CONVERTERS, CodeMap, converter
from xml_adapters.evaluate import (
    Evaluation,
    Pipeline,
    Reader,
    constant_reader,
    count_reader,
    path_reader,
    template_reader,
)
from xml_adapters.mapping_schema import FIELD_NAME, FieldSpec
from xml_adapters.paths import (
    CompiledPath,
    PathError,
    PathSet,
    Template,
    compile_path,
    compile_template,
)

DOCUMENT_BUILTINS: Final = ("$version", "$namespace", "$root")
RECORD_BUILTINS: Final = ("$position", "$line", "$kind", "$role", "$part", "$parts")

# AccountEvent attributes a field of that name fills; every other field goes into `data`.
EVENT_ATTRIBUTES: Final = (
    "account_id",
    "amount",
    "currency",
    "credit_debit",
    "status",
    "booking_date",
    "description",
)
_RESERVED: Final = frozenset({"source", "source_event_id", "event_type", "line", "data"})


@dataclass(frozen=True, slots=True)
class CompiledField:
    """A compiled field: what its generated code needs, and whether it is lazy."""

    name: str
    in_data: bool  # copied into the event's `data`
    code: FieldCode  # how to generate its evaluation
    lazy: bool  # a helper evaluated only when (and if) a later field asks for it


def checked_template(text: str, known: set[str], source: str, key: str) -> Template:
    """Compile a template whose names must all be in `known`; MappingError says otherwise."""
    try:
        template = compile_template(text)
    except PathError as exc:
        raise MappingError(f"bad template {text!r}: {exc}", source=source, key=key) from None
    unknown = sorted(template.names - known)
    if unknown:
        raise MappingError(
            f"template {text!r} names {', '.join(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not a field of this record or a built-in "
            f"({', '.join((*DOCUMENT_BUILTINS, *RECORD_BUILTINS))})",
            source=source,
            key=key,
        )
    if not template.names and key.endswith("event_id"):
        raise MappingError(
            "the event id template names no field, so every record would get the same id",
            source=source,
            key=key,
        )
    return template


def compile_fields(
    specs: Mapping[str, FieldSpec],
    namespaces: Mapping[str, str],
    source: str,
    where: str,
    path_set: PathSet,
    *,
    known: set[str],
    taken: set[str] | None = None,
    used_by_events: frozenset[str] | None = None,
    parts: bool = False,
) -> tuple[CompiledField, ...]:
    """Compile `specs` in order. With `used_by_events` (the names the record's event templates
    use), helpers that can be computed on demand are made lazy (see `_lazy_names`)."""
    known = set(known)
    lazy = _lazy_names(specs, used_by_events) if used_by_events is not None else set()
    lazies: dict[str, FieldCode] = {}
    compiled = []
    for name, spec in specs.items():
        key = f"{where}.fields.{name}"
        if not FIELD_NAME.fullmatch(name) or name in _RESERVED:
            reason = (
                "is reserved for the event itself"
                if name in _RESERVED
                else "is not a field name (lower-case letters, digits and _)"
            )
            raise MappingError(f"{name!r} {reason}", source=source, key=key)
        if taken and name in taken:
            raise MappingError(
                "a context of this record already defines this field", source=source, key=key
            )
        field = _compile_field(
            name,
            spec,
            namespaces,
            source,
            key,
            known,
            path_set,
            lazies,
            lazy=name in lazy,
            parts=parts,
        )
        if field.lazy:
            lazies[name] = field.code
        compiled.append(field)
        known.add(name)
    return tuple(compiled)


def references(specs: Iterable[FieldSpec], used_by_events: frozenset[str]) -> set[str]:
    """Every name the fields and the event templates refer to (fields and built-ins)."""
    names = set(used_by_events)
    for spec in specs:
        names.update(spec.from_, spec.cases.values(), spec.negate_when or ())
        if spec.switch is not None:
            names.add(spec.switch)
        if spec.template is not None:
            with contextlib.suppress(PathError):
                names |= compile_template(spec.template).names
    return names


_SAFE_CONVERTERS = frozenset({"strip", "upper", "lower", "no_spaces"})


def _lazy_names(specs: Mapping[str, FieldSpec], used_by_events: frozenset[str]) -> set[str]:
    """Internal helpers that cannot fail and are only read through `from` or `switch` cases.

    They are evaluated when (and if) a later field asks for them: a camt entry needs the
    creditor's name on a debit and the debtor's on a credit, never both.
    """
    strong = set(used_by_events)
    for spec in specs.values():
        if spec.template is not None:
            with contextlib.suppress(PathError):  # reported when the field is compiled
                strong |= compile_template(spec.template).names
        if spec.switch is not None:
            strong.add(spec.switch)
        if spec.negate_when:
            strong |= set(spec.negate_when)
        if spec.path and spec.from_:
            strong |= set(spec.from_)  # read by a generic reader, which does not ask
    return {
        name
        for name, spec in specs.items()
        if spec.internal
        and name not in strong
        and not spec.required
        and set(spec.convert) <= _SAFE_CONVERTERS
        and spec.one_of is None
        and (spec.map is None or spec.otherwise is not None)
        and spec.negate_when is None
        and not (len(spec.path) == 1 and not spec.from_ and spec.join is None)
    }


def _compile_field(
    name: str,
    spec: FieldSpec,
    namespaces: Mapping[str, str],
    source: str,
    key: str,
    known: set[str],
    path_set: PathSet,
    lazies: Mapping[str, FieldCode],
    *,
    lazy: bool = False,
    parts: bool = False,
) -> CompiledField:
    def refer(ref: str, sub_key: str) -> str:
        if ref not in known:
            raise MappingError(
                f"{ref!r} is not a field defined before {name!r} (or a built-in); fields can "
                "only use fields declared above them",
                source=source,
                key=f"{key}.{sub_key}",
            )
        return ref

    every = spec.join is not None or spec.count is not None

    def path(text: str, sub_key: str) -> tuple[CompiledPath, int]:
        try:
            compiled = compile_path(text, namespaces)
        except PathError as exc:
            raise MappingError(
                f"bad XPath {text!r}: {exc}", source=source, key=f"{key}.{sub_key}"
            ) from None
        if compiled.part and not parts:
            raise MappingError(
                f"{text!r} reads a part, but this record declares no `parts`",
                source=source,
                key=f"{key}.{sub_key}",
            )
        return compiled, (path_set.add(compiled, every=every) if compiled.is_fast else -1)

    paths = tuple(path(p, f"path[{i}]") for i, p in enumerate(spec.path))
    from_ = tuple(refer(r, f"from[{i}]") for i, r in enumerate(spec.from_))
    label = spec.label or (paths[0][0].label if paths else name)
    all_fast = bool(paths) and all(slot >= 0 for _path, slot in paths)
    reader: Reader | None = None  # for sources not read inline by the generated code
    template: Template | None = None
    switch = None
    if paths and not all_fast:
        reader = path_reader(paths, spec.join, from_)
        from_ = ()  # the reader falls back to them
    elif spec.template is not None:
        template = checked_template(spec.template, known, source, f"{key}.template")
        reader = template_reader(template, label)
    elif spec.count is not None:
        counted, slot = path(spec.count, "count")
        reader = count_reader(counted, slot)
    elif spec.switch is not None:
        for case, target in spec.cases.items():
            refer(target, f"cases.{case}")
        switch = (
            refer(spec.switch, "switch"),
            dict(spec.cases),
            {t: lazies[t] for t in spec.cases.values() if t in lazies},
        )
    elif spec.value is not None:
        reader = constant_reader(spec.value, label)
    negate = None
    if spec.negate_when is not None:
        [(other, code)] = spec.negate_when.items()
        negate = (refer(other, "negate_when"), code)
        if not DECIMAL_CONVERTERS & set(spec.convert):
            raise MappingError(
                '`negate_when` needs `convert = "decimal"` (or "amount")',
                source=source,
                key=f"{key}.negate_when",
            )
    _check_event_attribute(name, spec, source, key)
    code_map = None
    if spec.map is not None:
        code_map = CodeMap(dict(spec.map), spec.otherwise)
    elif spec.one_of is not None:
        code_map = CodeMap({code: code for code in spec.one_of}, None)
    pipeline = Pipeline(
        empty_values=frozenset(spec.empty_values),
        default=spec.default,
        steps=tuple(converter(c, date_formats=spec.date_format) for c in spec.convert),
        code_map=code_map,
        negate=negate,
        required=spec.required,
        label=label,
        fixed_label=spec.label is not None,
        missing=spec.missing or f"required value {label} is missing",
        invalid=spec.invalid,
    )
    plain = None
    single = len(paths) == 1 and paths[0][1] >= 0 and not from_ and spec.join is None
    if single and pipeline.is_plain and not lazy:
        plain = (paths[0][1], paths[0][0].attribute)
    typed = (DECIMAL_CONVERTERS | DATE_CONVERTERS) & set(spec.convert)
    field_code = FieldCode(
        name=name,
        pipeline=pipeline,
        reader=reader,
        fast_paths=paths if all_fast else (),
        join=spec.join,
        from_names=from_,
        lazies={ref: lazies[ref] for ref in from_ if ref in lazies},
        label=label,
        text_only=not typed or pipeline.code_map is not None,
        plain=plain,
        switch=switch,
        infallible=lazy,
        template=template,
    )
    return CompiledField(
        name=name,
        in_data=not spec.internal and name not in EVENT_ATTRIBUTES,
        code=field_code,
        lazy=lazy,
    )


def evaluation(fields: tuple[CompiledField, ...], paths: PathSet, title: str) -> Evaluation:
    eager = [f.code for f in fields if not f.lazy]
    return Evaluation(
        paths=paths, run=compile_run(paths, eager, title), fields=tuple(eager), title=title
    )


def _check_event_attribute(name: str, spec: FieldSpec, source: str, key: str) -> None:
    converts = set(spec.convert)
    typed = (DECIMAL_CONVERTERS | DATE_CONVERTERS) & converts
    if name == "amount" and not DECIMAL_CONVERTERS & converts:
        raise MappingError(
            'the event amount must be a number: add convert = "decimal" (or "amount")',
            source=source,
            key=f"{key}.convert",
        )
    if name == "booking_date" and not DATE_CONVERTERS & converts:
        raise MappingError(
            'the booking date must be a date: add convert = "date"', source=source, key=key
        )
    if name in EVENT_ATTRIBUTES and name not in ("amount", "booking_date") and typed:
        raise MappingError(
            f"{name} is text; drop the {', '.join(sorted(typed))} conversion",
            source=source,
            key=f"{key}.convert",
        )
