"""Twilio simulator state: calls and messages in memory, rendered as Twilio 2010 resources."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from typing_extensions import TypedDict

API_VERSION = "2010-04-01"
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})

_ERROR_MESSAGES = {
    21610: "Attempt to send to unsubscribed recipient",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}
# Characters of the GSM 03.38 basic set (plus the extension table) that fit a 7-bit segment.
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def new_sid(prefix: str) -> str:
    """A Twilio-shaped sid: two-letter prefix and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: `Tue, 31 Aug 2010 20:36:28 +0000`."""
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def segments(body: str) -> int:
    """How many SMS segments `body` takes (GSM-7: 160/153 chars, otherwise UCS-2: 70/67)."""
    single, multi = (160, 153) if set(body) <= _GSM else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


def format_number(number: str) -> str:
    """`+13051416799` -> `(305) 141-6799` (NANP only, like Twilio's *_formatted fields)."""
    if len(number) == 12 and number.startswith("+1") and number[1:].isdigit():
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


class SentRequestInfo(TypedDict):
    """A `SentRequest` as the control API shows it."""

    kind: str
    method: str
    url: str
    params: dict[str, str]
    signature: str
    status: int | None
    body: str
    error: str | None


CallResource = TypedDict(
    "CallResource",
    {
        "sid": str,
        "date_created": str | None,
        "date_updated": str | None,
        "parent_call_sid": None,
        "account_sid": str,
        "to": str,
        "to_formatted": str,
        "from": str,
        "from_formatted": str,
        "phone_number_sid": None,
        "status": str,
        "start_time": str | None,
        "end_time": str | None,
        "duration": str | None,
        "price": None,
        "price_unit": str,
        "direction": str,
        "answered_by": str | None,
        "api_version": str,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": str,
        "trunk_sid": None,
        "uri": str,
        "subresource_uris": dict[str, str],
    },
)
"""A call as Twilio's 2010 API renders it."""


class CallRequestInfo(TypedDict):
    """The parameters the call was created with."""

    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str
    status_callback_events: list[str]
    machine_detection: str | None
    timeout: int


class CallDebug(CallResource):
    """A call as the control API shows it: the resource, its request, transcript and notes."""

    request: CallRequestInfo
    transcript: list[dict[str, Any]]
    requests: list[SentRequestInfo]
    notes: list[str]


MessageResource = TypedDict(
    "MessageResource",
    {
        "body": str,
        "num_segments": str,
        "direction": str,
        "from": str | None,
        "to": str,
        "date_updated": str | None,
        "price": None,
        "error_message": str | None,
        "uri": str,
        "account_sid": str,
        "num_media": str,
        "status": str,
        "messaging_service_sid": str | None,
        "sid": str,
        "date_sent": str | None,
        "date_created": str | None,
        "error_code": int | None,
        "price_unit": str,
        "api_version": str,
        "subresource_uris": dict[str, str],
    },
)
"""A message as Twilio's 2010 API renders it."""


class MessageDebug(MessageResource):
    """A message as the control API shows it: the resource, its callback, requests and notes."""

    status_callback: str | None
    requests: list[SentRequestInfo]
    notes: list[str]


@dataclass
class SentRequest:
    """One HTTP request the simulator made to Herald, and what came back."""

    kind: str
    method: str
    url: str
    params: dict[str, str]
    signature: str
    status: int | None = None
    body: str = ""
    error: str | None = None

    def as_dict(self) -> SentRequestInfo:
        return {
            "kind": self.kind,
            "method": self.method,
            "url": self.url,
            "params": self.params,
            "signature": self.signature,
            "status": self.status,
            "body": self.body,
            "error": self.error,
        }


@dataclass
class CallRecord:
    """An outbound-api call: the request that created it, its progress, and what happened."""

    account_sid: str
    to: str
    from_: str
    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    machine_detection: str | None
    timeout: int
    sid: str = field(default_factory=lambda: new_sid("CA"))
    status: str = "queued"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    requests: list[SentRequest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def set_status(self, status: str) -> None:
        self.status = status
        self.date_updated = utcnow()

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def resource(self) -> CallResource:
        base = self.uri[: -len(".json")]
        subresources = ("notifications", "recordings", "payments", "events", "siprec", "streams")
        return {
            "sid": self.sid,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "parent_call_sid": None,
            "account_sid": self.account_sid,
            "to": self.to,
            "to_formatted": format_number(self.to),
            "from": self.from_,
            "from_formatted": format_number(self.from_),
            "phone_number_sid": None,
            "status": self.status,
            "start_time": rfc2822(self.start_time),
            "end_time": rfc2822(self.end_time),
            "duration": None if self.duration is None else str(self.duration),
            "price": None,
            "price_unit": "USD",
            "direction": "outbound-api",
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": self.uri,
            "subresource_uris": {name: f"{base}/{name.title()}.json" for name in subresources},
        }

    def debug(self) -> CallDebug:
        return {
            **self.resource(),
            "request": {
                "url": self.url,
                "method": self.method,
                "twiml": self.twiml,
                "status_callback": self.status_callback,
                "status_callback_method": self.status_callback_method,
                "status_callback_events": sorted(self.status_callback_events),
                "machine_detection": self.machine_detection,
                "timeout": self.timeout,
            },
            "transcript": list(self.transcript),
            "requests": [r.as_dict() for r in self.requests],
            "notes": list(self.notes),
        }


@dataclass
class MessageRecord:
    """An SMS, outbound (created over the API, or a TwiML reply) or inbound (a recipient's)."""

    account_sid: str
    to: str
    from_: str | None
    body: str
    direction: str = "outbound-api"
    status_callback: str | None = None
    messaging_service_sid: str | None = None
    sid: str = field(default_factory=lambda: new_sid("SM"))
    status: str = "queued"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    date_sent: datetime | None = None
    error_code: int | None = None
    requests: list[SentRequest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def set_status(self, status: str, error_code: int | None = None) -> None:
        self.status = status
        self.error_code = error_code
        self.date_updated = utcnow()

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def resource(self) -> MessageResource:
        return {
            "body": self.body,
            "num_segments": str(segments(self.body)),
            "direction": self.direction,
            "from": self.from_,
            "to": self.to,
            "date_updated": rfc2822(self.date_updated),
            "price": None,
            "error_message": None
            if self.error_code is None
            else _ERROR_MESSAGES.get(self.error_code),
            "uri": self.uri,
            "account_sid": self.account_sid,
            "num_media": "0",
            "status": self.status,
            "messaging_service_sid": self.messaging_service_sid,
            "sid": self.sid,
            "date_sent": rfc2822(self.date_sent),
            "date_created": rfc2822(self.date_created),
            "error_code": self.error_code,
            "price_unit": "USD",
            "api_version": API_VERSION,
            "subresource_uris": {"media": self.uri[: -len(".json")] + "/Media.json"},
        }

    def debug(self) -> MessageDebug:
        return {
            **self.resource(),
            "status_callback": self.status_callback,
            "requests": [r.as_dict() for r in self.requests],
            "notes": list(self.notes),
        }


@dataclass
class SimState:
    """Everything the simulator has created, in creation order."""

    calls: dict[str, CallRecord] = field(default_factory=dict)
    messages: dict[str, MessageRecord] = field(default_factory=dict)
    opted_out: set[tuple[str, str]] = field(default_factory=set)

    def add_call(self, call: CallRecord) -> CallRecord:
        self.calls[call.sid] = call
        return call

    def add_message(self, message: MessageRecord) -> MessageRecord:
        self.messages[message.sid] = message
        return message

    def clear(self) -> None:
        self.calls.clear()
        self.messages.clear()
        self.opted_out.clear()
