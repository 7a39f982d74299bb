"""Twilio simulator configuration and scenarios: what each simulated recipient does."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_KEYS = re.compile(r"^[0-9*#]*$")

AnswerMode = Literal["human", "machine", "no-answer", "busy", "failed"]
# What a caller held in a queue (<Enqueue>) does: hang up after a while, or be taken by an agent.
QueueMode = Literal["hangup", "bridged"]
DeliveryMode = Literal["delivered", "undelivered", "failed"]


def _digits_as_text(value: Any) -> Any:
    """YAML reads `1` and `2` as integers; a recipient presses or replies text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ScenarioError(ValueError):
    """A scenario file or dict is unreadable or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VoiceBehaviour(_Strict):
    """How the recipient handles an outbound call (and a call <Dial>led to their number:
    `answer` decides the DialCallStatus), and what they do when held in a queue."""

    answer: AnswerMode = "human"
    presses: tuple[str, ...] = ()
    in_queue: QueueMode = "hangup"

    @field_validator("presses", mode="before")
    @classmethod
    def _presses_as_text(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(
                str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value
            )
        return value

    @field_validator("presses")
    @classmethod
    def _presses_are_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not _KEYS.match(entry):
                raise ValueError(
                    f"{entry!r} is not a keypad entry (digits, '*', '#', or '' for silence)"
                )
        return value


class SmsBehaviour(_Strict):
    """What happens to an SMS sent to the recipient, and whether they reply."""

    delivery: DeliveryMode = "delivered"
    error_code: int | None = None
    reply: str | None = None

    @field_validator("reply", mode="before")
    @classmethod
    def _reply_as_text(cls, value: Any) -> Any:
        return _digits_as_text(value)


class ApiError(_Strict):
    """The REST create request for this recipient fails like a provider outage."""

    status: int = Field(default=500, ge=400, le=599)
    code: int = 20500
    message: str = "Internal Server Error"


Rate = Field(default=0.0, ge=0.0, le=1.0)


class Faults(_Strict):
    """Provider faults at random, for fault-injection runs: each create request (call or
    message) may be refused, or accepted and answered badly; each status callback may be posted
    twice, never, or after a later one. Rates are probabilities per request; ``seed`` makes a
    run repeatable."""

    seed: int | None = None
    refuse: float = Rate  # 500, nothing created
    accept_then_500: float = Rate  # created (it goes out), but the answer is a 500
    accept_then_hang: float = Rate  # created, the answer held for hang_seconds (a timeout)
    hang_seconds: float = Field(default=20.0, ge=0.0, le=300.0)
    duplicate_callbacks: float = Rate  # a status callback posted twice
    drop_callbacks: float = Rate  # a status callback never posted
    # a status callback held back and posted after the next one (e.g. delivered before sent)
    reorder_callbacks: float = Rate

    @model_validator(mode="after")
    def _at_most_one(self) -> Faults:
        if self.refuse + self.accept_then_500 + self.accept_then_hang > 1:
            raise ValueError("refuse + accept_then_500 + accept_then_hang must be at most 1")
        return self


class Recipient(_Strict):
    """One simulated recipient; omitted parts fall back to the scenario's default."""

    voice: VoiceBehaviour | None = None
    sms: SmsBehaviour | None = None
    api_error: ApiError | None = None


@dataclass(frozen=True)
class Behaviour:
    """A recipient's resolved behaviour (default merged in)."""

    voice: VoiceBehaviour
    sms: SmsBehaviour
    api_error: ApiError | None


class Scenario(_Strict):
    """Scripted recipients, keyed by E.164 number, plus a default for everyone else."""

    default: Recipient = Recipient()
    recipients: dict[str, Recipient] = {}
    faults: Faults = Faults()
    # How long a created call or message waits for its 201 (a real provider answers in about
    # 0.1-0.5 s): the request is in flight that long after the resource exists, as when the
    # network is slow; its status callbacks start after the answer.
    answer_seconds: float = Field(default=0.0, ge=0.0, le=30.0)

    @field_validator("recipients", mode="before")
    @classmethod
    def _numbers_are_e164(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for number in value:
                if not isinstance(number, str):
                    raise ValueError(
                        f"recipient key {number!r} is not a string; quote phone numbers "
                        f'in YAML ("+{number}"), or YAML reads them as integers'
                    )
                if not E164.match(number):
                    raise ValueError(
                        f"recipient key {number!r} is not an E.164 number like +15550000001"
                    )
        return value

    def behaviour_for(self, number: str) -> Behaviour:
        """The behaviour of `number`, with the default filling whatever its entry leaves out."""
        own = self.recipients.get(number, Recipient())
        return Behaviour(
            voice=own.voice or self.default.voice or VoiceBehaviour(),
            sms=own.sms or self.default.sms or SmsBehaviour(),
            api_error=own.api_error or self.default.api_error,
        )


class SimulatorConfig(BaseModel):
    """Credentials, Herald's numbers and their inbound SMS webhooks, the scenario, the pace."""

    model_config = ConfigDict(extra="forbid")

    account_sid: str
    auth_token: str
    numbers: dict[str, str] = {}
    scenario: Scenario = Scenario()
    delay: float = Field(default=0.02, ge=0)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = item.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{where}: {item['msg']}{shown}")
    return "; ".join(lines)


def parse_scenario(data: Any, *, source: str = "scenario") -> Scenario:
    """Validate an already-parsed scenario mapping; raises ScenarioError naming `source`."""
    if data is None:
        return Scenario()
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: a scenario must be a mapping with 'default' and/or 'recipients', "
            f"not {type(data).__name__}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(f"{source}: {_describe(error)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a YAML or JSON file (see examples/scenario.yaml)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read scenario file ({error})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse_scenario(data, source=str(path))
