"""Customer preferences and consent as stored, and as the rules read them.

A customer has a default preference (``alert_type = "*"``) and may override it per alert type.
Each stored preference is a ``PreferenceIn``: every field left out inherits (per-type, then
default, then the alert type). ``load_preferences`` turns the rows, the contact points and their
consent into ``rules.preferences.CustomerPreferences``. ``save_preference`` and ``set_consent``
record every change (who, through what, before and after) in ``preference_changes``.

It is past 400 lines because the API's service functions for preferences and consent (read,
change, reset, the change log) live beside the rules they apply, which they share.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.alert_types.store import load_specs
from alerts.customers.records import get_customer, get_own_contact
from alerts.models import ContactPoint, Customer, Preference, PreferenceChange
from alerts.outbox import emit
from rules import preferences as rp
from rules.alert_types import AlertTypeSpec
from rules.timewindows import DailyWindow
from rules.vocabulary import CHANNELS, Channel

DEFAULT = "*"  # the alert_type of a customer's default preference


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChannelChoiceIn(_In):
    channel: Channel
    contact_point_id: int = Field(ge=1, le=2**31 - 1)


class QuietHoursIn(_In):
    window: str = Field(max_length=40)  # "21:30-07:30" in the customer's own time zone
    channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS), max_length=10)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        return DailyWindow.parse(value).describe()


class CapIn(_In):
    max_alerts: int = Field(ge=0, le=1000)
    period_seconds: int = Field(ge=60, le=31 * 86400)
    alert_type: str | None = Field(default=None, max_length=64)  # None: alerts of every type count


class PreferenceIn(_In):
    """One preference; a field left out (or null) inherits."""

    channels: list[ChannelChoiceIn] | None = Field(default=None, max_length=20)
    quiet_hours: list[QuietHoursIn] | None = Field(default=None, max_length=20)
    language: str | None = Field(
        default=None, max_length=20, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    )
    opted_out: bool | None = None
    opted_out_channels: list[Channel] | None = Field(default=None, max_length=10)
    caps: list[CapIn] | None = Field(default=None, max_length=20)  # only on the default preference

    @model_validator(mode="after")
    def _unique_channels(self) -> PreferenceIn:
        if self.channels is not None:
            pairs = [(c.channel, c.contact_point_id) for c in self.channels]
            if len(set(pairs)) != len(pairs):
                raise ValueError("a channel and contact point are listed twice")
        return self


def to_rules(data: PreferenceIn) -> rp.AlertPreference:
    return rp.AlertPreference(
        channels=(
            tuple(rp.ChannelChoice(c.channel, str(c.contact_point_id)) for c in data.channels)
            if data.channels is not None
            else None
        ),
        quiet_hours=(
            tuple(rp.QuietHours.parse(q.window, frozenset(q.channels)) for q in data.quiet_hours)
            if data.quiet_hours is not None
            else None
        ),
        language=data.language,
        opted_out=data.opted_out,
        opted_out_channels=(
            frozenset(data.opted_out_channels) if data.opted_out_channels is not None else None
        ),
    )


class ContactFields(Protocol):
    """A contact point's columns: the ORM object or a row of a core select."""

    id: int | None
    kind: str
    address: str
    consent_source: str | None
    consent_at: datetime | None
    consent_confirmed: bool
    consent_marketing: bool
    consent_withdrawn_at: datetime | None
    sms_opted_out_at: datetime | None
    sms_capable: bool
    invalid_at: datetime | None


@functools.lru_cache(maxsize=1024)
def _consent(
    source: str, given_at: datetime, confirmed: bool, marketing: bool, withdrawn: datetime | None
) -> rp.Consent:
    """One value per distinct consent (an import gives thousands of contacts the same one)."""
    return rp.Consent(source, given_at, confirmed, marketing, withdrawn)


def contact_for_rules(contact: ContactFields) -> rp.ContactPoint:
    consent = None
    if contact.consent_source and contact.consent_at:
        consent = _consent(
            contact.consent_source,
            contact.consent_at,
            contact.consent_confirmed,
            contact.consent_marketing,
            contact.consent_withdrawn_at,
        )
    return rp.ContactPoint(
        id=str(contact.id),
        kind="email" if contact.kind == "email" else "phone",
        address=contact.address,
        consent=consent,
        sms_opted_out=contact.sms_opted_out_at is not None,
        sms_capable=contact.sms_capable,
        invalid=contact.invalid_at is not None,
    )


async def contact_points(session: AsyncSession, customer_id: int) -> list[ContactPoint]:
    return list(
        (
            await session.exec(
                select(ContactPoint)
                .where(ContactPoint.customer_id == customer_id)
                .order_by(col(ContactPoint.id))
            )
        ).all()
    )


async def stored(session: AsyncSession, customer_id: int) -> dict[str, PreferenceIn]:
    """The customer's stored preferences by alert type ("*" = default)."""
    rows = (
        await session.exec(select(Preference).where(Preference.customer_id == customer_id))
    ).all()
    return {r.alert_type: PreferenceIn.model_validate(r.data) for r in rows}


def _legacy_default(
    channel_order: Sequence[str] | None, contacts: Sequence[ContactFields]
) -> rp.AlertPreference | None:
    """A customer imported with a channel order and no stored default: that order, each
    channel bound to the first contact point of its kind."""
    if not channel_order:
        return None
    first: dict[str, int | None] = {}  # kind -> the id of its first contact point
    for contact in contacts:
        first.setdefault(contact.kind, contact.id)
    choices = []
    for channel in channel_order:
        bound = first.get("email" if channel == "email" else "phone")
        if channel in CHANNELS and bound is not None:
            choices.append(rp.ChannelChoice(channel, str(bound)))
    return rp.AlertPreference(channels=tuple(choices))


@functools.lru_cache(maxsize=4096)
def _stored_rules(document: str) -> tuple[rp.AlertPreference, tuple[rp.FrequencyCap, ...]]:
    """A stored preference's JSON (validated when it was saved) as the rules read it, and its
    caps: validated once per distinct document, not once per customer and batch."""
    data = PreferenceIn.model_validate_json(document)
    caps = tuple(
        rp.FrequencyCap(c.max_alerts, c.period_seconds, c.alert_type) for c in data.caps or []
    )
    return to_rules(data), caps


def _document(data: object) -> str:
    return data if isinstance(data, str) else json.dumps(data, sort_keys=True)


async def load_preferences(session: AsyncSession, customer: Customer) -> rp.CustomerPreferences:
    """Everything the rules need to know about what this customer wants."""
    assert customer.id is not None
    rows = (
        await session.exec(select(Preference).where(Preference.customer_id == customer.id))
    ).all()
    return build_preferences(customer, await contact_points(session, customer.id), rows)


def build_preferences(
    customer: Customer, contacts: Sequence[ContactFields], rows: Iterable[Preference]
) -> rp.CustomerPreferences:
    """The rules' view of one customer's stored preferences and contact points (pure)."""
    return preferences_from_rows(
        customer.channel_order, contacts, [(r.alert_type, r.data) for r in rows]
    )


def preferences_from_rows(
    channel_order: Sequence[str] | None,
    contacts: Sequence[ContactFields],
    stored: Iterable[tuple[str, object]],
) -> rp.CustomerPreferences:
    """The rules' view of one customer from plain values: their channel order, contact points
    (ORM objects or rows) and stored preferences as (alert type, JSON document or its text)."""
    prefs = {alert_type: _stored_rules(_document(data)) for alert_type, data in stored}
    contacts = sorted(contacts, key=lambda c: c.id or 0)
    default, caps = prefs.pop(DEFAULT, None) or (None, ())
    if default is None:
        default = _legacy_default(channel_order, contacts) or rp.AlertPreference()
    return rp.CustomerPreferences(
        contact_points=tuple(contact_for_rules(c) for c in contacts),
        default=default,
        per_alert_type={key: pref for key, (pref, _caps) in prefs.items()},
        caps=caps,
    )


async def save_preference(
    session: AsyncSession,
    *,
    customer_id: int,
    alert_type: str,
    data: PreferenceIn,
    actor: str,
    now: datetime,
) -> bool:
    """Store one preference (replacing the previous one) and record the change; returns False
    when nothing changed. ValueError when it names a contact point of another customer."""
    if data.caps and alert_type != DEFAULT:
        raise ValueError("frequency caps belong on the default preference ('*')")
    own = {c.id: c for c in await contact_points(session, customer_id)}
    for choice in data.channels or []:
        contact = own.get(choice.contact_point_id)
        if contact is None:
            raise ValueError(f"contact point {choice.contact_point_id} is not this customer's")
        wanted = "email" if choice.channel == "email" else "phone"
        if contact.kind != wanted:
            raise ValueError(
                f"{choice.channel} needs a {wanted}; contact point {contact.id} is a {contact.kind}"
            )
    row = (
        await session.exec(
            select(Preference).where(
                Preference.customer_id == customer_id, Preference.alert_type == alert_type
            )
        )
    ).first()
    after = data.model_dump(mode="json", exclude_none=True)
    before: dict[str, JsonValue] = dict(row.data) if row else {}
    if before == after:
        return False
    row = row or Preference(customer_id=customer_id, alert_type=alert_type)
    row.data, row.updated_at = after, now
    session.add(row)
    _log_change(
        session,
        PreferenceChange(
            customer_id=customer_id,
            alert_type=alert_type,
            actor=actor[:100],
            before=before,
            after=after,
            created_at=now,
        ),
    )
    # Staff and tokens' changes also go to the audit log (a customer's own do not: no origin).
    audit.record(
        session,
        kind="preference",
        entity_id=f"customer {customer_id}: {alert_type}",
        action="save",
        before=before or None,
        after=after,
    )
    await session.flush()
    return True


def _log_change(session: AsyncSession, change: PreferenceChange) -> None:
    """Keep the change in the customer's history and tell the CRM (alerts.outbox)."""
    session.add(change)
    emit(
        session,
        kind="preference.changed",
        entity="preference",
        entity_id=None,
        customer_id=change.customer_id,
        data={
            "alert_type": change.alert_type,
            "actor": change.actor,
            "before": change.before,
            "after": change.after,
        },
        now=change.created_at,
    )


class ConsentIn(_In):
    source: str = Field(min_length=1, max_length=40)  # "web_form", "branch", "ivr", ...
    given_at: AwareDatetime | None = None  # with its offset; default: now
    confirmed: bool = False
    marketing: bool = False
    withdrawn: bool = False


def consent_view(contact: ContactPoint) -> dict[str, JsonValue]:
    return {
        "source": contact.consent_source,
        "given_at": contact.consent_at.isoformat() if contact.consent_at else None,
        "confirmed": contact.consent_confirmed,
        "marketing": contact.consent_marketing,
        "withdrawn_at": (
            contact.consent_withdrawn_at.isoformat() if contact.consent_withdrawn_at else None
        ),
    }


async def set_consent(
    session: AsyncSession, *, contact: ContactPoint, consent: ConsentIn, actor: str, now: datetime
) -> None:
    """Record (or withdraw) consent on one contact point, keeping the change in the history."""
    assert contact.id is not None
    before = consent_view(contact)
    if consent.withdrawn:
        contact.consent_withdrawn_at = contact.consent_withdrawn_at or now
    else:
        contact.consent_source = consent.source
        contact.consent_at = consent.given_at or now
        contact.consent_confirmed = consent.confirmed
        contact.consent_marketing = consent.marketing
        contact.consent_withdrawn_at = None
    after = consent_view(contact)
    session.add(contact)
    if before != after:
        _log_change(
            session,
            PreferenceChange(
                customer_id=contact.customer_id,
                alert_type=f"contact:{contact.id}",
                actor=actor[:100],
                before=before,
                after=after,
                created_at=now,
            ),
        )
        audit.record(
            session,
            kind="consent",
            entity_id=f"customer {contact.customer_id}: contact point {contact.id}",
            action="withdraw" if consent.withdrawn else "save",
            before=before,
            after=after,
        )
    await session.flush()


# The services of the preferences API: each finds the customer by its reference, does one
# change, and commits it (CustomerNotFound, UnknownAlertType, ContactPointNotFound, ValueError).


class UnknownAlertType(LookupError):
    """No alert type with this key; ``known`` lists the ones there are."""

    def __init__(self, key: str, known: list[str]) -> None:
        super().__init__(
            f"no alert type {key!r}; known alert types: {', '.join(known)} (or * for the default)"
        )
        self.key, self.known = key, known


async def check_alert_type(*, session: AsyncSession, key: str) -> AlertTypeSpec | None:
    """The alert type ``key`` (None for the default "*"); UnknownAlertType if there is none."""
    if key == DEFAULT:
        return None
    specs = {s.key: s for s in await load_specs(session)}
    if key not in specs:
        raise UnknownAlertType(key, sorted(specs))
    return specs[key]


async def reset_preference(
    session: AsyncSession, *, customer_id: int, alert_type: str, actor: str, now: datetime
) -> bool:
    """Remove one stored preference (it inherits again) and record the change; False when
    there was none. The caller commits."""
    row = (
        await session.exec(
            select(Preference).where(
                Preference.customer_id == customer_id, Preference.alert_type == alert_type
            )
        )
    ).first()
    if row is None:
        return False
    _log_change(
        session,
        PreferenceChange(
            customer_id=customer_id,
            alert_type=alert_type,
            actor=actor[:100],
            before=dict(row.data),
            after={},
            created_at=now,
        ),
    )
    audit.record(
        session,
        kind="preference",
        entity_id=f"customer {customer_id}: {alert_type}",
        action="reset",
        before=dict(row.data),
    )
    await session.delete(row)
    await session.flush()
    return True


@dataclass
class PreferenceOverview:
    """One customer's stored preferences, the alert types and the contact points."""

    customer: Customer
    default: PreferenceIn | None
    per_alert_type: dict[str, PreferenceIn]
    alert_types: list[AlertTypeSpec]
    contacts: list[ContactPoint]


async def preference_overview(*, session: AsyncSession, external_ref: str) -> PreferenceOverview:
    customer = await get_customer(session=session, external_ref=external_ref)
    assert customer.id is not None
    prefs = await stored(session, customer.id)
    return PreferenceOverview(
        customer=customer,
        default=prefs.pop(DEFAULT, None),
        per_alert_type=dict(sorted(prefs.items())),
        alert_types=await load_specs(session),
        contacts=await contact_points(session, customer.id),
    )


@dataclass
class PreferenceSaved:
    customer_id: int
    alert_type: str
    changed: bool
    preference: PreferenceIn
    notes: list[str]


def preference_notes(spec: AlertTypeSpec | None, data: PreferenceIn) -> list[str]:
    """What a saved preference will not do, in words (a mandatory type, a channel it lacks)."""
    if spec is None:
        return []
    notes = []
    if spec.mandatory and data.opted_out:
        notes.append(
            f"{spec.key} is mandatory: the opt-out is recorded but does not stop these alerts"
        )
    offered = set(spec.delivery.channel_order)
    notes.extend(
        f"{c.channel} is not a channel of {spec.key}; that entry will be left out"
        for c in data.channels or []
        if c.channel not in offered
    )
    return notes


async def change_preference(
    *,
    session: AsyncSession,
    external_ref: str,
    alert_type: str,
    data: PreferenceIn,
    actor: str,
    now: datetime,
) -> PreferenceSaved:
    """Replace the customer's default ("*") or one alert type's preference, and commit."""
    customer = await get_customer(session=session, external_ref=external_ref)
    assert customer.id is not None
    spec = await check_alert_type(session=session, key=alert_type)
    changed = await save_preference(
        session, customer_id=customer.id, alert_type=alert_type, data=data, actor=actor, now=now
    )
    await session.commit()
    return PreferenceSaved(
        customer_id=customer.id,
        alert_type=alert_type,
        changed=changed,
        preference=data,
        notes=preference_notes(spec, data),
    )


async def forget_preference(
    *, session: AsyncSession, external_ref: str, alert_type: str, actor: str, now: datetime
) -> bool:
    """Remove the stored preference and commit; False when there was none. A stored
    preference of a since-deleted alert type may still be removed; otherwise the type must
    exist (UnknownAlertType)."""
    customer = await get_customer(session=session, external_ref=external_ref)
    assert customer.id is not None
    changed = await reset_preference(
        session, customer_id=customer.id, alert_type=alert_type, actor=actor, now=now
    )
    if not changed:
        await check_alert_type(session=session, key=alert_type)
    await session.commit()
    return changed


async def record_consent(
    *,
    session: AsyncSession,
    external_ref: str,
    contact_id: int,
    consent: ConsentIn,
    actor: str,
    now: datetime,
) -> ContactPoint:
    """``set_consent`` on the customer's own contact point, committed."""
    contact = await get_own_contact(
        session=session, external_ref=external_ref, contact_id=contact_id
    )
    await set_consent(session, contact=contact, consent=consent, actor=actor, now=now)
    await session.commit()
    return contact


async def list_preference_changes(
    *, session: AsyncSession, external_ref: str, limit: int = 100
) -> list[PreferenceChange]:
    """The customer's preference and consent changes, newest first."""
    customer = await get_customer(session=session, external_ref=external_ref)
    return list(
        (
            await session.exec(
                select(PreferenceChange)
                .where(PreferenceChange.customer_id == customer.id)
                .order_by(col(PreferenceChange.id).desc())
                .limit(limit)
            )
        ).all()
    )
