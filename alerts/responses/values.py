"""Typed values the answers work with, validated where they are read and written: the options
an alert offers (``Alert.options``, typed by its column as ``alerts.plans.AlertOption``) and what
the agent sees of a hand-off (``HandOff.context``).

Both are stored as JSON where they always were; these helpers are the only way the code of this
package reads or writes them, so a reader sees ``option.intent`` and ``context.customer.name``,
and a stored value that does not fit is an error where it is read, not a ``KeyError`` later.
``dump`` keeps exactly the keys that were set, so what is stored keeps the shape other readers
(the admin pages, the customer's history, the call-centre API) already know.

The only untyped part is ``AlertView``'s extra fields: the alert's template context (amount,
merchant, ...), copied onto the agent's screen as it was rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from alerts.models import Alert, HandOff
from alerts.plans import AlertOption
from rules.vocabulary import Intent

# What an answer meant: an option's intent, the email-only extras, carrier keywords, or neither.
AnswerIntent = Literal[
    Intent,
    "call_me",
    "forward",
    "unknown",
    "late",
    "stop",
    "start",
    "help",
]
HandOffKind = Literal["live_transfer", "callback", "call_now", "task"]


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> dict[str, JsonValue]:
        """As stored: JSON types, only the fields that were set."""
        return self.model_dump(mode="json", exclude_unset=True)


def options_of(alert: Alert | None) -> list[AlertOption]:
    """The alert's options (the column validates them: alerts.plans.AlertOption); none
    without an alert."""
    return list(alert.options) if alert else []


def store_options(alert: Alert, options: Sequence[AlertOption]) -> None:
    alert.options = list(options)


def option_for(options: Sequence[AlertOption], intent: str) -> AlertOption | None:
    """The option that offered ``intent`` (None for an answer no option offered)."""
    return next((o for o in options if o.intent == intent), None)


class AnswerView(_Value):
    channel: str
    key: str | None = None
    intent: AnswerIntent
    text: str | None = None
    at: datetime


class CustomerView(_Value):
    ref: str
    name: str
    locale: str
    timezone: str


class AlertView(_Value):
    """The alert as the agent sees it, with its whole template context as extra fields."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    id: int | None = None
    type: str
    status: str
    raised_at: datetime
    amount: str | None = None
    currency: str | None = None
    description: str | None = None
    merchant: str | None = None


class EventView(_Value):
    type: str
    account: str
    amount: str | None = None
    currency: str | None = None
    description: str | None = None
    booking_date: str | None = None


class AgentNote(_Value):
    """A note an agent wrote on a hand-off (shown in the customer's history)."""

    at: datetime
    by: str
    text: str


class HandOffContext(_Value):
    """Everything on the agent's screen for one hand-off, and what happened to it since."""

    answer: AnswerView
    customer: CustomerView | None = None
    alert: AlertView | None = None
    event: EventView | None = None
    # The work for an agent, in words (a transaction to finish, a copy to send by hand).
    task: str | None = None
    # Why it came back to the agents (the centre was closed, nobody answered, ...).
    why: str | None = None
    call_error: str | None = None
    # The "call me now" call Herald placed to the customer.
    call_sid: str | None = None
    callback_at: datetime | None = None
    callback_keyed: str | None = None
    # The agent a live transfer was put through to, on their own line (callcentre.routing).
    routed_to: str | None = None
    # The agent's side (the agent console): their notes and the outcome they closed it with.
    notes: list[AgentNote] = []
    outcome: str | None = None
    outcome_label: str | None = None


def context_of(handoff: HandOff) -> HandOffContext:
    """The hand-off's context, validated."""
    return HandOffContext.model_validate(handoff.context)


def store_context(handoff: HandOff, context: HandOffContext) -> None:
    handoff.context = context.dump()


def update_context(handoff: HandOff, **changes: Any) -> HandOffContext:
    """Change some fields of the hand-off's context (validated, then stored on the row)."""
    current = context_of(handoff).model_dump(exclude_unset=True)
    context = HandOffContext.model_validate({**current, **changes})
    store_context(handoff, context)
    return context
