"""Value types the rules take and return: plain data, no I/O, every outcome with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

CHANNEL_CONTACT_KIND = {"voice": "phone", "sms": "phone", "email": "email"}


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What the rules may know about an account event."""

    event_id: int
    source: str
    source_event_id: str
    event_type: str
    account_id: str
    amount: Decimal | None
    currency: str | None
    status: str | None
    booking_date: date | None
    description: str | None


@dataclass(frozen=True, slots=True)
class ContactFacts:
    kind: str  # "phone" | "email"
    address: str
    sms_opted_out: bool = False


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    customer_id: int
    external_ref: str
    name: str
    locale: str
    timezone: str
    channel_order: tuple[str, ...]
    contacts: tuple[ContactFacts, ...]


@dataclass(frozen=True, slots=True)
class PlanStep:
    channel: str
    address: str
    wait_seconds: int  # how long after the previous step failed this one may start
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The rules' answer for one (event, alert type): a skip with its reason, or an alert plan."""

    alert_type: str
    raise_alert: bool
    reason: str
    dedupe_key: str | None = None
    plan: tuple[PlanStep, ...] = ()
    context: dict[str, str] = field(default_factory=dict)
    decided_at: datetime | None = None
