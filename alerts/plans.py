"""A delivery plan as stored on the alert: its steps, the answers it offers and the customer's
send windows; typed, validated when written and when read.

The rules engine plans steps (``rules.engine.PlanStep``); the alert keeps them as JSON in
``alerts.plan``, and every reader gets ``PlannedStep`` objects (``step.channel``, not
``step["channel"]``), and likewise ``AlertOption`` for ``alerts.options`` and ``StoredWindows``
for ``alerts.windows``. A step changed later (moved out of quiet hours, paced, a copy the customer
asked for) is a new object made with ``model_copy(update=...)``: steps are frozen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from rules.engine import PlanStep
from rules.timewindows import Block, DailyWindow, SendWindows
from rules.vocabulary import CHANNELS, Channel, Intent


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a plan time must carry its offset (UTC)")
    return value.astimezone(UTC)


# Stored as ISO 8601 with its offset ("2026-06-10T19:00:00+00:00"), as the engine wrote them.
StepTime = Annotated[
    datetime, AfterValidator(_aware), PlainSerializer(lambda v: v.isoformat(), return_type=str)
]


# What a step sends: the alert type's content ("alert"), or a message Herald writes itself for a
# customer's request, still delivered (attempt row, retries, statuses, history) like any step.
StepKind = Literal["alert", "forward", "consent_confirmation", "call_now"]


class StepContent(BaseModel):
    """The words of a step that does not use the alert type's templates (rendered already)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    subject: str | None = None
    html: str | None = None


class PlannedStep(BaseModel):
    """One step of an alert's plan: which channel to which contact point, when, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    channel: Channel
    contact_point_id: str
    address: str
    attempt: int = 1
    not_before: StepTime
    deadline: StepTime
    locale: str = "en"
    reason: str = ""
    # A copy the customer asked for (SMS or email after a voice answer): its failure does not
    # fail an alert the customer already answered.
    is_copy: bool = Field(default=False, alias="copy")
    # Held by the voice pacer: why, and when the slot it reserved is (its run places the call).
    paced: str | None = None
    released_at: StepTime | None = None
    kind: StepKind = "alert"
    content: StepContent | None = None  # the words of a step that is not the alert's own
    handoff_id: int | None = None  # call_now: the hand-off the call puts the customer through to

    @classmethod
    def from_engine(cls, step: PlanStep) -> PlannedStep:
        return cls(
            channel=step.channel,
            contact_point_id=step.contact_point_id,
            address=step.address,
            attempt=step.attempt,
            not_before=step.not_before,
            deadline=step.deadline,
            locale=step.locale,
            reason=step.reason,
        )

    def for_engine(self) -> PlanStep:
        """The step as rules.retry.next_action reads it."""
        return PlanStep(
            channel=self.channel,
            contact_point_id=self.contact_point_id,
            address=self.address,
            attempt=self.attempt,
            not_before=self.not_before,
            deadline=self.deadline,
            locale=self.locale,
            reason=self.reason,
        )


class AlertOption(BaseModel):
    """One answer the alert offers: the key to press or reply, what it means, its words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    intent: Intent
    label: str
    # A transaction's endpoint (rules.alert_types.ResponseOption.endpoint).
    endpoint: str | None = None
    # The call-centre queue its hand-off goes to (rules.alert_types.ResponseOption.queue).
    queue: str | None = None

    def dump(self) -> dict[str, str | None]:
        """As stored: only the fields that were set (an old row without ``endpoint`` keeps
        its shape)."""
        return self.model_dump(mode="json", exclude_unset=True)


class WindowBlock(BaseModel):
    """A daily window in which some channels must not be used, and why (quiet hours, law)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: str  # "21:30-07:30" in the customer's zone (rules.timewindows.DailyWindow)
    channels: list[Channel]
    why: str


class StoredWindows(BaseModel):
    """The customer's quiet hours and legal windows as stored on the alert
    (``rules.timewindows.SendWindows``: ``from_rules`` and ``for_rules``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tz: str = "UTC"
    blocks: list[WindowBlock] = Field(default_factory=list)

    @classmethod
    def from_rules(cls, windows: SendWindows) -> StoredWindows:
        return cls(
            tz=windows.tz,
            blocks=[
                WindowBlock(
                    window=b.window.describe(),
                    channels=[c for c in CHANNELS if c in b.channels],
                    why=b.why,
                )
                for b in windows.blocks
            ],
        )

    def for_rules(self) -> SendWindows:
        return SendWindows(
            tz=self.tz,
            blocks=tuple(
                Block(DailyWindow.parse(b.window), frozenset(b.channels), b.why)
                for b in self.blocks
            ),
        )
