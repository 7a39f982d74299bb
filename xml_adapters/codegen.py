"""Generated Python for a record kind's fields: the per-record hot path of the mapping engine.

Interpreting a mapping field by field costs a function call and a dozen checks of options the
field does not use; a record has about thirty fields. Instead each record kind (and context) is
compiled into one function, `run(element, values) -> Fault | None`, holding straight-line code
for exactly the steps its fields need: the path walk, plain text fields read from it, then the
other fields in declaration order. Values from the mapping file (names, labels, codes, messages)
are handed to the code as constants and never pasted into it; the source only contains
identifiers and numbers generated here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from xml_adapters.codecache import compiled
from xml_adapters.convert import MEMO_LIMIT, ConversionError, memo_for
from xml_adapters.evaluate import (
    Evaluator,
    Fault,
    Pipeline,
    Reader,
    Run,
    invalid,
    lazy_getter,
)
from xml_adapters.paths import CompiledPath, PathSet, Template


@dataclass(frozen=True, slots=True)
class FieldCode:
    """What the generated code of one field needs to know."""

    name: str
    pipeline: Pipeline
    reader: Reader | None  # for sources not read inline (general XPath, templates, ...)
    fast_paths: tuple[tuple[CompiledPath, int], ...]  # read inline from the walk
    join: str | None  # with fast_paths: every match, joined
    from_names: tuple[str, ...]  # earlier fields, the fallback read inline
    lazies: Mapping[str, FieldCode]  # lazy fields among `from_names`, computed where used
    label: str
    text_only: bool  # the value can be "" (no value); typed conversions never give ""
    plain: tuple[int, str | None] | None  # (slot, attribute) of a plain one-path text field
    # A `switch` read inline: the switch field, case -> target field, and the lazy targets.
    switch: tuple[str, Mapping[str, str], Mapping[str, FieldCode]] | None = None
    # A lazy helper: cannot fail (not required; no conversion, code list or negation that
    # can refuse a value), so its code keeps no `where` or `label` for a fault.
    infallible: bool = False
    template: Template | None = None  # a `template` field's (read by `reader`)


@dataclass(frozen=True, slots=True)
class Known:
    """What a record's shape tells about the walk's result (see `xml_adapters.shapes`): the
    slots it fills, and those whose element has no children. Code compiled with it tests
    nothing it knows."""

    present: frozenset[int]
    leaves: frozenset[int]
    # Built-ins whose value is the same for every record of the shape (`$role` "single"...).
    constants: tuple[tuple[str, str | None], ...] = ()


# A lazy helper whose code (its own lazy helpers included) is longer than this is called as a
# function of its own where it is used, instead of being pasted there.
MAX_INLINE_LINES = 300
_UNSET: Any = object()
_VARIES: Any = object()  # `_Source.fixed`: not known when the code is generated


class _Source:
    """Lines of generated code and the constants they refer to."""

    def __init__(self, *, fresh: bool, known: Known | None = None) -> None:
        self.known = known
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {
            "ConversionError": ConversionError,
            "Decimal": Decimal,
            "UNSET": _UNSET,
            "MEMO_LIMIT": MEMO_LIMIT,
        }
        # Lazy fields some code above may have computed. In a record's run (`fresh`) the
        # first place that asks for one computes it without looking: the code runs top down.
        self.fresh = fresh
        self.computed: set[str] = set()
        # With `known`: names whose value is the same for every record of the shape (the
        # built-ins it fixes, and fields it leaves None: nothing found, nothing to fall back on).
        self.static: dict[str, Any] = dict(known.constants) if known is not None else {}
        self._keys = 0

    def fixed(self, name: str) -> Any:
        """The value `name` has in every record of the shape, else `_VARIES`."""
        return self.static.get(name, _VARIES)

    def never(self, name: str) -> None:
        """Note that field `name` is None in every record of the shape (with `known` only)."""
        if self.known is not None:
            self.static[name] = None

    def renders_none(self, template: Template) -> bool:
        """Whether `template` renders None in every record of the shape (a group has no value)."""
        return self.known is not None and any(
            isinstance(part, tuple) and all(self.fixed(n) is None for n in part)
            for part in template.parts
        )

    def constant(self, name: str, value: Any) -> str:
        self.constants[name] = value
        return name

    def key(self) -> str:
        """A fresh suffix for the constants and locals of one inlined lazy field."""
        self._keys += 1
        return f"L{self._keys}"

    def present(self, slot: int) -> bool | None:
        """Whether the walk found something for `slot` (None: not known)."""
        return None if self.known is None else slot in self.known.present

    def text_of(self, slot: int) -> str:
        """An expression: the text of element `hit` (found for `slot`)."""
        if self.known is not None and slot in self.known.leaves:
            return "hit.text"
        return '"".join(hit.itertext()) if len(hit) else hit.text'

    def compile(self, function: str, filename: str) -> Any:
        exec(compiled("\n".join(self.lines), filename), self.constants)
        return self.constants[function]


def compile_run(paths: PathSet, fields: Sequence[FieldCode], title: str) -> Run:
    """One function evaluating all non-lazy `fields` of a record kind (or context); a lazy
    field's code is inlined where a later field first asks for it."""
    return _compile_run(paths, fields, title, None)[0]


def compile_shaped_run(
    paths: PathSet, fields: Sequence[FieldCode], title: str, known: Known
) -> tuple[Run, frozenset[str]]:
    """`compile_run` for the records of one shape only (its caller passes the walk's result),
    and the fields it leaves None in every such record (the event's `data` skips them)."""
    run, source = _compile_run(paths, fields, title, known)
    return run, frozenset(name for name, value in source.static.items() if value is None)


def _compile_run(
    paths: PathSet, fields: Sequence[FieldCode], title: str, known: Known | None
) -> tuple[Run, _Source]:
    source = _Source(fresh=True, known=known)
    walk = source.constant("WALK", paths.walk)
    source.lines += [
        "def run(element, values, part=None, found=None):",
        f"    if found is None: found = {walk}(element, part)",
        "    fault = None",
    ]
    for i, field in enumerate(f for f in fields if f.plain is not None):
        _plain(source, i, field)
    for i, field in enumerate(f for f in fields if f.plain is None):
        _field(source, str(i), field)
    source.lines.append("    return fault")
    run: Run = source.compile("run", f"<mapping {title}>")
    return run, source


def compile_field(field: FieldCode) -> Evaluator:
    """One field as a function of its own (a lazy field too long to inline)."""
    source = _Source(fresh=False)
    source.lines += ["def evaluate(found, element, values):", "    fault = None"]
    _field(source, "0", field)
    source.lines.append("    return fault")
    evaluate: Evaluator = source.compile("evaluate", f"<mapping field {field.name}>")
    return evaluate


def _lazy(source: _Source, lazy: FieldCode, pad: str) -> list[str]:
    """Code (indented by `pad`): `raw` = the lazy field's value, computed now if not yet.

    The field's code is pasted here. A lazy field cannot fail and keeps no `where` or `label`
    (see `FieldCode.infallible`), so the asking field's are left as they are; it has found
    nothing by then (`raw` is None), and `raw` is set from the stored value.
    """
    known = lazy.name in source.computed or not source.fresh
    computed = set(source.computed)
    key = source.key()
    body = _captured(source, lambda: _field(source, key, lazy))  # sets values[NAME_<key>]
    if len(body) > MAX_INLINE_LINES:
        source.computed = computed | {lazy.name}
        get = source.constant(f"GET_{key}", lazy_getter(lazy.name, compile_field(lazy)))
        return [f"{pad}raw = {get}(found, element, values)"]
    source.computed.add(lazy.name)
    inner = pad + "    " if known else pad
    out = [f"{pad}raw = values.get(NAME_{key}, UNSET)", f"{pad}if raw is UNSET:"] if known else []
    out += [inner + line[4:] for line in body]  # the body is indented for a function
    out.append(f"{inner}raw = values[NAME_{key}]")
    return out


def _captured(source: _Source, emit: Callable[[], None]) -> list[str]:
    """The lines `emit` appends to the source, taken out of it."""
    before = source.lines
    source.lines = []
    try:
        emit()
        return source.lines
    finally:
        source.lines = before


def _plain(source: _Source, i: int, field: FieldCode) -> None:
    assert field.plain is not None
    slot, attribute = field.plain
    present = source.present(slot)
    if present is False:
        source.never(field.name)
        return  # an eager field found nowhere stores nothing: `values.get` reads it as None
    name = source.constant(f"PLAIN{i}", field.name)
    if attribute is None:
        text = source.text_of(slot)
    else:
        text = f"hit.get({source.constant(f'PLAIN_ATTR{i}', attribute)})"
    lines = [
        f"    text = {text}",
        "    if text:",
        '        text = " ".join(text.split())',
    ]
    if field.pipeline.empty_values:
        empty = source.constant(f"PLAIN_EMPTY{i}", field.pipeline.empty_values)
        lines.append(f"        if text and text not in {empty}: values[{name}] = text")
    else:
        lines.append(f"        if text: values[{name}] = text")
    source.lines.append(f"    hit = found[{slot}]")
    if present is None:
        source.lines.append("    if hit is not None:")
        lines = ["    " + line for line in lines]
    source.lines += lines


def _field(source: _Source, i: str, field: FieldCode) -> None:
    """Append the code of field `i`; it sets `fault` if it is the first one wrong."""
    name = source.constant(f"NAME_{i}", field.name)
    pipeline = field.pipeline
    if (
        not field.fast_paths
        or field.from_names
        or pipeline.default is not None
        or pipeline.required
        or (pipeline.code_map is not None and pipeline.code_map.otherwise is not None)
    ):
        _field_body(source, i, field, name)
        return
    # Nothing at any of its paths gives None and no fault (most optional fields of most
    # records): one test skips the rest.
    if source.known is not None:
        if any(source.present(slot) for _path, slot in field.fast_paths):
            _field_body(source, i, field, name)
        else:
            source.never(field.name)
            if field.infallible:  # a lazy field: stored, None too, so that it is computed once
                source.lines.append(f"    values[{name}] = None")
        return  # an eager one found nowhere stores nothing: `values.get` reads it as None
    body = _captured(source, lambda: _field_body(source, i, field, name))
    if field.infallible:  # a lazy field: stored, None too, so that it is computed once
        absent = " and ".join(f"found[{slot}] is None" for _path, slot in field.fast_paths)
        source.lines += [f"    if {absent}:", f"        values[{name}] = None", "    else:"]
    else:  # an eager one stores nothing: `values.get` reads it as None
        present = " or ".join(f"found[{slot}] is not None" for _path, slot in field.fast_paths)
        source.lines.append(f"    if {present}:")
    source.lines += ["    " + line for line in body]


def _field_body(source: _Source, i: str, field: FieldCode, name: str) -> None:
    pipeline, out = field.pipeline, source.lines
    # Where a value was found and its label only serve a conversion's fault: a field with no
    # conversion, code list or negation keeps neither (as a lazy field).
    quiet = field.infallible or not (
        pipeline.steps or pipeline.code_map is not None or pipeline.negate is not None
    )
    label = source.constant(f"LABEL_{i}", field.label)
    start = len(out)
    # `raw` is None for sure: no source read before the `from` fallbacks, or (in a shape's
    # code) none that can find anything in its records; `certain`: it is not None for sure
    # (a shape's element was read: its text, or "").
    unread = certain = False
    if field.fast_paths and field.join is None:
        read = _read_fast_paths(source, i, field.fast_paths, label, quiet)
        unread, certain = read == 0, read > 0 and source.known is not None
    elif field.fast_paths:
        unread = _read_joined(source, i, field.fast_paths, field.join or "", label, quiet) == 0
    elif field.switch is not None:
        unread = _read_switch(source, i, field.switch, label, quiet)
    elif field.template is not None and source.renders_none(field.template):
        out += ["    raw = None"] if quiet else ["    raw = where = None", f"    label = {label}"]
        unread = True
    elif field.reader is not None:
        reader = source.constant(f"READER_{i}", field.reader)
        if quiet:
            out.append(f"    raw = {reader}(found, element, values)[0]")
        else:
            out.append(f"    raw, where, label = {reader}(found, element, values)")
    else:
        out += ["    raw = None"] if quiet else ["    raw = where = None", f"    label = {label}"]
        unread = True
    for j, ref in enumerate(field.from_names):
        if certain:
            break  # the fallbacks are never needed
        fixed = source.fixed(ref)
        if fixed is not _VARIES:  # the same in every record of the shape
            if fixed is None:
                continue  # adds nothing
            get = f"raw = {source.constant(f'FIXED_{i}_{j}', fixed)}"
            out.append(f"    {get}" if unread else f"    if raw is None: {get}")
            certain = unread
        elif ref in field.lazies:  # a lazy field: computed now if not yet
            if unread:
                out += _lazy(source, field.lazies[ref], "    ")
                if source.fixed(ref) is None:
                    continue  # None in every record of the shape: `raw` still is
            else:
                out.append("    if raw is None:")
                out += _lazy(source, field.lazies[ref], "        ")
        else:
            get = f"raw = values.get({source.constant(f'FROM_{i}_{j}', ref)})"
            out.append(f"    {get}" if unread else f"    if raw is None: {get}")
        unread = False
    if pipeline.empty_values and not unread:
        empty = source.constant(f"EMPTY_{i}", pipeline.empty_values)
        if certain:
            out.append(f"    if raw in {empty}: raw = None")
        else:
            out.append(f"    if raw is not None and raw in {empty}: raw = None")
        certain = False
    if pipeline.default is not None and not certain:
        default = source.constant(f"DEFAULT_{i}", pipeline.default)
        out.append(f"    raw = {default}" if unread else f"    if raw is None: raw = {default}")
        unread, certain = False, True
    missing = None
    if pipeline.required:
        missing = source.constant(
            f"MISSING_{i}", Fault(None, pipeline.label, None, pipeline.missing)
        )
    if unread and pipeline.code_map is None:
        # None in every record of the shape: no conversion to run (as below, `raw` None), and
        # no code above is needed (any lazy field it computed is None as well).
        del out[start:]
        if field.infallible:
            out.append(f"    values[{name}] = None")
        if missing is not None:
            out.append(f"    if fault is None: fault = {missing}")
        source.never(field.name)
        return
    if certain:
        _pipeline(source, i, field, name, missing, out, certain=True)
    elif pipeline.code_map is None:
        # Nothing found: no conversion to run. An eager field then stores nothing (`values.get`
        # reads it as None); a lazy one stores None, so that it is computed once.
        if field.infallible or missing is not None:
            out.append("    if raw is None:")
            if field.infallible:
                out.append(f"        values[{name}] = None")
            if missing is not None:
                out.append(f"        if fault is None: fault = {missing}")
            out.append("    else:")
        else:
            out.append("    if raw is not None:")
        tail: list[str] = []
        _pipeline(source, i, field, name, missing, tail)
        out += ["    " + line for line in tail]
    else:
        _pipeline(source, i, field, name, missing, out)


def _pipeline(
    source: _Source,
    i: str,
    field: FieldCode,
    name: str,
    missing: str | None,
    out: list[str],
    *,
    certain: bool = False,
) -> None:
    """Code: convert and check `raw` into `value` and store it (one level of indentation).
    `certain`: `raw` is not None for sure."""
    pipeline = field.pipeline
    out.append("    value = raw")
    if field.infallible:  # nothing to catch
        assert pipeline.negate is None and not pipeline.required
        if pipeline.steps and certain:
            _steps(source, i, pipeline, out, "    ")
        elif pipeline.steps:
            out.append("    if value is not None:")
            _steps(source, i, pipeline, out, "        ")
        if pipeline.code_map is not None:
            out += _code_map(source, i, pipeline, "    ")
    elif pipeline.steps or pipeline.code_map is not None or pipeline.negate is not None:
        out.append("    try:")
        if pipeline.steps and certain:
            _steps(source, i, pipeline, out, "        ")
        elif pipeline.steps:
            out.append("        if value is not None:")
            _steps(source, i, pipeline, out, "            ")
        if pipeline.code_map is not None:
            out += _code_map(source, i, pipeline, "        ")
        if pipeline.negate is not None:
            other = source.constant(f"NEGATE_FIELD_{i}", pipeline.negate[0])
            code = source.constant(f"NEGATE_CODE_{i}", pipeline.negate[1])
            out += [
                f"        if value.__class__ is Decimal and values.get({other}) == {code}:",
                "            value = -value",
            ]
        bad = source.constant(
            f"INVALID_{i}",
            lambda label, raw, where, exc, pipeline=pipeline: invalid(
                pipeline, label, raw, where, exc
            ),
        )
        out += [
            "    except ConversionError as exc:",
            "        value = None",
            f"        if fault is None: fault = {bad}(label, raw, where, exc)",
        ]
    if field.text_only:
        out.append('    if value == "": value = None')
    out.append(f"    values[{name}] = value")
    if missing is not None:
        out.append(f"    if value is None and fault is None: fault = {missing}")


def _code_map(source: _Source, i: str, pipeline: Pipeline, pad: str) -> list[str]:
    """Code: `value` through the code list; a code in its table is looked up inline."""
    assert pipeline.code_map is not None
    table = source.constant(f"CODE_TABLE_{i}", pipeline.code_map.table)
    call = source.constant(f"CODE_MAP_{i}", pipeline.code_map)
    return [
        f"{pad}if value.__class__ is str and (mapped := {table}.get(value)) is not None:",
        f"{pad}    value = mapped",
        f"{pad}else:",
        f"{pad}    value = {call}(value)",
    ]


def _steps(source: _Source, i: str, pipeline: Pipeline, out: list[str], pad: str) -> None:
    """Code: the conversions of `value` (not None), each looked up first if it keeps results."""
    for j, step in enumerate(pipeline.steps):
        call = f"{source.constant(f'STEP_{i}_{j}', step)}(value)"
        memo = memo_for(step)
        if memo is None:
            out.append(f"{pad}value = {call}")
            continue
        table = source.constant(f"MEMO_{i}_{j}", memo)
        # Only texts are looked up (and kept): a value converted already (a Decimal from an
        # earlier field) would miss, after hashing it.
        out += [
            f"{pad}if value.__class__ is str:",
            f"{pad}    converted = {table}.get(value)",
            f"{pad}    if converted is None:",
            f"{pad}        converted = {call}",
            f"{pad}        if len({table}) >= MEMO_LIMIT: {table}.clear()",
            f"{pad}        {table}[value] = converted",
            f"{pad}    value = converted",
            f"{pad}else:",
            f"{pad}    value = {call}",
        ]


def _read_switch(
    source: _Source,
    i: str,
    switch: tuple[str, Mapping[str, str], Mapping[str, FieldCode]],
    label: str,
    quiet: bool,
) -> bool:
    """Code: the value of the field the switch field's value names (a lazy one computed now).
    True when that is None in every record of the shape (no case can give a value)."""
    name, cases, lazies = switch
    out = source.lines
    out += ["    raw = None"] if quiet else ["    raw = where = None", f"    label = {label}"]
    fixed = source.fixed(name)
    if fixed is not _VARIES:  # the same case for every record of the shape
        target = cases.get(fixed) if isinstance(fixed, str) else None
        if target is None:
            return True
        lines, none = _switch_target(source, f"{i}_0", target, lazies, "    ")
        out += lines
        return none
    branches: list[str] = []
    for j, (case, target) in enumerate(cases.items()):
        lines, none = _switch_target(source, f"{i}_{j}", target, lazies, "        ")
        if none:
            continue  # `raw` stays None
        keyword = "elif" if branches else "if"
        branches.append(f"    {keyword} chosen == {source.constant(f'CASE_{i}_{j}', case)}:")
        branches += lines
    if not branches:
        return True
    out.append(f"    chosen = values.get({source.constant(f'SWITCH_{i}', name)})")
    out += branches
    return False


def _switch_target(
    source: _Source, key: str, target: str, lazies: Mapping[str, FieldCode], pad: str
) -> tuple[list[str], bool]:
    """Code: `raw` = a switch case's target field; and whether that is None in every record
    of the shape (then the code is not needed: nothing reads a lazy field's stored None but
    code that knows it is None)."""
    fixed = source.fixed(target)
    if fixed is not _VARIES:
        if fixed is None:
            return [], True
        return [f"{pad}raw = {source.constant(f'TARGET_{key}', fixed)}"], False
    if target in lazies:
        lines = _lazy(source, lazies[target], pad)
        if source.fixed(target) is None:
            return [], True
        return lines, False
    return [f"{pad}raw = values.get({source.constant(f'TARGET_{key}', target)})"], False


def _read_fast_paths(
    source: _Source,
    i: str,
    paths: tuple[tuple[CompiledPath, int], ...],
    label: str,
    quiet: bool,
) -> int:
    """Code: the first non-blank of the paths (else "" if one matched blank, else None); and,
    unless `quiet`, where it was found and the path's label. The number of paths read (a
    shape's code reads none that found nothing)."""
    out = source.lines
    if source.known is not None:
        found = [(j, path, slot) for j, (path, slot) in enumerate(paths) if source.present(slot)]
        if len(found) == 1:  # a shape's element: its text, "" if blank (`raw` is never None)
            j, path, slot = found[0]
            out.append(f"    hit = found[{slot}]")
            if path.attribute is not None:
                attribute = source.constant(f"ATTR_{i}_{j}", path.attribute)
                out.append(f"    text = hit.get({attribute})")
            else:
                out.append(f"    text = {source.text_of(slot)}")
            out.append('    raw = " ".join(text.split()) if text else ""')
            if not quiet:
                path_label = source.constant(f"LABEL_{i}_{j}", path.label)
                out.append(f"    where, label = hit, {path_label}")
            return 1
    if quiet:
        out.append("    raw = blank = None")
    else:
        out += ["    raw = where = blank = None", f"    label = {label}"]
    body: list[str] = []
    read = 0  # paths read so far (a shape's code skips those it knows found nothing)
    for j, (path, slot) in enumerate(paths):
        present = source.present(slot)
        if present is False:
            continue
        path_label = "" if quiet else source.constant(f"LABEL_{i}_{j}", path.label)
        pad = "    " if read == 0 else "        "
        if read:
            body.append("    if raw is None:")
        read += 1
        body.append(f"{pad}hit = found[{slot}]")
        if present is None:
            body.append(f"{pad}if hit is not None:")
        else:  # the same code, one level less indented
            pad = pad[:-4]
        if path.attribute is not None:
            attribute = source.constant(f"ATTR_{i}_{j}", path.attribute)
            body.append(f"{pad}    text = hit.get({attribute})")
        else:
            body.append(f"{pad}    text = {source.text_of(slot)}")
        body.append(f"{pad}    if text and not text.isspace():")
        if quiet:
            body += [
                f'{pad}        raw = " ".join(text.split())',
                f"{pad}    else:",
                f"{pad}        blank = True",
            ]
        else:
            body += [
                f'{pad}        raw, where, label = " ".join(text.split()), hit, {path_label}',
                f"{pad}    elif blank is None:",
                f"{pad}        blank = (hit, {path_label})",
            ]
    if read == 0:
        return 0
    if quiet:
        body.append('    if raw is None and blank is not None: raw = ""')
    else:
        body.append('    if raw is None and blank is not None: raw, (where, label) = "", blank')
    if len(paths) == 1 or source.known is not None:
        out += body
        return read
    # Most alternatives of most fields find nothing: one test skips them all.
    out.append(f"    if {' or '.join(f'found[{slot}] is not None' for _path, slot in paths)}:")
    out += ["    " + line for line in body]
    return read


def _read_joined(
    source: _Source,
    i: str,
    paths: tuple[tuple[CompiledPath, int], ...],
    join: str,
    label: str,
    quiet: bool,
) -> int:
    """Code: every match of the first path with any non-blank text, joined. The number of
    paths read (a shape's code reads none that found nothing)."""
    out = source.lines
    separator = source.constant(f"JOIN_{i}", join)
    out += ["    raw = None"] if quiet else ["    raw = where = None", f"    label = {label}"]
    read = 0  # paths read so far (a shape's code skips those it knows found nothing)
    for j, (path, slot) in enumerate(paths):
        if source.present(slot) is False:
            continue
        pad = "    " if read == 0 else "        "
        if read:
            out.append("    if raw is None:")
        read += 1
        if path.attribute is None:
            text = '("".join(hit.itertext()) if len(hit) else (hit.text or ""))'
        else:
            text = f'(hit.get({source.constant(f"ATTR_{i}_{j}", path.attribute)}) or "")'
        out += [
            f"{pad}hits = found[{slot}]",
            f"{pad}if hits:",
            f"{pad}    if len(hits) == 1:  # the usual case, without the lists",
            f"{pad}        hit = hits[0]",
            f'{pad}        joined = " ".join({text}.split())',
            f"{pad}    else:",
            f"{pad}        words = [{text}.split() for hit in hits]",
            f'{pad}        joined = {separator}.join([" ".join(w) for w in words if w])',
        ]
        if quiet:
            out.append(f"{pad}    if joined: raw = joined")
        else:
            path_label = source.constant(f"LABEL_{i}_{j}", path.label)
            out.append(f"{pad}    if joined: raw, label = joined, {path_label}")
    return read
