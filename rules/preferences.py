"""Customer preferences per alert type, merged over the alert type's defaults, with reasons.

A customer has contact points (several phones and emails, each with its own consent), a default
preference and per-alert-type overrides (ordered channels bound to contact points, quiet hours,
language, opt-outs of the alert type and of channels) and frequency caps. ``resolve`` merges them
over the alert type and says, for every channel kept or dropped, why. A mandatory alert type
overrides the customer's opt-out of that alert type; it never sends to a contact point without
consent, to a number that opted out of SMS (STOP or carrier), to a landline by SMS, or to a
channel the customer opted out of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rules.alert_types import AlertTypeSpec
from rules.facts import CustomerView
from rules.timewindows import Block, DailyWindow, SendWindows
from rules.vocabulary import CHANNELS, CONTACT_KIND, Category, Channel, ContactKind


@dataclass(frozen=True, slots=True)
class Consent:
    """Permission to contact one contact point: where it came from and when."""

    source: str  # e.g. "web_form", "branch", "ivr", "import"
    given_at: datetime
    confirmed: bool = False  # double opt-in completed (required for marketing)
    marketing: bool = False  # covers marketing messages, not only service messages
    withdrawn_at: datetime | None = None

    def problem(self, category: Category, now: datetime) -> str | None:
        """Why this consent does not cover a ``category`` message at ``now`` (None if it does)."""
        if self.withdrawn_at is not None and self.withdrawn_at <= now:
            return f"consent withdrawn on {self.withdrawn_at:%Y-%m-%d}"
        if self.given_at > now:
            return f"consent only takes effect on {self.given_at:%Y-%m-%d %H:%M} UTC"
        if category == "marketing" and not (self.confirmed and self.marketing):
            return "no confirmed marketing consent"
        return None


@dataclass(frozen=True, slots=True)
class ContactPoint:
    id: str
    kind: ContactKind
    address: str
    consent: Consent | None = None
    sms_opted_out: bool = False  # texted STOP, or the carrier reported an opt-out
    sms_capable: bool = True  # False for a landline
    invalid: bool = False  # the provider said the number or address does not exist

    def masked(self) -> str:
        if self.kind == "email":
            local, _, domain = self.address.partition("@")
            return f"{local[:1]}***@{domain}"
        return f"***{self.address[-4:]}"

    def describe(self) -> str:
        return f"{self.kind} {self.id} ({self.masked()})"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No sends on ``channels`` in this daily window, in the customer's zone."""

    window: DailyWindow
    channels: frozenset[Channel] = frozenset(CHANNELS)

    @classmethod
    def parse(cls, text: str, channels: frozenset[Channel] | None = None) -> QuietHours:
        return cls(DailyWindow.parse(text), channels or frozenset(CHANNELS))

    def block(self) -> Block:
        return Block(self.window, self.channels, f"quiet hours {self.window.describe()}")


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """One entry of a customer's channel order: a channel bound to a contact point."""

    channel: Channel
    contact_point_id: str


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``max_alerts`` alerts per ``period_seconds`` (of one alert type, or all)."""

    max_alerts: int
    period_seconds: int
    alert_type: str | None = None

    def __post_init__(self) -> None:
        if self.max_alerts < 0 or self.period_seconds <= 0:
            raise ValueError("a cap needs max_alerts >= 0 and period_seconds > 0")

    def applies_to(self, alert_type: str) -> bool:
        return self.alert_type is None or self.alert_type == alert_type

    def describe(self) -> str:
        scope = f"{self.alert_type} alerts" if self.alert_type else "alerts of any type"
        return f"at most {self.max_alerts} {scope} per {_period(self.period_seconds)}"


def _period(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} s"


@dataclass(frozen=True, slots=True)
class AlertPreference:
    """A preference; every field left None inherits (per-type -> default -> alert type)."""

    channels: tuple[ChannelChoice, ...] | None = None
    quiet_hours: tuple[QuietHours, ...] | None = None  # () = explicitly none
    language: str | None = None
    opted_out: bool | None = None
    opted_out_channels: frozenset[Channel] | None = None


@dataclass(frozen=True, slots=True)
class CustomerPreferences:
    contact_points: tuple[ContactPoint, ...] = ()
    default: AlertPreference = AlertPreference()
    per_alert_type: Mapping[str, AlertPreference] = field(default_factory=dict)
    caps: tuple[FrequencyCap, ...] = ()

    def contact(self, contact_point_id: str) -> ContactPoint | None:
        return next((c for c in self.contact_points if c.id == contact_point_id), None)


@dataclass(frozen=True, slots=True)
class Target:
    """A channel the alert may use, bound to a contact point, and why."""

    channel: Channel
    contact: ContactPoint
    reason: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """The preferences that apply to one alert for one customer."""

    alert_type: str
    blocked: str | None  # why nothing may be sent at all (the customer opted out), else None
    targets: tuple[Target, ...]
    quiet_hours: tuple[QuietHours, ...]
    language: str
    tz: str
    caps: tuple[FrequencyCap, ...]
    notes: tuple[str, ...]  # every merge decision, kept and dropped channels
    dropped: tuple[str, ...] = ()  # why each channel or contact point left out was left out

    def windows(self, *, marketing: bool) -> SendWindows:
        """The customer's quiet hours, plus the 08:00-21:00 legal window for marketing calls
        and texts (email is exempt)."""
        blocks = [q.block() for q in self.quiet_hours]
        if marketing:
            blocks.append(MARKETING_BLOCK)
        return SendWindows(self.tz, tuple(blocks))


MARKETING_BLOCK = Block(
    DailyWindow.parse("21:00-08:00"),
    frozenset({"voice", "sms"}),
    "marketing calls and texts only 08:00-21:00 local",
)


def merge(default: AlertPreference, specific: AlertPreference | None) -> AlertPreference:
    """``specific`` over ``default``, field by field (None inherits)."""
    if specific is None:
        return default
    return AlertPreference(
        channels=specific.channels if specific.channels is not None else default.channels,
        quiet_hours=(
            specific.quiet_hours if specific.quiet_hours is not None else default.quiet_hours
        ),
        language=specific.language or default.language,
        opted_out=specific.opted_out if specific.opted_out is not None else default.opted_out,
        opted_out_channels=(
            specific.opted_out_channels
            if specific.opted_out_channels is not None
            else default.opted_out_channels
        ),
    )


def contact_problem(
    *,
    channel: Channel,
    contact: ContactPoint,
    category: Category,
    opted_out_channels: frozenset[Channel],
    now: datetime,
) -> str | None:
    """Why ``channel`` may not use ``contact`` (None if it may). Checked in this order."""
    if channel in opted_out_channels:
        return f"the customer opted out of {channel}"
    if contact.kind != CONTACT_KIND[channel]:
        return f"{contact.describe()} is not a {CONTACT_KIND[channel]}"
    if contact.invalid:
        return f"{contact.describe()} was reported invalid"
    if channel == "sms" and contact.sms_opted_out:
        return f"{contact.describe()} opted out of SMS (STOP or carrier)"
    if channel == "sms" and not contact.sms_capable:
        return f"{contact.describe()} is a landline"
    if contact.consent is None:
        return f"no consent recorded for {contact.describe()}"
    problem = contact.consent.problem(category, now)
    return None if problem is None else f"{contact.describe()}: {problem}"


def _candidates(
    spec: AlertTypeSpec, prefs: CustomerPreferences, chosen: tuple[ChannelChoice, ...] | None
) -> tuple[list[tuple[Channel, ContactPoint | None, str]], list[str]]:
    """(channel, contact or None, origin) in order, and notes on what was left out."""
    offered = spec.delivery.channel_order
    notes: list[str] = []
    if chosen is None:
        out: list[tuple[Channel, ContactPoint | None, str]] = []
        for channel in offered:
            contacts = [c for c in prefs.contact_points if c.kind == CONTACT_KIND[channel]]
            out.extend((channel, c, "the alert type's channel order") for c in contacts)
            if not contacts:
                notes.append(f"{channel}: the customer has no {CONTACT_KIND[channel]}")
        return out, notes
    out = []
    if not chosen:
        notes.append("the customer's channel order is empty")
    for choice in chosen:
        if choice.channel not in offered:
            notes.append(f"{choice.channel}: {spec.key} is not sent by {choice.channel}")
            continue
        contact = prefs.contact(choice.contact_point_id)
        if contact is None:
            notes.append(f"{choice.channel}: no contact point {choice.contact_point_id!r}")
            continue
        out.append((choice.channel, contact, "the customer's channel order"))
    return out, notes


def resolve(
    *,
    preferences: CustomerPreferences,
    alert_type: AlertTypeSpec,
    customer: CustomerView,
    now: datetime,
) -> Resolved:
    """The customer's preferences for ``alert_type``, merged over its defaults, with reasons."""
    key = alert_type.key
    specific = preferences.per_alert_type.get(key)
    pref = merge(preferences.default, specific)
    notes: list[str] = []
    if specific is not None:
        notes.append(f"the customer's {key} preference overrides their default")

    blocked = None
    if pref.opted_out:
        if alert_type.mandatory:
            notes.append(f"the customer opted out of {key}, but {key} is mandatory")
        else:
            blocked = f"the customer opted out of {key}"

    candidates, dropped = _candidates(alert_type, preferences, pref.channels)
    opted_channels = pref.opted_out_channels or frozenset()
    targets: list[Target] = []
    for channel, contact, origin in candidates:
        assert contact is not None
        if any(t.channel == channel for t in targets) and pref.channels is None:
            continue  # default order: the first eligible contact per channel
        if any(t.channel == channel and t.contact.id == contact.id for t in targets):
            continue
        problem = contact_problem(
            channel=channel,
            contact=contact,
            category=alert_type.category,
            opted_out_channels=opted_channels,
            now=now,
        )
        if problem is not None:
            dropped.append(f"{channel} to {contact.describe()} dropped: {problem}")
            continue
        targets.append(Target(channel, contact, f"from {origin}"))

    caps = tuple(c for c in preferences.caps if c.applies_to(key))
    return Resolved(
        alert_type=key,
        blocked=blocked,
        targets=tuple(targets),
        quiet_hours=pref.quiet_hours or (),
        language=pref.language or customer.locale,
        tz=customer.tz,
        caps=caps,
        notes=tuple(notes + dropped),
        dropped=tuple(dropped),
    )
