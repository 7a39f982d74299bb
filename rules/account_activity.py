"""The `account_activity` alert type: a debit at or above a threshold alerts the account's owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rules.base import CustomerFacts, EventFacts, Verdict
from rules.plan import build_plan

KEY = "account_activity"
DEBIT_EVENT_TYPES = frozenset({"debit_posted", "debit_pending"})


@dataclass(frozen=True, slots=True)
class AccountActivityParams:
    threshold: Decimal
    fallback_wait_seconds: int

    @classmethod
    def from_mapping(
        cls, params: dict[str, Any], *, default_threshold: Decimal, default_wait: int
    ) -> AccountActivityParams:
        try:
            threshold = Decimal(str(params.get("threshold", default_threshold)))
        except InvalidOperation as exc:
            raise ValueError(f"threshold {params.get('threshold')!r} is not a number") from exc
        wait = int(params.get("fallback_wait_seconds", default_wait))
        if threshold < 0 or wait < 0:
            raise ValueError("threshold and fallback_wait_seconds must not be negative")
        return cls(threshold=threshold, fallback_wait_seconds=wait)


def decide(
    *,
    event: EventFacts,
    customer: CustomerFacts | None,
    params: AccountActivityParams,
    now: datetime,
) -> Verdict:
    """Decide whether `event` becomes an account-activity alert, and plan its delivery."""

    def skip(reason: str) -> Verdict:
        return Verdict(alert_type=KEY, raise_alert=False, reason=reason, decided_at=now)

    if event.event_type not in DEBIT_EVENT_TYPES:
        return skip(f"{event.event_type} is not a debit")
    if event.amount is None:
        return skip("the entry has no amount")
    if event.amount < params.threshold:
        return skip(
            f"debit {event.amount} {event.currency or ''} is below the threshold "
            f"{params.threshold}".replace("  ", " ")
        )
    if customer is None:
        return skip(f"no customer owns account {event.account_id}")
    plan = build_plan(customer=customer, wait_seconds=params.fallback_wait_seconds)
    if not plan:
        return skip(f"customer {customer.external_ref} has no contact point for any channel")
    amount = f"{event.amount:.2f}"
    return Verdict(
        alert_type=KEY,
        raise_alert=True,
        reason=(
            f"debit {amount} {event.currency or ''} on {event.account_id} is at or above the "
            f"threshold {params.threshold}; first channel {plan[0].channel}"
        ),
        dedupe_key=f"{KEY}:{event.source}:{event.source_event_id}",
        plan=tuple(plan),
        context={
            "customer_name": customer.name,
            "amount": amount,
            "currency": event.currency or "",
            "merchant": event.description or "an unknown payee",
            "account_ending": event.account_id[-4:],
            "booking_date": event.booking_date.isoformat() if event.booking_date else "",
        },
        decided_at=now,
    )
