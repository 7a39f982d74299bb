"""Delivery plans: the customer's channel order bound to their contact points, with waits."""

from __future__ import annotations

from rules.base import CHANNEL_CONTACT_KIND, CustomerFacts, PlanStep

DEFAULT_ORDER = ("voice", "sms", "email")


def build_plan(*, customer: CustomerFacts, wait_seconds: int) -> list[PlanStep]:
    """One step per channel in the customer's order that has a usable contact point of the right
    kind (never SMS to a number that texted STOP)."""
    order = customer.channel_order or DEFAULT_ORDER
    steps: list[PlanStep] = []
    for channel in order:
        kind = CHANNEL_CONTACT_KIND.get(channel)
        usable = [
            c
            for c in customer.contacts
            if c.kind == kind and not (channel == "sms" and c.sms_opted_out)
        ]
        contact = usable[0] if usable else None
        if contact is None:
            continue
        if not steps:
            reason = f"{channel} is the customer's first reachable channel"
        else:
            reason = (
                f"{channel} follows {wait_seconds}s after {steps[-1].channel} "
                "fails or is not answered"
            )
        steps.append(
            PlanStep(
                channel=channel,
                address=contact.address,
                wait_seconds=0 if not steps else wait_seconds,
                reason=reason,
            )
        )
    return steps
