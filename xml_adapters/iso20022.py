"""ISO 20022 helpers: the message type from a root namespace, amounts, dates, account ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
_NAMESPACE = re.compile(
    re.escape(NAMESPACE_PREFIX) + r"(?P<family>[a-z]{4}\.\d{3})\.(?P<version>\d{3}\.\d{2})"
)
# ActiveOrHistoricCurrencyAndAmount: non-negative, at most 5 fractional digits.
AMOUNT_PATTERN = r"[0-9]{1,18}(?:\.[0-9]{1,5})?"
_AMOUNT = re.compile(AMOUNT_PATTERN)
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
