"""Adapter family: the AccountEvent value type, the Adapter protocol, the ingestion errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO, Protocol


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """One account event extracted from a back-office record.

    `(source, source_event_id)` identifies the event across files: ingesting it twice is a no-op.
    """

    source: str  # adapter key, e.g. "camt054"
    source_event_id: str  # stable id built from the record's own references
    event_type: str  # e.g. "debit_posted", "credit_posted"
    account_id: str  # IBAN or other account identifier, normalised (no spaces, upper case)
    amount: Decimal | None
    currency: str | None
    credit_debit: str | None  # "DBIT" / "CRDT"
    status: str | None  # e.g. "BOOK", "PDNG"
    booking_date: date | None
    description: str | None  # merchant / remittance / reference text shown to the customer
    line: int | None = None  # line of the record in the source file
    data: dict[str, str] = field(default_factory=dict)  # further fields, as text
    # How the mapping names the record in problems (its ``record_id`` template), so a record
    # quarantined earlier and good now is recognised; None when the mapping names none.
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """A record that could not be turned into an event; the rest of the file continues."""

    line: int | None
    record_id: str | None
    field: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "unknown line"
        rid = f" record {self.record_id}" if self.record_id else ""
        fld = f" field {self.field}={self.value!r}" if self.field else ""
        return f"{where}{rid}{fld}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something about the file a person should know that is not a bad record (nothing is
    quarantined): e.g. a statement holding neither balances nor entries."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


Record = AccountEvent | RecordProblem | Notice


class IngestError(Exception):
    """Base of the ingestion errors a user can cause."""


class XmlInputError(IngestError):
    """The file cannot be read as XML at all (malformed, hostile, too large). Says where and why."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        where = path or "<input>"
        if line is not None:
            where += f", line {line}"
            if column is not None:
                where += f", column {column}"
        super().__init__(f"{where}: {message}")


class UnknownFormatError(IngestError):
    """No adapter accepts the document's root element / namespace."""


class InvalidDocumentError(IngestError):
    """Well-formed XML of a known format that lacks what the format requires.

    For example a camt.053 message without any statement (`Stmt`): there is nothing to read, and
    saying so beats reporting a successful, empty ingestion.
    """


class MappingError(Exception):
    """A mapping file (a declarative adapter) is invalid. Says which file, which key and what."""

    def __init__(self, message: str, *, source: str, key: str | None = None) -> None:
        self.source = source
        self.key = key
        self.reason = message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")


class Adapter(Protocol):
    """A back-office format turned into AccountEvents.

    To add one:
    1. Write a class with a stable snake_case `key` and a human `title`.
    2. `accepts(root_tag)` says whether a document whose root element has that Clark-notation tag
       (`{namespace}local`) is this format.
    3. `iter_records(stream, path)` streams the document through
       `xml_adapters.parse.iterparse_records` (the single hardened parse site) and yields an
       AccountEvent or a RecordProblem per record (and a Notice for what a person should know
       about the file that is not a record, such as an empty statement).
    4. Register it in `xml_adapters.registry.ADAPTERS`.

    Most formats need no code at all: a mapping file (see `examples/mappings/README-example.toml`)
    describes the format and `xml_adapters.mapping.MappingAdapter` implements this protocol for
    it. Built-in mapping files live in `xml_adapters/mappings/` and are listed in
    `xml_adapters.registry.BUILTIN_MAPPINGS`.
    """

    key: str
    title: str

    def accepts(self, root_tag: str) -> bool: ...

    def iter_records(self, stream: BinaryIO, path: str) -> Iterator[Record]: ...


def record_as_dict(record: Record) -> dict[str, object]:
    """A JSON-ready dict of a record: `kind` ("event" / "problem" / "notice"), Decimal as text,
    ISO dates."""
    if isinstance(record, Notice):
        return {"kind": "notice", "line": record.line, "message": record.message}
    if isinstance(record, RecordProblem):
        return {
            "kind": "problem",
            "line": record.line,
            "record_id": record.record_id,
            "field": record.field,
            "value": record.value,
            "reason": record.reason,
        }
    return {
        "kind": "event",
        "source": record.source,
        "source_event_id": record.source_event_id,
        "event_type": record.event_type,
        "account_id": record.account_id,
        "amount": str(record.amount) if record.amount is not None else None,
        "currency": record.currency,
        "credit_debit": record.credit_debit,
        "status": record.status,
        "booking_date": record.booking_date.isoformat() if record.booking_date else None,
        "description": record.description,
        "line": record.line,
        "data": dict(sorted(record.data.items())),
    }
