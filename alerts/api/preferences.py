"""Customers' preferences and consent under /api/v1: read, replace, reset, and the change log.

Every change is recorded in ``preference_changes`` with its actor: ``api`` unless the caller
names itself in ``X-Herald-Actor`` (e.g. "crm: agent 42"). A bad body gets a 422 whose
``details`` hold one readable line per problem.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, JsonValue

from alerts.api.deps import ActorDep, DepsDep, IdPath, KeyPath, RefPath, require, require_token
from alerts.api.errors import ApiError, error_responses
from alerts.columns import utcnow
from alerts.customers.preferences import (
    ConsentIn,
    PreferenceIn,
    UnknownAlertType,
    change_preference,
    consent_view,
    forget_preference,
    list_preference_changes,
    preference_overview,
    record_consent,
)
from alerts.customers.records import ContactPointNotFound, CustomerNotFound, get_own_contact
from alerts.models import ContactPoint
from alerts.responses.consent import ConfirmationError, request_confirmation

logger = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["api"],
    responses=error_responses(400, 401, 403, 404, 422, 500, 503),
)

StoredFields = Annotated[
    dict[str, JsonValue],
    Field(description="the stored fields of a preference (PreferenceIn); one left out inherits"),
]


class ConsentOut(BaseModel):
    source: str | None
    given_at: str | None
    confirmed: bool
    marketing: bool
    withdrawn_at: str | None


class ContactOut(BaseModel):
    id: int | None
    kind: str = Field(description="phone or email")
    address: str
    label: str
    consent: ConsentOut
    sms_opted_out: bool
    sms_capable: bool
    invalid: bool


class AlertTypeChoice(BaseModel):
    key: str
    name: str
    mandatory: bool
    channels: list[str]


class PreferencesOut(BaseModel):
    ref: str
    default: StoredFields
    per_alert_type: dict[str, StoredFields]
    alert_types: list[AlertTypeChoice]
    contact_points: list[ContactOut]
    link: str = Field(description="the customer's self-service preferences page")
    link_valid_days: int


class PreferenceSavedOut(BaseModel):
    alert_type: str
    changed: bool = Field(description="False when the same preference was stored already")
    preference: StoredFields
    notes: list[str] = Field(description="what this preference will not do, and why")


class PreferenceReset(BaseModel):
    alert_type: str
    changed: bool = Field(description="False when nothing was stored")


class ConfirmationSent(BaseModel):
    sent_to: str
    by: str = Field(description="the channel the link went by")


class PreferenceChangeOut(BaseModel):
    id: int | None
    alert_type: str = Field(description='"*" (default), an alert type, or "contact:<id>"')
    actor: str
    before: dict[str, JsonValue]
    after: dict[str, JsonValue]
    at: datetime


@contextmanager
def _refusals() -> Iterator[None]:
    """The customer services' LookupErrors as 404s."""
    try:
        yield
    except UnknownAlertType as exc:
        raise ApiError(404, str(exc), known=exc.known) from exc
    except (CustomerNotFound, ContactPointNotFound) as exc:
        raise ApiError(404, str(exc)) from exc


def contact_view(contact: ContactPoint) -> ContactOut:
    return ContactOut(
        id=contact.id,
        kind=contact.kind,
        address=contact.address,
        label=contact.label,
        consent=ConsentOut.model_validate(consent_view(contact)),
        sms_opted_out=contact.sms_opted_out_at is not None,
        sms_capable=contact.sms_capable,
        invalid=contact.invalid_at is not None,
    )


def _stored(preference: PreferenceIn | None) -> dict[str, JsonValue]:
    return preference.model_dump(mode="json", exclude_none=True) if preference else {}


@router.get("/customers/{ref}/preferences")
async def get_preferences(ref: RefPath, deps: DepsDep) -> PreferencesOut:
    """The stored preferences (a field left out inherits), the contact points with their
    consent, and the customer's self-service link."""
    with _refusals():
        async with deps.sessions() as session:
            seen = await preference_overview(session=session, external_ref=ref)
    assert seen.customer.id is not None
    token = deps.links.sign_preferences(seen.customer.id)
    return PreferencesOut(
        ref=seen.customer.external_ref,
        default=_stored(seen.default),
        per_alert_type={key: _stored(p) for key, p in seen.per_alert_type.items()},
        alert_types=[
            AlertTypeChoice(
                key=s.key,
                name=s.name,
                mandatory=s.mandatory,
                channels=list(s.delivery.channel_order),
            )
            for s in seen.alert_types
        ],
        contact_points=[contact_view(c) for c in seen.contacts],
        link=f"{deps.public_url.rstrip('/')}/p/{token}",
        link_valid_days=deps.links.preferences_max_age_seconds // 86400,
    )


@router.put(
    "/customers/{ref}/preferences/{alert_type}", dependencies=[Depends(require("edit_customers"))]
)
async def put_preference(
    ref: RefPath, alert_type: KeyPath, body: PreferenceIn, deps: DepsDep, actor: ActorDep
) -> PreferenceSavedOut:
    """Replace the customer's default ("*") or one alert type's preference with ``body``."""
    with _refusals():
        async with deps.sessions() as session:
            try:
                saved = await change_preference(
                    session=session,
                    external_ref=ref,
                    alert_type=alert_type,
                    data=body,
                    actor=actor,
                    now=utcnow(),
                )
            except ValueError as exc:
                raise ApiError(422, "the preference is not valid", details=[str(exc)]) from exc
    logger.info(
        "preference saved customer_id=%s alert_type=%s changed=%s actor=%s",
        saved.customer_id,
        alert_type,
        saved.changed,
        actor,
    )
    return PreferenceSavedOut(
        alert_type=alert_type,
        changed=saved.changed,
        preference=_stored(saved.preference),
        notes=saved.notes,
    )


@router.delete(
    "/customers/{ref}/preferences/{alert_type}", dependencies=[Depends(require("edit_customers"))]
)
async def delete_preference(
    ref: RefPath, alert_type: KeyPath, deps: DepsDep, actor: ActorDep
) -> PreferenceReset:
    """Forget the stored preference: it inherits again (per type -> default -> alert type)."""
    with _refusals():
        async with deps.sessions() as session:
            changed = await forget_preference(
                session=session, external_ref=ref, alert_type=alert_type, actor=actor, now=utcnow()
            )
    return PreferenceReset(alert_type=alert_type, changed=changed)


@router.put(
    "/customers/{ref}/contact-points/{contact_id}/consent",
    dependencies=[Depends(require("edit_customers"))],
)
async def put_consent(
    ref: RefPath, contact_id: IdPath, body: ConsentIn, deps: DepsDep, actor: ActorDep
) -> ContactOut:
    """Record where consent to use this contact point came from, or withdraw it."""
    with _refusals():
        async with deps.sessions() as session:
            contact = await record_consent(
                session=session,
                external_ref=ref,
                contact_id=contact_id,
                consent=body,
                actor=actor,
                now=utcnow(),
            )
    return contact_view(contact)


@router.post(
    "/customers/{ref}/contact-points/{contact_id}/consent/confirmation",
    status_code=202,
    dependencies=[Depends(require("edit_customers"))],
)
async def request_consent_confirmation(
    ref: RefPath, contact_id: IdPath, deps: DepsDep
) -> ConfirmationSent:
    """Send the contact point a link to confirm marketing consent (double opt-in)."""
    with _refusals():
        async with deps.sessions() as session:
            contact = await get_own_contact(
                session=session, external_ref=ref, contact_id=contact_id
            )
    try:
        channel = await request_confirmation(deps=deps, contact_id=contact_id, now=utcnow())
    except ConfirmationError as exc:
        raise ApiError(422, str(exc)) from exc
    return ConfirmationSent(sent_to=contact.address, by=channel)


@router.get("/customers/{ref}/preference-changes")
async def preference_changes(
    ref: RefPath, deps: DepsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[PreferenceChangeOut]:
    """Every change to the customer's preferences and consent, newest first."""
    with _refusals():
        async with deps.sessions() as session:
            rows = await list_preference_changes(session=session, external_ref=ref, limit=limit)
    return [
        PreferenceChangeOut(
            id=r.id,
            alert_type=r.alert_type,
            actor=r.actor,
            before=r.before,
            after=r.after,
            at=r.created_at,
        )
        for r in rows
    ]
