"""The mapping-file language: its pydantic schema, reading TOML/YAML, and clear load errors.

A mapping file describes one XML format declaratively; `examples/mappings/README-example.toml`
documents every key with comments. `xml_adapters.mapping` compiles a validated file into an
adapter.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from xml_adapters.base import MappingError
from xml_adapters.convert import ConverterName

MAPPING_SUFFIXES = (".toml", ".yaml", ".yml")
SNAKE = re.compile(r"[a-z][a-z0-9_]*")
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*")
ROOT_NAMESPACE = "$root"  # a [namespaces] value: whatever namespace the document's root has
EXAMPLE_FILE = "examples/mappings/README-example.toml"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_as_list)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Strict):
    """How one value is read from a record (or a context) and turned into a typed value."""

    # Where the value comes from: `path` and/or `from`, or exactly one of the others.
    path: StrList = []  # XPaths relative to the element; the first non-empty one wins
    from_: StrList = Field(default=[], alias="from")  # earlier fields; fallback after `path`
    template: str | None = None  # `{a|b}-{c}` over earlier fields
    value: str | None = None  # a constant
    count: str | None = None  # XPath: the number of matching nodes (absent when none)
    switch: str | None = None  # an earlier field whose value picks one of `cases`
    cases: dict[str, str] = {}  # switch value -> field name
    join: str | None = None  # with `path`: every match, joined with this separator
    # What is done to the text found (in this order).
    empty_values: StrList = []  # texts that mean "no value" (e.g. "NOTPROVIDED")
    convert: Annotated[list[ConverterName], BeforeValidator(_as_list)] = []
    date_format: StrList = []  # strptime formats for `convert = "date"` (default ISO 8601)
    map: dict[str, str] | None = None  # code -> result; other codes are a problem ...
    one_of: StrList | None = None  # ... or: the codes allowed, kept as they are
    otherwise: str | None = None  # with `map`: the result for other codes and for no code
    negate_when: dict[str, str] | None = None  # {field = "code"}: negate a decimal then
    default: str | None = None  # text used when nothing is found (then converted as usual)
    # Checks and reporting.
    required: bool = False  # no value -> RecordProblem (the record becomes no event)
    internal: bool = False  # a helper: not copied into the event's `data`
    label: str | None = None  # the field name shown in RecordProblems
    missing: str | None = None  # reason shown when a required value is missing
    invalid: str | None = None  # reason shown when a conversion or code check fails

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        sources = [
            name
            for name, present in (
                ("path/from", bool(self.path or self.from_)),
                ("template", self.template is not None),
                ("value", self.value is not None),
                ("count", self.count is not None),
                ("switch", self.switch is not None),
            )
            if present
        ]
        if len(sources) != 1:
            found = " and ".join(sources) if sources else "none"
            raise ValueError(
                "give exactly one source: path (with an optional `from` fallback), from, "
                f"template, value, count or switch (found: {found})"
            )
        if (self.switch is None) != (not self.cases):
            raise ValueError("`switch` and `cases` go together")
        if self.join is not None and not self.path:
            raise ValueError("`join` needs a `path`")
        if self.map is not None and self.one_of is not None:
            raise ValueError("use either `map` or `one_of`, not both")
        if self.otherwise is not None and self.map is None:
            raise ValueError("`otherwise` needs a `map`")
        if self.date_format and "date" not in self.convert:
            raise ValueError('`date_format` needs `convert = "date"`')
        if self.negate_when is not None and len(self.negate_when) != 1:
            raise ValueError('`negate_when` names one field and one code: {credit_debit = "DBIT"}')
        return self


def _field_shorthand(value: Any) -> Any:
    """`name = "c:Path"` is short for `name = { path = "c:Path" }`."""
    if isinstance(value, dict):
        return {k: {"path": v} if isinstance(v, str | list) else v for k, v in value.items()}
    return value


Fields = Annotated[dict[str, FieldSpec], BeforeValidator(_field_shorthand)]


class AcceptSpec(_Strict):
    """A root element this format starts with: its local name and the namespaces allowed."""

    root: str
    namespaces: StrList | None = None  # exact URIs; "" is "no namespace"
    namespace_prefix: str | None = None  # or: this prefix followed by one of `versions`
    versions: StrList | None = None

    @model_validator(mode="after")
    def _namespace_rule(self) -> AcceptSpec:
        exact = self.namespaces is not None
        versioned = self.namespace_prefix is not None or self.versions is not None
        if exact == versioned:
            raise ValueError("give either `namespaces` or `namespace_prefix` with `versions`")
        if versioned and not (self.namespace_prefix and self.versions):
            raise ValueError("`namespace_prefix` and `versions` go together")
        return self


class ContextSpec(_Strict):
    """An ancestor of records (camt's `Ntfctn`): its fields apply to every record inside it.

    Its fields are read when its first record ends, so they must come before the records.
    """

    element: str
    required: bool = False  # a document without this element is refused
    # Logged as a warning (with the file and line) for such an element holding no record.
    empty_warning: str | None = None
    fields: Fields = {}


class RecordSpec(_Strict):
    """One kind of record: each such element becomes one AccountEvent or one RecordProblem."""

    kind: Annotated[str, Field(pattern=f"^{SNAKE.pattern}$")]
    element: str
    contexts: StrList = []
    event_type: str
    event_id: str
    record_id: str | None = None  # names the record in problems; default "<kind> <position>"
    # Child steps to the record's parts (camt: "c:NtryDtls/c:TxDtls"). A record with two or
    # more parts becomes one event of its own ($role "batch") and one per part ($role "item");
    # with one part or none it stays one event ($role "single"). `$part/...` paths read the part.
    parts: StrList = []  # several paths: their parts in this order
    fields: Fields


class MappingSpec(_Strict):
    """A whole mapping file."""

    format: Literal[1] = 1
    key: Annotated[str, Field(pattern=f"^{SNAKE.pattern}$", max_length=40)]
    title: str
    description: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    accept: list[AcceptSpec] = Field(min_length=1)
    namespaces: dict[str, str] = {}
    contexts: dict[str, ContextSpec] = {}
    records: list[RecordSpec] = Field(min_length=1)

    @field_validator("schema_")
    @classmethod
    def _schema_name(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith(".xsd"):
            raise ValueError("schema must name an .xsd file, e.g. camt.054.{version}.xsd")
        return value


def read_mapping_file(path: Path) -> MappingSpec:
    """Read and validate a TOML or YAML mapping file; MappingError names the file and key."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in MAPPING_SUFFIXES:
        raise MappingError(
            f"a mapping file must end in {', '.join(MAPPING_SUFFIXES)}", source=source
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"cannot read the file ({exc.strerror})", source=source) from None
    try:
        if suffix == ".toml":
            document: Any = tomllib.loads(raw.decode("utf-8"))
        else:
            document = yaml.safe_load(raw)
    except UnicodeDecodeError:
        raise MappingError("the file is not UTF-8 text", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"not valid TOML: {exc}", source=source) from None
    except yaml.YAMLError as exc:
        raise MappingError(f"not valid YAML: {exc}", source=source) from None
    if not isinstance(document, dict):
        raise MappingError(
            f"the file must hold a table of keys (see {EXAMPLE_FILE})", source=source
        )
    return validate_mapping(document, source=source)


def validate_mapping(document: dict[str, Any], *, source: str) -> MappingSpec:
    """Validate an already parsed mapping document."""
    try:
        return MappingSpec.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _location(first["loc"])
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise MappingError(_explain(first) + more, source=source, key=key or None) from None


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "list[", "dict[", "str")) or part in ("FieldSpec",):
            continue  # pydantic's union/validator markers, not keys of the file
        else:
            out += ("." if out else "") + part
    return out


def _explain(error: Any) -> str:
    kind, message = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        return f"unknown key (see {EXAMPLE_FILE} for the keys a mapping accepts)"
    if kind == "missing":
        return "this key is required but missing"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} is not lower-case snake_case (like shipment_status)"
    if kind == "literal_error":
        allowed = message.removeprefix("Input should be ")
        return f"{error['input']!r} is not allowed here; use {allowed}"
    return message
