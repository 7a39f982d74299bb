"""Alert types as data: a validated, versioned, JSON-serialisable specification per alert type.

An administrator edits these in the browser; the rules read them. Everything an alert type
decides is here: which events trigger it (event types plus a rule-engine condition), how it is
deduplicated, what the customer may answer, its content per locale and channel, how delivery is
retried and escalated, and what happens when the call centre is closed or overloaded. Invalid
specifications are refused when saved, with a message that says which field and why.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal, Self
from urllib.parse import urlsplit

from jinja2 import Environment, TemplateSyntaxError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules.conditions import compile_condition
from rules.facts import check_key_template
from rules.vocabulary import CHANNELS, Category, CentreChoice, Channel, Intent, PolicyOutcome

_KEY = r"^[a-z][a-z0-9_]{1,63}$"
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SYNTAX_ONLY = Environment(autoescape=False)  # parses templates; rendering is alerts' business

# A voice content in another language may offer the call in English: it says this template
# (e.g. "For English, press 8.") after its menu, and ENGLISH_KEY replays the call in English.
ENGLISH_OFFER: Final = "english_offer"
ENGLISH_KEY: Final = "8"
ENGLISH: Final = "en"

# Templates each channel needs (required) and may have (optional), by name.
REQUIRED_TEMPLATES: dict[Channel, frozenset[str]] = {
    "voice": frozenset({"message"}),
    "sms": frozenset({"body"}),
    "email": frozenset({"subject", "text"}),
}
OPTIONAL_TEMPLATES: dict[Channel, frozenset[str]] = {
    "voice": frozenset({"prompt", "reprompt", "voicemail", "audio_url", ENGLISH_OFFER}),
    "sms": frozenset(),
    "email": frozenset({"html"}),
}

_RETRY_ON: tuple[PolicyOutcome, ...] = ("busy", "no_answer", "provider_error")
_FALLBACK_ON: tuple[PolicyOutcome, ...] = ("busy", "no_answer", "provider_error", "voicemail")

Seconds = Annotated[int, Field(ge=0, le=366 * 86400)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


BatchChoice = Literal["entries", "transactions", "both"]
BATCH_CHOICES: Final[dict[str, str]] = {
    "entries": "once per booking (a batch booking alerts once, with its total)",
    "transactions": "once per transaction (each payment of a batch booking alerts on its own)",
    "both": "for the booking and for each of its transactions",
}


def batch_skip(batches: str, batch_role: str | None) -> str | None:
    """Why an event with ``batch_role`` is not for a trigger choosing ``batches``, or None."""
    if batches == "entries" and batch_role == "item":
        return "a transaction of a batch booking, and the alert type alerts once per booking"
    if batches == "transactions" and batch_role == "batch":
        return "a batch booking, and the alert type alerts on each of its transactions"
    return None


class Trigger(_Spec):
    """Which events raise the alert: one of ``event_types`` and ``condition`` holding."""

    event_types: list[Annotated[str, Field(pattern=_KEY)]] = Field(min_length=1)
    condition: str = ""  # rule-engine expression over event, customer, now; empty = always
    # A bank's batch booking arrives as one event for the entry (data batch_role "batch") and one
    # per transaction in it ("item"); other events have no role or "single". By default an alert
    # type alerts once per entry; "transactions" alerts on each transaction instead, "both" on all.
    batches: BatchChoice = "entries"

    @field_validator("condition")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        # Type-checked when saved (ConditionError, a ValueError, says the column and what is
        # wrong). A stored spec read back (validation context {"stored": True}) needs only to
        # compile, so a condition saved before a check was added is not lost.
        stored = bool(info.context and info.context.get("stored"))
        compile_condition(value, typed=not stored)
        return value


class Dedupe(_Spec):
    """At most one alert per rendered ``key`` within ``window_seconds``."""

    window_seconds: Seconds = 86400
    key: str = "{alert_type}:{event.source}:{event.source_event_id}"

    @field_validator("key")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        check_key_template(value)
        return value


class ResponseOption(_Spec):
    key: str = Field(pattern=r"^[0-9*#]$")  # the keypad digit, SMS reply and email button order
    intent: Intent
    label: str = Field(min_length=1, max_length=80)
    # The label in other languages (locale -> label); a language without one uses ``label``.
    labels: dict[str, Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=dict
    )
    # For "transaction": the HTTP endpoint Herald POSTs the request to (signed); its answer is
    # read back to the customer. Without one, the request becomes a task for an agent.
    endpoint: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)
    # The call-centre queue the work this answer creates goes to (e.g. "fraud"); none, or a
    # key no queue has, goes to the centre's default queue.
    queue: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,39}$")

    @field_validator("endpoint")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parts = urlsplit(value)
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a valid URL: {exc}") from exc
            if not parts.hostname:
                raise ValueError(f"{value!r} has no host")
        return value

    def in_locale(self, locale: str) -> ResponseOption:
        """This option with its label in ``locale`` (or its base language), else as it is."""
        label = self.labels.get(locale) or self.labels.get(locale.split("-")[0])
        return self.model_copy(update={"label": label}) if label else self

    @model_validator(mode="after")
    def _endpoint_only_for_transactions(self) -> Self:
        if self.endpoint and self.intent != "transaction":
            raise ValueError(f"option {self.key}: only a transaction option has an endpoint")
        return self


class ChannelPolicy(_Spec):
    """Attempts on one channel and which outcomes retry it or move on to the next channel.

    An outcome in ``retry_on`` is retried ``interval_seconds`` later while attempts remain; then
    (or at once, when it is only in ``fallback_on``) it moves to the next channel if it is in
    ``fallback_on``; an outcome in neither stops delivery (e.g. a voicemail that was left).
    """

    attempts: int = Field(default=1, ge=1, le=10)
    interval_seconds: Seconds = 900
    retry_on: list[PolicyOutcome] = Field(default_factory=lambda: list(_RETRY_ON))
    fallback_on: list[PolicyOutcome] = Field(default_factory=lambda: list(_FALLBACK_ON))

    @field_validator("retry_on", "fallback_on")
    @classmethod
    def _as_set(cls, value: list[PolicyOutcome]) -> list[PolicyOutcome]:
        return sorted(set(value))  # stable JSON, order carries no meaning


class DeliveryPolicy(_Spec):
    channel_order: list[Channel] = Field(default_factory=lambda: list(CHANNELS))
    channels: dict[Channel, ChannelPolicy] = Field(default_factory=dict)
    fallback_wait_seconds: Seconds = 300  # after the last attempt on a channel, before the next
    # Transient provider errors: exponential backoff from base, capped, with passed-in jitter.
    provider_backoff_seconds: int = Field(default=30, ge=1, le=3600)
    provider_backoff_max_seconds: int = Field(default=900, ge=1, le=86400)
    max_provider_retries: int = Field(default=3, ge=0, le=10)

    @field_validator("channel_order")
    @classmethod
    def _unique_order(cls, value: list[Channel]) -> list[Channel]:
        if not value:
            raise ValueError("name at least one channel")
        if len(set(value)) != len(value):
            raise ValueError(f"each channel may appear once in {value}")
        return value

    def policy(self, channel: Channel) -> ChannelPolicy:
        return self.channels.get(channel) or ChannelPolicy()


class CentreLinkage(_Spec):
    """What an alert offering an agent does when the call centre is closed or overloaded."""

    when_closed: CentreChoice = "hold"
    when_overloaded: CentreChoice = "callback_instead"
    overload_queue_threshold: int = Field(default=10, ge=1)
    hold_spread_seconds: int = Field(default=1800, ge=0, le=86400)  # held alerts spread over
    overload_recheck_seconds: int = Field(default=300, ge=0, le=86400)
    callback_label: str = Field(default="Ask us to call you back", min_length=1, max_length=80)


Content = dict[str, dict[Channel, dict[str, str]]]  # locale -> channel -> template name -> text


class AlertTypeSpec(_Spec):
    key: str = Field(pattern=_KEY)
    version: int = Field(default=1, ge=1)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    enabled: bool = True
    trigger: Trigger
    priority: int = Field(default=50, ge=0, le=100)  # higher goes first in the queues
    category: Category = "service"
    mandatory: bool = False  # overrides the customer's opt-out of this alert type
    ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    dedupe: Dedupe = Field(default_factory=Dedupe)
    options: list[ResponseOption] = Field(default_factory=list)
    content: Content
    fallback_locale: str = "en"
    # The longest SMS allowed, in segments (160 GSM-7 / 70 UCS-2 characters each, fewer when
    # concatenated); checked when the alert type is saved, with long sample values.
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    delivery: DeliveryPolicy = Field(default_factory=DeliveryPolicy)
    centre: CentreLinkage = Field(default_factory=CentreLinkage)

    @field_validator("content")
    @classmethod
    def _templates(cls, value: Content) -> Content:
        for locale, channels in value.items():
            if not _LOCALE.match(locale):
                raise ValueError(f"{locale!r} is not a locale like 'en' or 'nl-BE'")
            for channel, templates in channels.items():
                where = f"content.{locale}.{channel}"
                missing = REQUIRED_TEMPLATES[channel] - set(templates)
                if missing:
                    raise ValueError(f"{where} lacks template(s) {sorted(missing)}")
                unknown = set(templates) - REQUIRED_TEMPLATES[channel] - OPTIONAL_TEMPLATES[channel]
                if unknown:
                    known = sorted(REQUIRED_TEMPLATES[channel] | OPTIONAL_TEMPLATES[channel])
                    raise ValueError(f"{where} has unknown template(s) {sorted(unknown)}: {known}")
                for name, text in templates.items():
                    try:
                        _SYNTAX_ONLY.parse(text)
                    except TemplateSyntaxError as exc:
                        raise ValueError(
                            f"{where}.{name} line {exc.lineno}: {exc.message}"
                        ) from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.category == "marketing" and self.mandatory:
            raise ValueError("a marketing alert type cannot be mandatory")
        if self.fallback_locale not in self.content:
            raise ValueError(f"fallback_locale {self.fallback_locale!r} has no content")
        fallback = self.content[self.fallback_locale]
        lacking = [c for c in self.delivery.channel_order if c not in fallback]
        if lacking:
            raise ValueError(
                f"delivery.channel_order names {lacking} but content.{self.fallback_locale} "
                "has no content for them"
            )
        for option in self.options:
            needs = {"sms_copy": "sms", "email_copy": "email"}.get(option.intent)
            if needs and needs not in fallback:
                raise ValueError(
                    f"option {option.key} sends a copy by {needs}, but content."
                    f"{self.fallback_locale} has no {needs} content"
                )
        keys = [o.key for o in self.options]
        offers = sorted(
            locale
            for locale, channels in self.content.items()
            if channels.get("voice", {}).get(ENGLISH_OFFER, "").strip()
        )
        if offers and ENGLISH_KEY in keys:
            raise ValueError(
                f"content.{offers[0]}.voice offers English on key {ENGLISH_KEY}, but option "
                f"{ENGLISH_KEY} answers the alert: move that option or drop {ENGLISH_OFFER}"
            )
        if offers and "voice" not in self.content.get(ENGLISH, {}):
            raise ValueError(
                f"content.{offers[0]}.voice offers the call in English, but content.{ENGLISH} "
                "has no voice content to play"
            )
        if len(set(keys)) != len(keys):
            raise ValueError(f"response option keys must be unique, got {keys}")
        intents = [o.intent for o in self.options]
        if intents.count("agent") > 1 or intents.count("callback") > 1:
            raise ValueError("offer at most one agent and one callback option")
        return self

    @property
    def offers_agent(self) -> bool:
        return any(o.intent == "agent" for o in self.options)

    def content_locale(self, language: str, channel: Channel) -> str:
        """The locale whose content is used for ``language`` on ``channel``: the language
        itself, then its base language ("nl" for "nl-BE"), then the fallback locale."""
        for candidate in (language, language.split("-")[0]):
            if channel in self.content.get(candidate, {}):
                return candidate
        return self.fallback_locale

    def as_json(self) -> dict[str, JsonValue]:
        return self.model_dump(mode="json")


def parse_alert_type(data: object) -> AlertTypeSpec:
    """Validate stored or submitted JSON into a spec (pydantic ValidationError if invalid)."""
    return AlertTypeSpec.model_validate(data)


def describe_error(exc: Exception) -> list[str]:
    """Human lines for a ValidationError: "trigger.condition: invalid condition at ..."."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [str(exc)]
    lines = []
    for error in errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "alert type"
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return lines
