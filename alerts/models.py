"""Tables of the alert domain: customers, events, decisions, alerts, attempts, responses,
hand-offs, users."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import JsonValue
from sqlmodel import Field, SQLModel

from alerts.columns import DecimalText, ModelJSON, ModelList, UTCDateTime, utcnow
from alerts.plans import AlertOption, PlannedStep, StoredWindows


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# The made-up customer of the studio's trial calls and test sends (alerts.responses.trial):
# nothing about them goes to the CRM (alerts.crm.deliver.fan_out).
TRIAL_CUSTOMER_REF = "studio-trial"


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    external_ref: str = Field(max_length=100, unique=True, index=True)
    name: str = Field(max_length=200)
    locale: str = Field(default="en", max_length=20)
    timezone: str = Field(default="UTC", max_length=64)
    # Channel kinds in the customer's order of preference: "voice", "sms", "email".
    channel_order: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # What trigger conditions may read: customer.segment and customer.attributes["..."].
    segment: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    attributes: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = _created()


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    account_id: str = Field(max_length=64, unique=True, index=True)


class ContactPoint(SQLModel, table=True):
    __tablename__ = "contact_points"
    __table_args__ = (sa.UniqueConstraint("customer_id", "kind", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    kind: str = Field(max_length=10)  # "phone" | "email"
    address: str = Field(max_length=254, index=True)
    label: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    # Set when the customer texted STOP (or a carrier reported the opt-out); no SMS until START.
    sms_opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Consent to be contacted here: where it came from and when; marketing needs it confirmed.
    consent_source: str | None = Field(default=None, max_length=40)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_confirmed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    consent_marketing: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    consent_withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # False once a provider said the number is a landline (no SMS).
    sms_capable: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # Set when a provider said the number or mailbox does not exist; the plan skips it.
    invalid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    invalid_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()


class AlertType(SQLModel, table=True):
    """The current version of an alert type: its whole rules.alert_types.AlertTypeSpec as JSON."""

    __tablename__ = "alert_types"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    enabled: bool = True
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # The JSON document of the spec, read through alerts.alert_types.store.stored_spec: a spec
    # saved under older rules must still load (and an unreadable one is logged and skipped),
    # so the column keeps the document and the store validates it.
    spec: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_by: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    updated_at: datetime = _created()


class AlertTypeVersion(SQLModel, table=True):
    """Every saved version of every alert type (the current one included), never changed."""

    __tablename__ = "alert_type_versions"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    version: int
    spec: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)  # as AlertType.spec
    changed_by: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=500)
    created_at: datetime = _created()


class Preference(SQLModel, table=True):
    """A customer's preference for one alert type, or their default (alert_type "*").

    ``data`` holds the fields of alerts.customers.preferences.PreferenceIn (its JSON, the
    fields that were set; that module validates it where it reads it); a field absent or null
    inherits from the default, then from the alert type.
    """

    __tablename__ = "preferences"
    __table_args__ = (sa.UniqueConstraint("customer_id", "alert_type"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    alert_type: str = Field(max_length=64)
    data: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: datetime = _created()


class PreferenceChange(SQLModel, table=True):
    """One change to a customer's preferences or consent: who, through what, before and after."""

    __tablename__ = "preference_changes"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    alert_type: str = Field(max_length=64)  # "*" default, a key, or "contact:<id>" for consent
    actor: str = Field(max_length=100)  # "customer (preferences page)", "api", "sms STOP", ...
    # A PreferenceIn's JSON, or for consent the contact point's consent (preferences.consent_view).
    before: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    after: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = _created()


class IngestFile(SQLModel, table=True):
    """One received file and its ingestion report; the file itself is kept for re-processing."""

    __tablename__ = "ingest_files"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    filename: str = Field(max_length=500)
    adapter: str = Field(max_length=64)
    status: str = Field(max_length=20)  # "ingesting" | "done" | "failed"
    source: str = Field(default="cli", max_length=20)  # "cli" | "api" | "watch"
    records: int = 0
    events_created: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unknown_accounts: int = 0
    bytes: int = Field(default=0, sa_type=sa.BigInteger)
    seconds: float = 0.0
    stored_path: str | None = Field(default=None, max_length=1000)
    problems: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set at each committed batch while ingesting: a file still "ingesting" with no progress for
    # a while was left by a crash (alerts.ingestion.quarantine.file_state says "interrupted").
    progress_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class QuarantinedRecord(SQLModel, table=True):
    """A record set aside with its precise reason; re-processed after the cause is fixed."""

    __tablename__ = "quarantined_records"
    __table_args__ = (sa.UniqueConstraint("file_id", "line", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="ingest_files.id", index=True)
    line: int | None = None
    # Indexed: a record sent again in a later file resolves its earlier open row.
    record_id: str | None = Field(default=None, max_length=300, index=True)
    field: str | None = Field(default=None, max_length=200)
    value: str | None = Field(default=None, max_length=500)
    reason: str = Field(sa_type=sa.Text)
    status: str = Field(default="open", max_length=20, index=True)  # "open" | "resolved"
    created_at: datetime = _created()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    """An AccountEvent as stored; (source, source_event_id) makes ingestion idempotent."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_event_id"),
        # The pending events alone, in id order: what a claim walks (alerts.decisions). Marking
        # an event evaluated adds no entry here (an index on the flag took one per event).
        sa.Index(
            "ix_events_pending",
            "id",
            postgresql_where=sa.text("evaluated = false"),
            sqlite_where=sa.text("evaluated = false"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    source_event_id: str = Field(max_length=300)
    file_id: int | None = Field(default=None, foreign_key="ingest_files.id")
    event_type: str = Field(max_length=64)
    account_id: str = Field(max_length=64, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    amount: Decimal | None = Field(default=None, sa_type=DecimalText)
    currency: str | None = Field(default=None, max_length=3)
    credit_debit: str | None = Field(default=None, max_length=4)
    status: str | None = Field(default=None, max_length=10)
    booking_date: date | None = None
    description: str | None = Field(default=None, max_length=500)
    line: int | None = None
    data: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    evaluated: bool = False
    created_at: datetime = _created()


class Decision(SQLModel, table=True):
    """What the rules said about one event for one alert type, with the reason shown to admins."""

    __tablename__ = "decisions"
    __table_args__ = (sa.UniqueConstraint("event_id", "alert_type"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    alert_type: str = Field(max_length=64)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    outcome: str = Field(max_length=10)  # "alert" | "skip"
    reason: str = Field(sa_type=sa.Text)
    # alerts.decisions.rows.stored_detail: every step with its reason, and the notes of each
    # check (what the plan's alert row holds in full is not repeated).
    detail: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = _created()


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=300, unique=True)
    alert_type: str = Field(max_length=64)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="events.id")
    decision_id: int | None = Field(default=None, foreign_key="decisions.id")
    status: str = Field(default="pending", max_length=20, index=True)
    alert_type_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # A studio trial ("Try it as the customer"): its content is the alert type's draft, it is
    # never delivered, and reports leave it out.
    trial: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Ordered delivery steps as rules.engine decided them (alerts.plans.PlannedStep).
    plan: list[PlannedStep] = Field(default_factory=list, sa_type=ModelList(PlannedStep))
    # What the customer may answer (after the call-centre linkage).
    options: list[AlertOption] = Field(default_factory=list, sa_type=ModelList(AlertOption))
    # The customer's quiet hours and legal windows (rules.timewindows.SendWindows).
    windows: StoredWindows = Field(default_factory=StoredWindows, sa_type=ModelJSON(StoredWindows))
    locale: str = Field(default="en", max_length=20, sa_column_kwargs={"server_default": "en"})
    priority: int = Field(default=50, sa_column_kwargs={"server_default": "50"})
    category: str = Field(
        default="service", max_length=20, sa_column_kwargs={"server_default": "service"}
    )
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_retries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    current_step: int = 0
    next_step_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Context rendered into every channel's content (amount, merchant, customer name...): the
    # template context, a real boundary (an alert type's templates may use any of its keys).
    context: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    closed_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"
    __table_args__ = (
        sa.UniqueConstraint("alert_id", "step_index"),
        # An SMS reply is matched by the number it came from, newest attempt first.
        sa.Index("ix_delivery_attempts_address_created_at", "address", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    step_index: int
    channel: str = Field(max_length=10)  # "voice" | "sms" | "email"
    address: str = Field(max_length=254)
    status: str = Field(default="queued", max_length=20)
    provider_sid: str | None = Field(default=None, max_length=100, unique=True)
    sending_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class AttemptEvent(SQLModel, table=True):
    """One step of an attempt's status history (including ignored late or duplicate callbacks)."""

    __tablename__ = "attempt_events"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="delivery_attempts.id", index=True)
    status: str = Field(max_length=20)
    provider_status: str | None = Field(default=None, max_length=40)
    detail: str | None = Field(default=None, max_length=500)
    applied: bool = True
    created_at: datetime = _created()


class Response(SQLModel, table=True):
    __tablename__ = "responses"

    id: int | None = Field(default=None, primary_key=True)
    # Provider-side identity of the answer (call sid + gather number, message sid, email token).
    dedupe_key: str = Field(max_length=200, unique=True)
    alert_id: int | None = Field(default=None, foreign_key="alerts.id", index=True)
    attempt_id: int | None = Field(default=None, foreign_key="delivery_attempts.id")
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    channel: str = Field(max_length=10)
    key: str | None = Field(default=None, max_length=20)
    intent: str = Field(max_length=20)  # "agent" | "confirm" | "repeat" | "unknown"
    text: str | None = Field(default=None, max_length=1600)
    created_at: datetime = _created()


class HandOff(SQLModel, table=True):
    """A routed response waiting for (or being handled by) the call centre."""

    __tablename__ = "handoffs"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="responses.id", unique=True)
    alert_id: int | None = Field(default=None, foreign_key="alerts.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    kind: str = Field(max_length=20)  # "live_transfer" | "callback" | "task"
    # alerts.lifecycle.HANDOFF: queued -> offered / claimed -> connected -> completed, ...
    status: str = Field(default="queued", max_length=20, index=True)
    # Everything the agent needs on screen: customer, alert, event, answer, history summary;
    # read and written as alerts.responses.values.HandOffContext (context_of, store_context).
    context: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = _created()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # --- queues and the agent console (0012) ---
    # The queue it is routed to (the response option's queue key); None or a key no queue has
    # is served by the centre's default queue (callcentre.queues).
    queue: str | None = Field(default=None, max_length=40, index=True)
    # The agent who claimed it (username): set once, by one compare-and-set UPDATE.
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StatusChange(SQLModel, table=True):
    """One move of an alert's or a hand-off's status (alerts.lifecycle), or a refused one."""

    __tablename__ = "status_changes"
    __table_args__ = (sa.Index("ix_status_changes_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=20)  # "alert" | "handoff"
    entity_id: int
    from_status: str = Field(max_length=20)
    event: str = Field(max_length=30)
    to_status: str = Field(max_length=20)
    applied: bool = True
    reason: str = Field(default="", max_length=500)
    actor: str = Field(default="herald", max_length=100)
    created_at: datetime = _created()


class ChannelAlarm(SQLModel, table=True):
    """A channel whose provider refused Herald itself (credentials, suspended account): its sends
    are held until ``retry_at``, when one send tries again; cleared by the first that succeeds."""

    __tablename__ = "channel_alarms"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10, unique=True)  # "voice" | "sms" | "email"
    provider: str = Field(max_length=100)
    message: str = Field(max_length=500)
    raised_at: datetime = _created()
    retry_at: datetime = _created()
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    held_steps: int = 0


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    password_hash: str = Field(max_length=200)
    role: str = Field(default="admin", max_length=20)
    created_at: datetime = _created()
    # --- staff: roles, tokens, audit (0010) ---
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Raised on a password reset, a role change or disabling: sessions of an older one end.
    auth_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# --- back to the CRM: the outbox and outbound webhooks (alerts.crm) -----------------------------


class OutboxEvent(SQLModel, table=True):
    """Something a CRM wants to hear about, written in the same transaction as the change itself
    (a response, a hand-off's move, an alert's end, a preference change), so a crash loses none."""

    __tablename__ = "outbox_events"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)  # e.g. "handoff.completed"
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    entity: str = Field(max_length=20)  # "alert" | "handoff" | "response" | "preference"
    entity_id: int | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = _created()
    # Set once a delivery row exists for every subscription that wanted it.
    fanned_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class WebhookSubscription(SQLModel, table=True):
    """A company's endpoint for the outbox's events, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500)
    events: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # kinds, or ["*"]
    secret: str = Field(max_length=200)
    active: bool = True
    created_by: str = Field(default="api", max_length=100)
    created_at: datetime = _created()


class WebhookDelivery(SQLModel, table=True):
    """One outbox event for one subscription: tried until delivered or given up after a day."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_try_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscriptions.id", index=True)
    event_id: int = Field(foreign_key="outbox_events.id", index=True)
    customer_id: int | None = Field(default=None, index=True)  # the order is kept per customer
    status: str = Field(default="pending", max_length=20)  # pending | delivered | failed
    tries: int = 0
    next_try_at: datetime = _created()
    last_error: str = Field(default="", max_length=500)
    last_status_code: int | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


# --- the administrators' studio ---------------------------------------------------------------


class AlertTypeDraft(SQLModel, table=True):
    """An alert type being edited in the studio, not yet published: one per alert type.

    ``base_version`` is the published version the draft started from (0 for a new type), so
    publishing refuses a draft whose type was changed meanwhile; ``editors`` are the usernames
    that changed it (the four-eyes rule keeps them from publishing it).
    """

    __tablename__ = "alert_type_drafts"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    spec: dict[str, JsonValue] = Field(default_factory=dict, sa_type=sa.JSON)  # AlertTypeSpec's
    base_version: int = 0
    editors: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    updated_by: str = Field(default="", max_length=100)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ApiToken(SQLModel, table=True):
    """A personal API token: only its sha256 is kept; it acts as its user, with the user's role."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_sha256: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the first characters, to tell tokens apart
    created_at: datetime = _created()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """One change made by staff or a token, append-only: who, when, from where, what, the diff."""

    __tablename__ = "audit_entries"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(max_length=100, index=True)  # a username, "shared-token", "cli"
    role: str = Field(default="", max_length=20)
    via: str = Field(default="", max_length=120)  # "session", "token: <name>", "shared token"
    ip: str | None = Field(default=None, max_length=45)
    kind: str = Field(max_length=40, index=True)  # "user", "api_token", "alert_type", ...
    entity_id: str = Field(max_length=200)
    action: str = Field(max_length=40)
    before: dict[str, JsonValue] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, JsonValue] | None = Field(default=None, sa_type=sa.JSON)
