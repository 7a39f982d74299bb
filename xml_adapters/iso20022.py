"""ISO 20022 helpers for the camt adapters: message type from the namespace, values, lookups."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
_NAMESPACE = re.compile(
    re.escape(NAMESPACE_PREFIX) + r"(?P<family>[a-z]{4}\.\d{3})\.(?P<version>\d{3}\.\d{2})"
)
# ActiveOrHistoricCurrencyAndAmount: non-negative, at most 5 fractional digits.
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class MessageType:
    """An ISO 20022 message definition read from a document's root namespace."""

    namespace: str  # urn:iso:std:iso:20022:tech:xsd:camt.054.001.08
    family: str  # camt.054
    version: str  # 001.08

    @property
    def name(self) -> str:
        """The message definition identifier, e.g. `camt.054.001.08`."""
        return f"{self.family}.{self.version}"


def message_type(root_tag: str) -> MessageType | None:
    """The message type of a `{urn:iso:std:iso:20022:tech:xsd:...}Document` root, else None."""
    if not root_tag.startswith("{"):
        return None
    namespace, _, local = root_tag[1:].partition("}")
    match = _NAMESPACE.fullmatch(namespace)
    if local != "Document" or match is None:
        return None
    return MessageType(namespace, match["family"], match["version"])


def parse_amount(text: str) -> Decimal:
    """A camt amount (`1234.56`: no sign, no grouping, `.` as decimal mark) or ValueError."""
    if not _AMOUNT.fullmatch(text):
        raise ValueError(text)
    return Decimal(text)


def parse_date(text: str) -> date:
    """An ISODate (`2024-01-31`) or ValueError."""
    if not _DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def parse_datetime_date(text: str) -> date:
    """The calendar date, as written, of an ISODateTime (`2024-01-31T13:15:00+01:00`)."""
    if not _DATE.match(text) or "T" not in text:
        raise ValueError(text)
    return datetime.fromisoformat(text).date()


def is_currency(text: str) -> bool:
    """Whether `text` has the shape of an ISO 4217 code."""
    return _CURRENCY.fullmatch(text) is not None


def normalise_account(text: str) -> str:
    """An account identifier without spaces, upper case (`nl91 abna ...` -> `NL91ABNA...`)."""
    return "".join(text.split()).upper()


@functools.cache
def clark_steps(namespace: str, path: str) -> tuple[str, ...]:
    """`A/B` in `namespace` as Clark names, one per step."""
    return tuple(f"{{{namespace}}}{step}" for step in path.split("/"))


class Fields:
    """An element's children looked up by path (`BookgDt/Dt`) in one namespace, quickly.

    lxml's `find()` goes through Python-level path handling (about 2 us a call); an entry is
    asked for a dozen fields, so its direct children are indexed once instead.
    """

    __slots__ = ("_children", "element", "namespace")

    def __init__(self, element: etree._Element, namespace: str) -> None:
        self.element = element
        self.namespace = namespace
        self._children = {c.tag: c for c in reversed(element)}  # first of each tag wins

    def child(self, path: str) -> etree._Element | None:
        """The first element at `path` (slash-separated local names), or None."""
        steps = clark_steps(self.namespace, path)
        found = self._children.get(steps[0])
        for step in steps[1:]:
            if found is None:
                return None
            found = next(found.iterchildren(step), None)
        return found

    def all(self, path: str) -> list[etree._Element]:
        """Every element at `path` below the first match of its parent path."""
        head, _, last = path.rpartition("/")
        if not head:
            return list(self.element.iterchildren(clark_steps(self.namespace, last)[0]))
        parent = self.child(head)
        if parent is None:
            return []
        return list(parent.iterchildren(clark_steps(self.namespace, last)[0]))

    def text(self, path: str) -> str | None:
        """The whitespace-normalised text at `path`, or None when absent or blank."""
        found = self.child(path)
        return clean(found.text) if found is not None else None

    def texts(self, path: str) -> list[str]:
        """The non-blank, whitespace-normalised texts of every element at `path`."""
        found = (clean(e.text) for e in self.all(path))
        return [t for t in found if t]


def clean(value: str | None) -> str | None:
    """Collapse runs of whitespace to one space; None for blank."""
    if value is None:
        return None
    return " ".join(value.split()) or None
