"""What a condition or a dedupe key may read: the event and customer views and their fields.

``EVENT_FIELDS`` and ``CUSTOMER_FIELDS`` are the single list of names an administrator can use,
both in trigger conditions (``event.amount >= 500``) and in dedupe key templates
(``{event.account}:{local_date}``). Both are read through these tables, never through
``getattr`` on arbitrary names, so a template or condition can reach nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FieldValue = str | Decimal | date | datetime | Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class EventView:
    """An account event as the rules see it (built from an AccountEvent or an events row)."""

    event_type: str
    account: str
    source: str = ""
    source_event_id: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    credit_debit: str | None = None  # "DBIT" / "CRDT"
    status: str | None = None
    booking_date: date | None = None
    description: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)  # adapter-specific fields, as text
    event_id: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerView:
    """The customer an event concerns, as the rules see them."""

    ref: str  # the customer's stable external reference
    name: str = ""
    segment: str = ""  # e.g. "retail", "private", "business", "staff"
    locale: str = "en"
    tz: str = "UTC"  # IANA zone, e.g. "Europe/Amsterdam"
    attributes: Mapping[str, str] = field(default_factory=dict)
    customer_id: int | None = None

    def __post_init__(self) -> None:
        zone_of(self.tz)


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError (saying which) if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/Amsterdam')") from exc


def as_utc(instant: datetime) -> datetime:
    """``instant`` in UTC; ValueError for a naive datetime (time is always zone-aware here).

    Arithmetic on an aware datetime in a zone like Europe/Amsterdam is wall-clock arithmetic,
    so every rule converts ``now`` to UTC before adding durations to it.
    """
    if instant.tzinfo is UTC:
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} has no time zone; pass timezone-aware datetimes")
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class FactField:
    """One readable field: its rule-engine type name, how to read it, what it means."""

    kind: str  # "string" | "number" | "datetime" | "mapping"
    read: Callable[[object], FieldValue]
    help: str


def _ev(read: Callable[[EventView], FieldValue]) -> Callable[[object], FieldValue]:
    def reader(obj: object) -> FieldValue:
        assert isinstance(obj, EventView)
        return read(obj)

    return reader


def _cu(read: Callable[[CustomerView], FieldValue]) -> Callable[[object], FieldValue]:
    def reader(obj: object) -> FieldValue:
        assert isinstance(obj, CustomerView)
        return read(obj)

    return reader


def _midnight(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day, tzinfo=UTC)


EVENT_FIELDS: Final[dict[str, FactField]] = {
    "type": FactField("string", _ev(lambda e: e.event_type), "event type, e.g. debit_posted"),
    "account": FactField("string", _ev(lambda e: e.account), "account identifier (IBAN, ...)"),
    "source": FactField("string", _ev(lambda e: e.source), "adapter key, e.g. camt054"),
    "source_event_id": FactField("string", _ev(lambda e: e.source_event_id), "id in its source"),
    "amount": FactField("number", _ev(lambda e: e.amount), "amount (signed for balances)"),
    "currency": FactField("string", _ev(lambda e: e.currency), "ISO 4217 currency code"),
    "credit_debit": FactField("string", _ev(lambda e: e.credit_debit), "DBIT or CRDT"),
    "status": FactField("string", _ev(lambda e: e.status), "entry status, e.g. BOOK"),
    "booking_date": FactField(
        "datetime", _ev(lambda e: _midnight(e.booking_date)), "booking date (midnight UTC)"
    ),
    "description": FactField("string", _ev(lambda e: e.description), "merchant / reference text"),
    "data": FactField("mapping", _ev(lambda e: e.data), 'further fields: event.data["due_date"]'),
}

CUSTOMER_FIELDS: Final[dict[str, FactField]] = {
    "ref": FactField("string", _cu(lambda c: c.ref), "the customer's external reference"),
    "segment": FactField("string", _cu(lambda c: c.segment), "segment, e.g. retail or staff"),
    "locale": FactField("string", _cu(lambda c: c.locale), "preferred locale, e.g. en"),
    "tz": FactField("string", _cu(lambda c: c.tz), "IANA time zone"),
    "attributes": FactField(
        "mapping", _cu(lambda c: c.attributes), 'further attributes: customer.attributes["vip"]'
    ),
}

ROOTS: Final[dict[str, dict[str, FactField]]] = {"event": EVENT_FIELDS, "customer": CUSTOMER_FIELDS}


# ---------------------------------------------------------------------------------------------
# Key templates: "{alert_type}:{event.account}:{local_date}"

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# Placeholders that are not fields: the alert type's key and dates of the decision.
KEY_EXTRAS: Final[dict[str, str]] = {
    "alert_type": "the alert type's key",
    "local_date": "the decision date in the customer's zone (one per day)",
    "utc_date": "the decision date in UTC",
}


def check_key_template(template: str) -> None:
    """Raise ValueError naming the first unknown placeholder or stray brace of a key template."""
    if not template.strip():
        raise ValueError("the key template is empty")
    leftover = _PLACEHOLDER.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise ValueError(f"unbalanced brace in key template {template!r}")
    for match in _PLACEHOLDER.finditer(template):
        _parse_placeholder(match.group(1), template)


def _parse_placeholder(name: str, template: str) -> tuple[str, str | None, str | None]:
    """(root or extra, field, mapping key) of a placeholder, or ValueError saying what is known."""
    if name in KEY_EXTRAS:
        return name, None, None
    parts = name.split(".")
    known = sorted(KEY_EXTRAS) + [f"{r}.{f}" for r, fs in ROOTS.items() for f in fs]
    if len(parts) in (2, 3) and parts[0] in ROOTS and parts[1] in ROOTS[parts[0]]:
        fld = ROOTS[parts[0]][parts[1]]
        if fld.kind == "mapping" and len(parts) == 3 and _NAME.match(parts[2]):
            return parts[0], parts[1], parts[2]
        if fld.kind != "mapping" and len(parts) == 2:
            return parts[0], parts[1], None
    raise ValueError(
        f"unknown placeholder {{{name}}} in key template {template!r}; known: "
        f"{', '.join(known)} (mappings as {{event.data.NAME}})"
    )


def _text(value: FieldValue) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    raise TypeError("a mapping cannot be put into a key; name one of its entries")


KeyPart = Callable[[str, EventView, CustomerView, datetime], str]


def _key_part(name: str, template: str) -> KeyPart:
    root, field_name, key = _parse_placeholder(name, template)
    if root == "alert_type":
        return lambda alert_type, _e, _c, _n: alert_type
    if root == "local_date":
        return lambda _a, _e, customer, now: now.astimezone(zone_of(customer.tz)).date().isoformat()
    if root == "utc_date":
        return lambda _a, _e, _c, now: now.astimezone(UTC).date().isoformat()
    assert field_name is not None
    read = ROOTS[root][field_name].read
    on_event = root == "event"
    if key is not None:
        entry = key

        def mapped(_a: str, event: EventView, customer: CustomerView, _n: datetime) -> str:
            value = read(event if on_event else customer)
            assert isinstance(value, Mapping)
            return str(value.get(entry, ""))

        return mapped
    return lambda _a, event, customer, _n: _text(read(event if on_event else customer))


@functools.lru_cache(maxsize=512)
def _compiled_key(template: str) -> tuple[str | KeyPart, ...]:
    """A key template as its literal pieces and one reader per placeholder (once per template)."""
    parts: list[str | KeyPart] = []
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > at:
            parts.append(template[at : match.start()])
        parts.append(_key_part(match.group(1), template))
        at = match.end()
    if at < len(template):
        parts.append(template[at:])
    return tuple(parts)


def render_key(
    template: str, *, alert_type: str, event: EventView, customer: CustomerView, now: datetime
) -> str:
    """The dedupe key of ``template`` for this event, customer and decision time."""
    return "".join(
        part if isinstance(part, str) else part(alert_type, event, customer, now)
        for part in _compiled_key(template)
    )


def bounded_key(key: str, limit: int = 260) -> str:
    """A rendered dedupe key as alerts store it (in 300 characters, with room for a suffix):
    a longer key keeps its start and gets a digest of the whole, so distinct keys stay
    distinct and the same event always gives the same key."""
    if len(key) <= limit:
        return key
    return f"{key[: limit - 65]}#{hashlib.sha256(key.encode()).hexdigest()}"
