"""Compile a validated mapping file into per-namespace plans: contexts, record kinds, events.

Checks what pydantic cannot at this level: namespace prefixes, element names, contexts, that
every record kind has a customer key (`account_id`), an event type and an event id; the fields
themselves are compiled by `xml_adapters.fields`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from xml_adapters.base import MappingError
from xml_adapters.evaluate import Evaluation
from xml_adapters.fields import (
    DOCUMENT_BUILTINS,
    RECORD_BUILTINS,
    CompiledField,
    checked_template,
    compile_fields,
    evaluation,
    references,
)
from xml_adapters.finish import DataOf, compile_data
from xml_adapters.mapping_schema import FIELD_NAME, ROOT_NAMESPACE, MappingSpec
from xml_adapters.paths import (
    CompiledPath,
    PathError,
    PathSet,
    Template,
    compile_path,
    compile_template,
)
from xml_adapters.shapes import ShapeCache

_QNAME = re.compile(r"(?:(?P<prefix>[A-Za-z_][\w.\-]*):)?(?P<local>[A-Za-z_][\w.\-]*)")


@dataclass(frozen=True, slots=True)
class CompiledContext:
    """A context ready to read: its element and its compiled fields."""

    name: str
    tag: str
    required: bool
    fields: tuple[CompiledField, ...]
    evaluation: Evaluation
    empty_warning: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledRecord:
    """A record kind ready to map: its element, contexts, compiled fields and event templates."""

    kind: str
    tag: str
    contexts: tuple[str, ...]  # names, outermost first; the last one scopes `$position`
    fields: tuple[CompiledField, ...]
    evaluation: Evaluation
    data_fields: tuple[str, ...]  # own and inherited fields copied into `data`
    uses_position: bool  # some template or field reads {$position}
    uses_line: bool  # ... or {$line}
    event_type: Template
    event_id: Template
    record_id: Template | None
    # The event's `data` from a record's values: its data fields' texts, in data_fields order.
    data_of: DataOf
    # The walk's slots of the `parts` paths (each slot: every element the path reaches).
    part_slots: tuple[int, ...] = ()
    # Code specialised to the shapes of the records seen (see `xml_adapters.shapes`).
    shapes: ShapeCache | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A mapping bound to one document namespace: what to stream and how to map it."""

    records: Mapping[str, CompiledRecord]  # by Clark tag
    contexts: Mapping[str, CompiledContext]  # by Clark tag


def namespace_map(spec: MappingSpec, root_namespace: str) -> dict[str, str]:
    return {
        prefix: root_namespace if uri == ROOT_NAMESPACE else uri
        for prefix, uri in spec.namespaces.items()
    }


def compile_plan(spec: MappingSpec, *, source: str, root_namespace: str) -> Plan:
    """Compile every path and template of `spec` for documents in `root_namespace`."""
    namespaces = namespace_map(spec, root_namespace)
    for prefix in namespaces:
        if not FIELD_NAME.fullmatch(prefix.lower()):
            raise MappingError("not a valid XML prefix", source=source, key=f"namespaces.{prefix}")
    contexts: dict[str, CompiledContext] = {}
    by_name: dict[str, CompiledContext] = {}
    for name, ctx in spec.contexts.items():
        where = f"contexts.{name}"
        tag = _tag(ctx.element, namespaces, source, f"{where}.element")
        paths = PathSet()
        fields = compile_fields(
            ctx.fields, namespaces, source, where, paths, known=set(DOCUMENT_BUILTINS)
        )
        compiled = CompiledContext(
            name,
            tag,
            ctx.required,
            fields,
            evaluation(fields, paths, f"context {name}"),
            ctx.empty_warning,
        )
        if tag in contexts:
            raise MappingError(
                f"{ctx.element} is already the element of context {contexts[tag].name!r}",
                source=source,
                key=f"{where}.element",
            )
        contexts[tag], by_name[name] = compiled, compiled
    records: dict[str, CompiledRecord] = {}
    for index, rec in enumerate(spec.records):
        where = f"records[{index}]"
        tag = _tag(rec.element, namespaces, source, f"{where}.element")
        if tag in records or tag in contexts:
            raise MappingError(
                f"{rec.element} is already used by another record kind or context",
                source=source,
                key=f"{where}.element",
            )
        inherited: dict[str, CompiledField] = {}
        for position, ctx_name in enumerate(rec.contexts):
            if ctx_name not in by_name:
                defined_contexts = ", ".join(sorted(by_name)) or "none are defined"
                raise MappingError(
                    f"unknown context {ctx_name!r} (known: {defined_contexts})",
                    source=source,
                    key=f"{where}.contexts[{position}]",
                )
            for compiled_field in by_name[ctx_name].fields:
                inherited[compiled_field.name] = compiled_field
        known = set(DOCUMENT_BUILTINS) | set(RECORD_BUILTINS) | set(inherited)
        paths = PathSet()
        used_by_events: frozenset[str] = frozenset()
        for text in (rec.event_type, rec.event_id, rec.record_id or ""):
            with contextlib.suppress(PathError):  # reported below, with its key
                used_by_events |= compile_template(text).names
        fields = compile_fields(
            rec.fields,
            namespaces,
            source,
            where,
            paths,
            known=known,
            taken=set(inherited),
            used_by_events=used_by_events,
            parts=bool(rec.parts),
        )
        # The parts are found by the record's walk, with its fields' paths.
        part_slots = tuple(
            paths.add(_part_path(text, namespaces, source, f"{where}.parts[{i}]"), every=True)
            for i, text in enumerate(rec.parts)
        )
        defined = set(inherited) | {f.name for f in fields}
        if "account_id" not in defined:
            raise MappingError(
                "no `account_id` field: every record needs a customer key (declare it under "
                "fields, or in one of the record's contexts)",
                source=source,
                key=f"{where}.fields",
            )
        record_evaluation = evaluation(fields, paths, f"record {rec.kind}")
        all_fields = (*inherited.values(), *fields)
        data_fields = tuple(f.name for f in all_fields if f.in_data)
        records[tag] = CompiledRecord(
            kind=rec.kind,
            tag=tag,
            contexts=tuple(rec.contexts),
            fields=fields,
            evaluation=record_evaluation,
            data_fields=data_fields,
            data_of=compile_data(data_fields),
            uses_position="$position" in references(rec.fields.values(), used_by_events),
            uses_line="$line" in references(rec.fields.values(), used_by_events),
            event_type=checked_template(
                rec.event_type, defined | known, source, f"{where}.event_type"
            ),
            event_id=checked_template(rec.event_id, defined | known, source, f"{where}.event_id"),
            record_id=(
                checked_template(rec.record_id, defined | known, source, f"{where}.record_id")
                if rec.record_id is not None
                else None
            ),
            part_slots=part_slots,
            shapes=ShapeCache(
                paths, record_evaluation.fields, record_evaluation.title, part_slots, data_fields
            ),
        )
    return Plan(records, contexts)


def _tag(qname: str, namespaces: Mapping[str, str], source: str, key: str) -> str:
    match = _QNAME.fullmatch(qname.strip())
    if match is None:
        raise MappingError(f"{qname!r} is not an element name like c:Ntry", source=source, key=key)
    prefix, local = match["prefix"], match["local"]
    if prefix is None:
        return local
    if prefix not in namespaces:
        raise MappingError(
            f"unknown namespace prefix {prefix!r} (declare it under [namespaces])",
            source=source,
            key=key,
        )
    uri = namespaces[prefix]
    return f"{{{uri}}}{local}" if uri else local


def _part_path(text: str, namespaces: Mapping[str, str], source: str, key: str) -> CompiledPath:
    try:
        path = compile_path(text, namespaces)
    except PathError as exc:
        raise MappingError(f"bad path {text!r}: {exc}", source=source, key=key) from None
    if not path.is_fast or path.part or path.attribute is not None or not path.steps:
        raise MappingError(
            f"{text!r} is not a path of child elements like c:NtryDtls/c:TxDtls",
            source=source,
            key=key,
        )
    return path
