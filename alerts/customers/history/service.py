"""The single view as a service: one page of a customer's history, read and assembled."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.customers.history.build import ViewBuilder, same
from alerts.customers.history.rows import count_lists, load_page, page_infos, read, row_id
from alerts.customers.history.views import (
    ContactView,
    CustomerHistory,
    CustomerRecord,
    HistoryQuery,
    PreferenceChangeView,
    StoredPreference,
)
from alerts.customers.history.words import describe_preference, subject, summarize_change
from alerts.models import Account, Alert, ContactPoint, Customer, Preference, PreferenceChange
from channels.masking import mask


async def _customer_record(
    session: AsyncSession, customer: Customer, show: Callable[[str], str]
) -> tuple[CustomerRecord, dict[int, str]]:
    """The customer with accounts and contact points; and each contact point named as channel
    choices and consent changes name it (always masked)."""
    cid = row_id(customer)
    accounts = await read(session, select(Account).where(Account.customer_id == cid))
    contacts = await read(
        session,
        select(ContactPoint).where(ContactPoint.customer_id == cid).order_by(col(ContactPoint.id)),
    )
    record = CustomerRecord(
        ref=customer.external_ref,
        name=customer.name,
        locale=customer.locale,
        timezone=customer.timezone,
        channel_order=customer.channel_order,
        accounts=[a.account_id for a in accounts],
        contacts=[
            ContactView(
                kind=c.kind,
                address=show(c.address),
                id=row_id(c),
                label=c.label,
                consent_source=c.consent_source,
                consent_at=c.consent_at,
                consent_withdrawn_at=c.consent_withdrawn_at,
                sms_opted_out=c.sms_opted_out_at is not None,
                sms_capable=c.sms_capable,
                invalid=c.invalid_at is not None,
            )
            for c in contacts
        ],
    )
    return record, {row_id(c): f"{c.kind} {mask(c.address)}" for c in contacts}


async def _preferences(
    session: AsyncSession, cid: int, named: Mapping[int, str]
) -> list[StoredPreference]:
    """The stored preferences, the default first (one per alert type at most: no page)."""
    rows = await read(session, select(Preference).where(Preference.customer_id == cid))
    return [
        StoredPreference(
            alert_type=p.alert_type,
            subject=subject(p.alert_type, named),
            data=p.data,
            summary=describe_preference(p.data, named),
        )
        for p in sorted(rows, key=lambda p: (p.alert_type != "*", p.alert_type))
    ]


def _change(ch: PreferenceChange, named: Mapping[int, str]) -> PreferenceChangeView:
    return PreferenceChangeView(
        id=row_id(ch),
        at=ch.created_at,
        actor=ch.actor,
        alert_type=ch.alert_type,
        subject=subject(ch.alert_type, named),
        summary=summarize_change(ch.before, ch.after, named),
        before=ch.before,
        after=ch.after,
    )


async def customer_history(
    *,
    session: AsyncSession,
    external_ref: str,
    mask_contacts: bool = False,
    query: HistoryQuery | None = None,
) -> CustomerHistory | None:
    """One page of everything Herald knows and did for one customer, newest first (None if
    there is no such customer): the newest ``query.limit`` alerts, events without an alert and
    preference changes, or those older than the query's cursors."""
    q = query or HistoryQuery()
    customer = (
        await session.exec(select(Customer).where(Customer.external_ref == external_ref))
    ).first()
    if customer is None:
        return None
    cid = row_id(customer)
    record, named = await _customer_record(session, customer, mask if mask_contacts else same)
    preferences = await _preferences(session, cid, named)
    rows = await load_page(session, cid, q)
    views = ViewBuilder(rows=rows, show=mask if mask_contacts else same)
    events, alerts_without_event = views.events()
    return CustomerHistory(
        customer=record,
        preferences=preferences,
        preference_changes=[_change(ch, named) for ch in rows.changes],
        events=events,
        alerts_without_event=alerts_without_event,
        unmatched_responses=[views.response(r) for r in rows.unmatched],
        handoffs_without_alert=[views.handoff(h) for h in rows.loose_handoffs],
        pages=page_infos(q, await count_lists(session, cid, q), rows),
    )


async def find_alert(*, session: AsyncSession, alert_id: int) -> Alert | None:
    """One alert as stored (None if there is no such alert)."""
    return await session.get(Alert, alert_id)
