"""Customers' preferences and consent under /api/v1: read, replace, reset, and the change log.

Every change is recorded in ``preference_changes`` with its actor: ``api`` unless the caller
names itself in ``X-Herald-Actor`` (e.g. "crm: agent 42"). Bodies are checked here, so a bad one
gets a 422 whose ``detail`` lists one readable line per problem.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query
from pydantic import BaseModel, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.store import load_specs
from alerts.api.deps import DepsDep, require_token
from alerts.columns import utcnow
from alerts.customers.consent import ConfirmationError, request_confirmation
from alerts.customers.preferences import (
    DEFAULT,
    ConsentIn,
    PreferenceIn,
    consent_view,
    contact_points,
    reset_preference,
    save_preference,
    set_consent,
    stored,
)
from alerts.customers.records import find_customer
from alerts.models import ContactPoint, Customer, Preference, PreferenceChange
from rules.alert_types import AlertTypeSpec, describe_error

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)], tags=["api"])

ActorHeader = Annotated[str | None, Header(alias="X-Herald-Actor", max_length=100)]
Model = TypeVar("Model", bound=BaseModel)


def actor_of(header: str | None) -> str:
    return (header or "").strip()[:100] or "api"


def _parse(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(422, describe_error(exc)) from exc


async def _customer(session: AsyncSession, ref: str) -> Customer:
    customer = await find_customer(session=session, external_ref=ref)
    if customer is None or customer.id is None:
        raise HTTPException(404, f"no customer {ref!r}")
    return customer


async def _alert_type(session: AsyncSession, key: str) -> AlertTypeSpec | None:
    """The alert type ``key`` (None for the default "*"); 404 naming the known keys."""
    if key == DEFAULT:
        return None
    specs = {s.key: s for s in await load_specs(session)}
    if key not in specs:
        known = ", ".join(sorted(specs))
        raise HTTPException(
            404, f"no alert type {key!r}; known alert types: {known} (or * for the default)"
        )
    return specs[key]


async def _own_contact(session: AsyncSession, ref: str, contact_id: int) -> ContactPoint:
    """The customer's contact point, or 404 (also when it belongs to someone else)."""
    customer = await _customer(session, ref)
    contact = await session.get(ContactPoint, contact_id)
    if contact is None or contact.customer_id != customer.id:
        raise HTTPException(404, f"customer {ref!r} has no contact point {contact_id}")
    return contact


def contact_view(contact: ContactPoint) -> dict[str, Any]:
    return {
        "id": contact.id,
        "kind": contact.kind,
        "address": contact.address,
        "label": contact.label,
        "consent": consent_view(contact),
        "sms_opted_out": contact.sms_opted_out_at is not None,
        "sms_capable": contact.sms_capable,
        "invalid": contact.invalid_at is not None,
    }


def change_view(change: PreferenceChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "alert_type": change.alert_type,
        "actor": change.actor,
        "before": change.before,
        "after": change.after,
        "at": change.created_at.isoformat(),
    }


@router.get("/customers/{ref}/preferences")
async def get_preferences(ref: str, deps: DepsDep) -> dict[str, Any]:
    """The stored preferences (a field left out inherits), the contact points with their
    consent, and the customer's self-service link."""
    async with deps.sessions() as session:
        customer = await _customer(session, ref)
        assert customer.id is not None
        prefs = await stored(session, customer.id)
        contacts = await contact_points(session, customer.id)
        specs = await load_specs(session)
    default = prefs.pop(DEFAULT, None)
    token = deps.links.sign_preferences(customer.id)
    return {
        "ref": customer.external_ref,
        "default": default.model_dump(mode="json", exclude_none=True) if default else {},
        "per_alert_type": {
            key: p.model_dump(mode="json", exclude_none=True) for key, p in sorted(prefs.items())
        },
        "alert_types": [
            {
                "key": s.key,
                "name": s.name,
                "mandatory": s.mandatory,
                "channels": list(s.delivery.channel_order),
            }
            for s in specs
        ],
        "contact_points": [contact_view(c) for c in contacts],
        "link": f"{deps.public_url.rstrip('/')}/p/{token}",
        "link_valid_days": deps.links.preferences_max_age_seconds // 86400,
    }


@router.put("/customers/{ref}/preferences/{alert_type}")
async def put_preference(
    ref: str,
    alert_type: str,
    deps: DepsDep,
    body: Annotated[Any, Body()],
    actor: ActorHeader = None,
) -> dict[str, Any]:
    """Replace the customer's default ("*") or one alert type's preference with ``body``."""
    data = _parse(PreferenceIn, body)
    async with deps.sessions() as session:
        customer = await _customer(session, ref)
        assert customer.id is not None
        spec = await _alert_type(session, alert_type)
        try:
            changed = await save_preference(
                session,
                customer_id=customer.id,
                alert_type=alert_type,
                data=data,
                actor=actor_of(actor),
                now=utcnow(),
            )
        except ValueError as exc:
            raise HTTPException(422, [str(exc)]) from exc
        await session.commit()
    notes = []
    if spec is not None and spec.mandatory and data.opted_out:
        notes.append(
            f"{spec.key} is mandatory: the opt-out is recorded but does not stop these alerts"
        )
    if spec is not None:
        offered = set(spec.delivery.channel_order)
        notes.extend(
            f"{c.channel} is not a channel of {spec.key}; that entry will be left out"
            for c in data.channels or []
            if c.channel not in offered
        )
    logger.info(
        "preference saved customer_id=%s alert_type=%s changed=%s actor=%s",
        customer.id,
        alert_type,
        changed,
        actor_of(actor),
    )
    return {
        "alert_type": alert_type,
        "changed": changed,
        "preference": data.model_dump(mode="json", exclude_none=True),
        "notes": notes,
    }


@router.delete("/customers/{ref}/preferences/{alert_type}")
async def delete_preference(
    ref: str, alert_type: str, deps: DepsDep, actor: ActorHeader = None
) -> dict[str, Any]:
    """Forget the stored preference: it inherits again (per type -> default -> alert type)."""
    async with deps.sessions() as session:
        customer = await _customer(session, ref)
        assert customer.id is not None
        has_row = (
            await session.exec(
                select(Preference.id).where(
                    Preference.customer_id == customer.id, Preference.alert_type == alert_type
                )
            )
        ).first()
        if has_row is None:  # a stored preference of a since-deleted type may still be removed
            await _alert_type(session, alert_type)
        changed = await reset_preference(
            session,
            customer_id=customer.id,
            alert_type=alert_type,
            actor=actor_of(actor),
            now=utcnow(),
        )
        await session.commit()
    return {"alert_type": alert_type, "changed": changed}


@router.put("/customers/{ref}/contact-points/{contact_id}/consent")
async def put_consent(
    ref: str,
    contact_id: int,
    deps: DepsDep,
    body: Annotated[Any, Body()],
    actor: ActorHeader = None,
) -> dict[str, Any]:
    """Record where consent to use this contact point came from, or withdraw it."""
    consent = _parse(ConsentIn, body)
    async with deps.sessions() as session:
        contact = await _own_contact(session, ref, contact_id)
        await set_consent(
            session, contact=contact, consent=consent, actor=actor_of(actor), now=utcnow()
        )
        await session.commit()
        return contact_view(contact)


@router.post("/customers/{ref}/contact-points/{contact_id}/consent/confirmation", status_code=202)
async def request_consent_confirmation(ref: str, contact_id: int, deps: DepsDep) -> dict[str, Any]:
    """Send the contact point a link to confirm marketing consent (double opt-in)."""
    async with deps.sessions() as session:
        contact = await _own_contact(session, ref, contact_id)
    try:
        channel = await request_confirmation(deps=deps, contact_id=contact_id, now=utcnow())
    except ConfirmationError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"sent_to": contact_view(contact)["address"], "by": channel}


@router.get("/customers/{ref}/preference-changes")
async def preference_changes(
    ref: str, deps: DepsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Every change to the customer's preferences and consent, newest first."""
    async with deps.sessions() as session:
        customer = await _customer(session, ref)
        rows = (
            await session.exec(
                select(PreferenceChange)
                .where(PreferenceChange.customer_id == customer.id)
                .order_by(col(PreferenceChange.id).desc())
                .limit(limit)
            )
        ).all()
    return [change_view(r) for r in rows]
