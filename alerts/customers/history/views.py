"""The single view's value types: one page of a customer's history as typed models, and the
cursors that ask for the next, older page.

``alerts.customers.history.service`` builds them; the JSON API returns them as they are, the
admin page and the CLI read their attributes. Times are aware UTC ``datetime`` objects in
Python and the ISO 8601 text the history has always had (``2024-05-01T12:00:00+00:00``) in
JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PlainSerializer, computed_field

from alerts.plans import PlannedStep

# A stored time, written in JSON the way datetime.isoformat() writes it (an offset, not "Z").
At = Annotated[
    datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json")
]
# A JSON object as stored (an alert's or a hand-off's context, a preference's fields).
JsonObject = dict[str, JsonValue]

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
MAX_CURSOR = 2**31 - 1  # the ids are 32-bit columns: a larger cursor must never reach SQL


class HistoryQuery(BaseModel):
    """Which page of the history to read: the newest ``limit`` of each list, or the ones older
    than a cursor (the id of the oldest row on the page before, as ``PageInfo.older`` gives)."""

    model_config = ConfigDict(frozen=True)

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per list")
    before: int | None = Field(
        None, ge=1, le=MAX_CURSOR, description="alerts older than this alert id"
    )
    skips_before: int | None = Field(
        None, ge=1, le=MAX_CURSOR, description="events without an alert older than this event id"
    )
    changes_before: int | None = Field(
        None, ge=1, le=MAX_CURSOR, description="preference changes older than this change id"
    )

    def given(self) -> dict[str, int]:
        """The values set (the default limit left out): what a link or a command repeats."""
        return {
            k: v
            for k, v in self.model_dump().items()
            if v is not None and not (k == "limit" and v == DEFAULT_LIMIT)
        }

    def link(self, **changes: int | None) -> str:
        """This page's query string with ``changes`` applied (``before=812&limit=50``); the
        first page's is the empty string."""
        return urlencode(self.model_copy(update=changes).given())


class PageInfo(BaseModel):
    """Where one page sits in a list read newest first: "Showing 20 of 134 alerts"."""

    noun: str = Field(description="what the list holds, plural")
    total: int = Field(description="how many there are in all")
    shown: int = Field(description="how many are on this page")
    newer: int = Field(description="how many newer ones are on the pages before this one")
    older: int | None = Field(
        description="the cursor for the next, older page; null on the last page"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        if self.total == 0:
            return f"No {self.noun}"
        if self.newer == 0 or self.shown == 0:  # the first page, or one past the last
            return f"Showing {self.shown} of {self.total} {self.noun}"
        first, last = self.newer + 1, self.newer + self.shown
        return f"Showing {first} to {last} of {self.total} {self.noun}"


class HistoryPages(BaseModel):
    """The paginated lists of the view, each with its own cursor."""

    limit: int
    alerts: PageInfo
    events_without_alert: PageInfo
    preference_changes: PageInfo
    unmatched_responses: PageInfo = Field(description="the newest only; no cursor")
    handoffs_without_alert: PageInfo = Field(description="the newest only; no cursor")


class ContactView(BaseModel):
    kind: str
    address: str
    id: int
    label: str
    consent_source: str | None
    consent_at: At | None
    consent_withdrawn_at: At | None
    sms_opted_out: bool
    sms_capable: bool
    invalid: bool


class CustomerRecord(BaseModel):
    ref: str
    name: str
    locale: str
    timezone: str
    channel_order: list[str]
    accounts: list[str]
    contacts: list[ContactView]


class StoredPreference(BaseModel):
    alert_type: str
    subject: str = Field(description="what it is about, in words")
    data: JsonObject
    summary: str


class PreferenceChangeView(BaseModel):
    id: int
    at: At
    actor: str
    alert_type: str
    subject: str
    summary: str = Field(description="what changed, field by field, in words")
    before: JsonObject
    after: JsonObject


class DecisionStep(BaseModel):
    """A step the rules planned, as the decision recorded it (address always masked)."""

    channel: str | None
    to: str
    not_before: str | None
    deadline: str | None
    reason: str | None


class DecisionView(BaseModel):
    alert_type: str
    outcome: str = Field(description="alert or skip")
    reason: str
    at: At
    steps: list[DecisionStep]
    notes: list[str]


class StatusView(BaseModel):
    """One line of an attempt's status history (an ignored late callback has applied false)."""

    status: str
    provider_status: str | None
    detail: str | None
    applied: bool
    at: At


class AttemptView(BaseModel):
    id: int
    step: int
    channel: str
    to: str
    status: str
    provider_sid: str | None
    error: str | None
    created_at: At
    history: list[StatusView]


class ResponseView(BaseModel):
    id: int
    channel: str
    key: str | None
    intent: str
    text: str | None
    attempt_id: int | None
    at: At


class StatusMove(BaseModel):
    """One move of a hand-off's status (alerts.lifecycle.HANDOFF), or a refused one."""

    from_status: str
    event: str
    to_status: str
    applied: bool
    reason: str
    actor: str
    at: At


class HandOffView(BaseModel):
    id: int
    kind: str
    status: str
    response_id: int
    at: At
    closed_at: At | None
    context: JsonObject
    timeline: list[StatusMove] = Field(description="its status moves, oldest first")


class AlertView(BaseModel):
    id: int
    type: str
    status: str
    closed_reason: str | None
    created_at: At
    context: JsonObject
    plan: list[PlannedStep] = Field(description="ordered delivery steps")
    current_step: int
    attempts: list[AttemptView]
    responses: list[ResponseView]
    handoffs: list[HandOffView]


class EventView(BaseModel):
    id: int
    source: str
    source_event_id: str
    type: str
    account: str
    amount: str | None = Field(description="exact decimal as a string")
    currency: str | None
    status: str | None
    booking_date: date | None
    description: str | None
    received_at: At
    decisions: list[DecisionView]
    alerts: list[AlertView] = Field(description="this page's alerts raised for the event")


class CustomerHistory(BaseModel):
    """One page of everything Herald knows and did for one customer, newest first.

    ``events`` holds the events of this page's alerts and this page's events without an alert
    (skips, not yet evaluated), merged newest first; ``pages`` says where each list's page is
    and gives the cursor for the next.
    """

    customer: CustomerRecord
    preferences: list[StoredPreference]
    preference_changes: list[PreferenceChangeView]
    events: list[EventView]
    alerts_without_event: list[AlertView]
    unmatched_responses: list[ResponseView]
    handoffs_without_alert: list[HandOffView]
    pages: HistoryPages
