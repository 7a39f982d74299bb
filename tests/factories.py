"""Builders for tests: customers and events straight into the database, signed Twilio posts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from twilio.request_validator import RequestValidator

from alerts.customers.records import CustomerIn, upsert_customer
from alerts.deps import AlertDeps
from alerts.models import Customer, DeliveryAttempt, Event, HandOff, Response
from alerts.plans import PlannedStep
from alerts.responses.values import context_of
from herald.config import Settings


async def make_customer(
    deps: AlertDeps,
    *,
    ref: str = "C-1",
    name: str = "Test Person",
    account: str = "NL91ABNA0417164300",
    phone: str | None = "+15550001111",
    email: str | None = "test@example.com",
    order: tuple[str, ...] = ("voice", "sms", "email"),
) -> Customer:
    async with deps.sessions() as session:
        customer, _ = await upsert_customer(
            session=session,
            data=CustomerIn(
                external_ref=ref,
                name=name,
                accounts=[account],
                phones=[phone] if phone else [],
                emails=[email] if email else [],
                channel_order=list(order),
            ),
        )
        await session.commit()
        return customer


async def make_event(
    deps: AlertDeps,
    *,
    account: str = "NL91ABNA0417164300",
    amount: str = "750.00",
    event_id: str = "E-1",
    event_type: str = "debit_posted",
    description: str = "Shop Ltd",
    data: dict[str, str] | None = None,
) -> Event:
    async with deps.sessions() as session:
        event = Event(
            source="camt054",
            source_event_id=event_id,
            event_type=event_type,
            account_id=account,
            amount=Decimal(amount),
            currency="EUR",
            credit_debit="DBIT" if event_type.startswith("debit") else "CRDT",
            status="BOOK",
            description=description,
            data=data or {},
        )
        session.add(event)
        await session.commit()
        await session.refresh(event)
        return event


async def signed_post(
    settings: Settings, path: str, params: dict[str, str], *, signature: str | None = None
) -> httpx.Response:
    """POST form params to Herald like Twilio does, with a real X-Twilio-Signature."""
    url = settings.public_url + path
    sig = (
        signature
        if signature is not None
        else RequestValidator(settings.twilio_auth_token).compute_signature(url, params)
    )
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, data=params, headers={"X-Twilio-Signature": sig})


def api_headers(settings: Settings) -> dict[str, Any]:
    return {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}


async def attempts_of(deps: AlertDeps, alert_id: int) -> list[DeliveryAttempt]:
    """An alert's delivery attempts in plan order."""
    async with deps.sessions() as session:
        rows = await session.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.alert_id == alert_id)
            .order_by(col(DeliveryAttempt.step_index))
        )
        return list(rows.all())


async def set_delivery(deps: AlertDeps, key: str = "large_debit", **changes: Any) -> None:
    """Re-save an alert type with its delivery policy changed (as an administrator would)."""
    from alerts.alert_types.store import get_spec, save_spec

    async with deps.sessions() as session:
        spec = await get_spec(session, key)
        assert spec is not None
        data = spec.as_json()
        data["delivery"] = {**data["delivery"], **changes}  # type: ignore[dict-item]
        await save_spec(session, data, actor="test")


def planned_step(channel: str, address: str, *, contact_point_id: str = "") -> PlannedStep:
    """A plan step as the rules engine writes one (due 2024-05-01 10:00 UTC, one hour to start)."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2024, 5, 1, 10, tzinfo=UTC)
    return PlannedStep(
        channel=channel,
        contact_point_id=contact_point_id,
        address=address,
        not_before=start,
        deadline=start + timedelta(hours=1),
    )


def mail_text(mail: Any, subtype: str = "plain") -> str:
    """The text of an email's plain (or html) part, which a test expects to be there."""
    body = mail.get_body(preferencelist=(subtype,))
    assert body is not None, f"the email has no {subtype} part"
    return str(body.get_content())


def callback_at_of(handoff: HandOff) -> datetime:
    """When the call centre is to call the customer back (the hand-off's context)."""
    at = context_of(handoff).callback_at
    assert at is not None, handoff.context
    return at


async def add_transfer(
    session: AsyncSession, alert_id: int, attempt_id: int, **handoff: Any
) -> HandOff:
    """A pressed-1 answer to a call and its completed live-transfer hand-off, straight into the
    database (not committed); ``handoff`` sets more of the hand-off's fields."""
    pressed = Response(
        dedupe_key=f"call-{alert_id}:{attempt_id}:1",
        alert_id=alert_id,
        attempt_id=attempt_id,
        channel="voice",
        key="1",
        intent="agent",
    )
    session.add(pressed)
    await session.flush()
    row = HandOff(
        response_id=pressed.id or 0,
        alert_id=alert_id,
        kind="live_transfer",
        status="completed",
        **handoff,
    )
    session.add(row)
    await session.flush()
    return row
