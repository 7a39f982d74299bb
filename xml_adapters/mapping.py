"""Declarative adapters: the engine that runs a mapping file over a streamed document."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from xml_adapters.base import (
    AccountEvent,
    InvalidDocumentError,
    MappingError,
    Notice,
    Record,
    RecordProblem,
    UnknownFormatError,
)
from xml_adapters.compile import (
    CompiledContext,
    CompiledRecord,
    Plan,
    compile_plan,
)
from xml_adapters.convert import Value
from xml_adapters.evaluate import Fault, Run, Values
from xml_adapters.finish import DataOf, new_event
from xml_adapters.iso20022 import message_type
from xml_adapters.mapping_schema import MappingSpec, read_mapping_file
from xml_adapters.parse import detect_root, iterparse_records, line_of, record_too_large
from xml_adapters.shapes import Shaped, ShapeRun
from xml_adapters.validation import RecordValidator, SchemaSetupError, validator_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RootMatch:
    """How a document's root matched one `[[accept]]` entry of a mapping."""

    namespace: str
    root: str
    version: str | None  # the `versions` entry, for namespace_prefix + versions


class MappingAdapter:
    """An Adapter (see `xml_adapters.base.Adapter`) driven by a mapping file."""

    def __init__(self, spec: MappingSpec, *, source: str) -> None:
        self.spec = spec
        self.source = source  # the mapping file, for messages and `herald adapters list`
        self.key = spec.key
        self.title = spec.title
        self.versions = tuple(v for a in spec.accept for v in (a.versions or ()))
        self._plans: dict[str, Plan] = {}
        # Compile once now so a broken mapping fails at load time, not on the first file.
        self._plan(self._sample_namespace())

    @classmethod
    def from_file(cls, path: Path) -> MappingAdapter:
        """Load, validate and compile a mapping file (MappingError names file and key)."""
        return cls(read_mapping_file(path), source=str(path))

    def _sample_namespace(self) -> str:
        first = self.spec.accept[0]
        if first.namespaces is not None:
            return first.namespaces[0]
        assert first.namespace_prefix is not None and first.versions
        return first.namespace_prefix + first.versions[0]

    def _plan(self, namespace: str) -> Plan:
        plan = self._plans.get(namespace)
        if plan is None:
            plan = compile_plan(self.spec, source=self.source, root_namespace=namespace)
            self._plans[namespace] = plan
        return plan

    def plan(self) -> Plan:
        """The compiled plan for the first namespace accepted (every namespace's plan has the
        same record kinds and fields)."""
        return self._plan(self._sample_namespace())

    def _validators(self, plan: Plan, found: RootMatch) -> dict[str, RecordValidator]:
        """Per record kind, the XSD check the mapping asks for (`schema`), if any."""
        if not self.spec.schema_:
            return {}
        name = self.spec.schema_.replace("{version}", found.version or "")
        beside = Path(self.source).parent / name
        out: dict[str, RecordValidator] = {}
        for tag, record in plan.records.items():
            local = split_tag(tag)[1]
            try:
                out[record.kind] = (
                    RecordValidator(beside, local)
                    if beside.exists()
                    else validator_for(name, local)
                )
            except SchemaSetupError as exc:
                raise MappingError(
                    f"{exc} (looked beside the mapping and in the shipped schemas)",
                    source=self.source,
                    key="schema",
                ) from exc
        return out

    def formats(self) -> list[dict[str, Any]]:
        """The roots this adapter reads: local name and every namespace URI accepted."""
        out = []
        for accept in self.spec.accept:
            if accept.namespaces is not None:
                namespaces = list(accept.namespaces)
            else:
                namespaces = [f"{accept.namespace_prefix}{v}" for v in accept.versions or ()]
            out.append({"root": accept.root, "namespaces": namespaces})
        return out

    def match(self, root_tag: str) -> RootMatch | None:
        namespace, local = split_tag(root_tag)
        for accept in self.spec.accept:
            if accept.root != local:
                continue
            if accept.namespaces is not None:
                if namespace in accept.namespaces:
                    return RootMatch(namespace, local, None)
                continue
            prefix = accept.namespace_prefix or ""
            if namespace.startswith(prefix) and namespace[len(prefix) :] in (accept.versions or ()):
                return RootMatch(namespace, local, namespace[len(prefix) :])
        return None

    def accepts(self, root_tag: str) -> bool:
        return self.match(root_tag) is not None

    def version(self, root_tag: str) -> str | None:
        """The matched version (`001.08`) of a root this adapter reads, else None."""
        found = self.match(root_tag)
        return found.version if found else None

    def iter_records(self, stream: BinaryIO, path: str) -> Iterator[Record]:
        root_tag = detect_root(stream, path)
        found = self.match(root_tag)
        if found is None:
            accepted = "; ".join(
                f"{f['root']} in {', '.join(repr(n) for n in f['namespaces'])}"
                for f in self.formats()
            )
            raise UnknownFormatError(
                f"{path}: the document is {describe_root(root_tag)}, not a {self.title} "
                f"document ({accepted})."
            )
        return self._records(stream, path, found)

    def _records(self, stream: BinaryIO, path: str, found: RootMatch) -> Iterator[Record]:
        plan = self._plan(found.namespace)
        document: Values = {
            "$version": found.version,
            "$namespace": found.namespace,
            "$root": found.root,
        }
        open_contexts: dict[str, _OpenContext | None] = {
            c.name: None for c in plan.contexts.values()
        }
        seen_contexts: set[str] = set()
        positions: dict[str, int] = {r.kind: 0 for r in plan.records.values()}
        scoped = {
            ctx: [r.kind for r in plan.records.values() if r.contexts and r.contexts[-1] == ctx]
            for ctx in open_contexts
        }
        # What a record kind inherits (document built-ins, its open contexts' values and first
        # fault), merged once and reused until a context starts or ends.
        inherited: dict[str, tuple[Values, Fault | None]] = {}
        validators = self._validators(plan, found)
        shape_run = ShapeRun()
        events = iterparse_records(
            stream, path, record_tags=set(plan.records), context_tags=set(plan.contexts)
        )
        for event in events:
            element = event.element
            record = plan.records.get(event.tag)
            if record is None:
                context = plan.contexts[event.tag]
                if event.kind == "start":
                    open_contexts[context.name] = _OpenContext(context, element, document)
                    seen_contexts.add(context.name)
                    for kind in scoped[context.name]:
                        positions[kind] = 0
                else:
                    if context.empty_warning and not any(
                        positions[k] for k in scoped[context.name]
                    ):
                        logger.warning("%s, line %s: %s", path, event.line, context.empty_warning)
                        yield Notice(event.line, context.empty_warning)
                    open_contexts[context.name] = None
                inherited.clear()
                continue
            positions[record.kind] = position = positions[record.kind] + 1
            if event.kind == "refused":
                reason = record_too_large(element.tag, event.line)
                logger.warning("%s: %s", path, reason)
                yield RecordProblem(
                    line=event.line,
                    record_id=f"{record.kind} {position}",
                    field=None,
                    value=None,
                    reason=reason,
                )
                continue
            validator = validators.get(record.kind)
            if validator is not None and (problem := validator.problem(element)):
                yield RecordProblem(
                    line=event.line,
                    record_id=None,
                    field=None,
                    value=None,
                    reason=f"schema: {problem}",
                )
                continue
            base = inherited.get(record.kind)
            if base is None:
                merged: Values = {**document, "$kind": record.kind}
                fault = None
                for name in record.contexts:
                    state = open_contexts[name]
                    if state is not None:
                        merged.update(state.values())
                        fault = fault or state.fault
                base = inherited[record.kind] = (merged, fault)
            shaped = (
                record.shapes.match(element, shape_run)
                if record.shapes is not None and shape_run.worth_it
                else None
            )
            if shaped is not None:
                yield _shaped(self.key, record, element, event.line, position, base, shaped)
                # Let the proxies of its elements go before the parser clears the record: lxml
                # then frees the subtree at once instead of node by node as each proxy dies.
                shaped = None
            elif record.part_slots:
                yield from _split(self.key, record, element, event.line, position, base)
            else:
                yield _build(
                    self.key, record, element, event.line, position, base[0].copy(), base[1]
                )
        missing = [c for c in plan.contexts.values() if c.required and c.name not in seen_contexts]
        if missing:
            needed = " and ".join(split_tag(c.tag)[1] for c in missing)
            raise InvalidDocumentError(
                f"{path}: the document is {describe_root(_clark(found))} but holds no "
                f"{needed} element, so there is nothing to read (every {self.key} document "
                "holds at least one). Fix the export (or ask its owner to) and send the file "
                "again."
            )


class _OpenContext:
    """A context element being streamed; its fields are read when its first record ends."""

    __slots__ = ("_document", "_values", "context", "element", "fault")

    def __init__(self, context: CompiledContext, element: etree._Element, document: Values):
        self.context, self.element, self._document = context, element, document
        self._values: Values | None = None
        self.fault: Fault | None = None

    def values(self) -> Values:
        if self._values is None:
            values = dict(self._document)
            self.fault = self.context.evaluation.run(self.element, values)
            self._values = {f.name: values.get(f.name) for f in self.context.fields}
            self.element = None  # type: ignore[assignment]  # read once; let it go
        return self._values


def _split(
    key: str,
    record: CompiledRecord,
    element: etree._Element,
    line: int | None,
    position: int,
    base: tuple[Values, Fault | None],
) -> tuple[AccountEvent | RecordProblem, ...]:
    """The events of a record with `parts`: one ("single") with at most one part, else one
    for the record ("batch") and one per part ("item", `$part` its number from 1)."""
    paths = record.evaluation.paths
    found = paths.walk(element)  # the parts are among what it finds, path after path
    slots = record.part_slots
    if len(slots) == 1:
        parts = found[slots[0]] or ()
    else:
        parts = [part for slot in slots for part in found[slot] or ()]
    inherited, fault = base
    count = str(len(parts))
    if len(parts) <= 1:
        values = {**inherited, "$role": "single", "$parts": count, "$part": None}
        part = parts[0] if parts else None
        if part is not None:
            paths.walk_part(part, found)
        return (_build(key, record, element, line, position, values, fault, part, found),)
    values = {**inherited, "$role": "batch", "$parts": count, "$part": None}
    events = [_build(key, record, element, line, position, values, fault, None, found)]
    for number, part in enumerate(parts, start=1):
        values = {**inherited, "$role": "item", "$parts": count, "$part": str(number)}
        item_found = found[:]  # the record's own paths, walked once; then this part's
        paths.walk_part(part, item_found)
        item_line = line_of(part) or line
        events.append(
            _build(key, record, element, item_line, position, values, fault, part, item_found)
        )
    return tuple(events)


def _shaped(
    key: str,
    record: CompiledRecord,
    element: etree._Element,
    line: int | None,
    position: int,
    base: tuple[Values, Fault | None],
    shaped: tuple[Shaped, list[Any]],
) -> AccountEvent | RecordProblem:
    """A record of a learnt shape (see `xml_adapters.shapes`): what `_split` or `_build` give,
    through the shape's code (such a record has at most one part)."""
    code, elements = shaped
    inherited, fault = base
    values = {**inherited, **code.builtins}  # ($role "single", $parts, $part with parts)
    part = elements[code.part] if code.part is not None else None
    found = code.build(elements)
    return _build(
        key, record, element, line, position, values, fault, part, found, code.run, code.data_of
    )


def _build(
    key: str,
    record: CompiledRecord,
    element: etree._Element,
    line: int | None,
    position: int,
    values: Values,
    fault: Fault | None,
    part: etree._Element | None = None,
    walked: list[Any] | None = None,
    run: Run | None = None,
    data_of: DataOf | None = None,
) -> AccountEvent | RecordProblem:
    if record.uses_position:
        values["$position"] = str(position)
    if record.uses_line:
        values["$line"] = str(line) if line is not None else None
    own = (run or record.evaluation.run)(element, values, part, walked)
    fault = fault or own
    event_type = event_id = None
    if fault is None:
        event_type = record.event_type.render(values)
        event_id = record.event_id.render(values)
        if event_type is None:
            fault = _incomplete("event_type", record.event_type.source, line)
        elif event_id is None:
            fault = _incomplete("event_id", record.event_id.source, line)
        elif not isinstance(values.get("account_id"), str):
            fault = Fault(line, "account_id", None, "the record names no customer (account_id)")
    if fault is not None or event_type is None or event_id is None:
        assert fault is not None
        record_id = record.record_id.render(values) if record.record_id else None
        return RecordProblem(
            line=fault.line or line,
            record_id=record_id or f"{record.kind} {position}",
            field=fault.field,
            value=fault.value,
            reason=fault.reason,
        )
    get = values.get
    amount, booking_date = get("amount"), get("booking_date")
    currency, credit_debit = get("currency"), get("credit_debit")
    status, description = get("status"), get("description")
    return new_event(
        key,
        event_id,
        event_type,
        values["account_id"],
        amount if isinstance(amount, Decimal) else None,
        currency if currency is None or currency.__class__ is str else _text(currency),
        credit_debit
        if credit_debit is None or credit_debit.__class__ is str
        else _text(credit_debit),
        status if status is None or status.__class__ is str else _text(status),
        booking_date if isinstance(booking_date, date) else None,
        description if description is None or description.__class__ is str else _text(description),
        line,
        (data_of or record.data_of)(values),
        record.record_id.render(values) if record.record_id else None,
    )


def _incomplete(field: str, template: str, line: int | None) -> Fault:
    return Fault(
        line,
        field,
        None,
        f"cannot build the {field.replace('_', ' ')}: a part of {template!r} has no value",
    )


def _text(value: Value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _clark(found: RootMatch) -> str:
    return f"{{{found.namespace}}}{found.root}" if found.namespace else found.root


def split_tag(tag: str) -> tuple[str, str]:
    """(namespace, local name) of a Clark tag; namespace "" when it has none."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def describe_root(root_tag: str) -> str:
    """A human description of a root element for messages."""
    message = message_type(root_tag)
    if message is not None:
        return f"an ISO 20022 {message.name} message (namespace {message.namespace!r})"
    namespace, local = split_tag(root_tag)
    if namespace:
        return f"element {local!r} in namespace {namespace!r}"
    return f"element {local!r} (no namespace)"
