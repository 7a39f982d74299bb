"""Channel family: the protocol every provider implements, its value types and its error tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from channels.scripts import TextReply, VoiceScript, WebhookReply

# What a provider's error code says about the contact point itself (a number that does not
# exist, a landline for SMS, a carrier-level STOP), so no plan uses it that way again.
ContactProblem = Literal["invalid_address", "landline", "carrier_opt_out"]


class Failure(StrEnum):
    """The one thing the delivery layer needs to know about a failed send."""

    RETRY_LATER = "retry_later"  # outage, timeout, rate limit: the same send may work later
    CONTACT_PROBLEM = "contact_problem"  # this address cannot be used this way: next channel
    CONFIGURATION = "configuration"  # credentials refused, account suspended: an operator must act
    PERMANENT = "permanent"  # this message can never be sent as it is: next channel


class ChannelError(Exception):
    """A provider refused or failed a request. `code` is the provider's own error code;
    `contact_problem` what it says about the address, when it says something lasting."""

    failure = Failure.PERMANENT

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        contact_problem: ContactProblem | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.contact_problem = contact_problem


class TransientChannelError(ChannelError):
    """Worth retrying later: outage, timeout, rate limit, 5xx.

    `ambiguous` is True when the provider may have accepted the request anyway (a timeout after
    sending it, a 5xx answer to a create): then the send is looked up at the provider before it
    is tried again, and only the same provider may be asked again, never another.
    """

    failure = Failure.RETRY_LATER

    def __init__(self, message: str, *, code: str | None = None, ambiguous: bool = False) -> None:
        super().__init__(message, code=code)
        self.ambiguous = ambiguous


class PermanentChannelError(ChannelError):
    """Retrying cannot help: invalid number, refused address, a message the provider rejects."""

    failure = Failure.PERMANENT


class ConfigurationChannelError(ChannelError):
    """The provider refused Herald itself (HTTP 401/403: wrong credentials, suspended account,
    SMTP authentication failed). No send on this channel can succeed until an operator fixes the
    configuration: the channel raises an alarm and holds its sends instead of retrying them as
    a passing fault or failing them as the customer's."""

    failure = Failure.CONFIGURATION


def failure_of(exc: ChannelError) -> Failure:
    """The outcome of a failed send, in one place: retry later, contact problem,
    configuration error, or permanent."""
    if exc.contact_problem is not None and exc.failure is Failure.PERMANENT:
        return Failure.CONTACT_PROBLEM
    return exc.failure


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What a channel puts on the wire for one delivery attempt (already rendered)."""

    attempt_id: int
    alert_id: int
    to: str
    text: str  # SMS body, email text part; unused for voice (TwiML is fetched)
    subject: str | None = None
    html: str | None = None
    twiml_url: str | None = None  # voice: where the provider fetches the call script
    status_callback: str | None = None
    message_id: str | None = None  # email: deterministic Message-ID
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Receipt:
    provider_sid: str
    status: str  # normalised attempt status right after acceptance, usually "sent"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    provider_sid: str
    status: str | None  # normalised; None when the provider status is unknown to Herald
    provider_status: str
    error_code: str | None = None
    answered_by: str | None = None
    # What the provider's error code says about the address (the channel classifies it).
    contact_problem: ContactProblem | None = None


# How a transfer to an agent ended: they talked; the caller hung up first; nobody answered;
# the transfer could not be made.
TransferEnd = Literal["talked", "abandoned", "unanswered", "failed"]


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A provider's request about something the customer did: an SMS they sent, keys they
    pressed in a call, a call of theirs being answered or transferred."""

    provider_sid: str  # the message, or the call the request is about
    from_address: str  # the customer's number
    to_address: str  # Herald's number
    body: str  # the SMS text; for a call, the keys pressed (the same as ``digits``)
    digits: str = ""  # keypad input in a call ("" for silence, and for an SMS)
    answered_by: str | None = None  # a call: "human", or "machine_..." for a voicemail
    # A request about a leg Herald's call dialled (the agent's phone): the call it came from.
    parent_sid: str | None = None
    transfer: TransferEnd | None = None  # a transfer's end, when the request reports one

    @property
    def text(self) -> str:
        return self.body


class Channel(Protocol):
    """One provider for one channel kind ("voice", "sms" or "email").

    To add one:
    1. Create `channels/<name>.py` with a class `<Provider><Kind>Channel` and a stable `key`
       (`"twilio_sms"`); it only talks to the wire: no database, no templates, no retries.
    2. `send` places the message and returns a Receipt, raising TransientChannelError or
       PermanentChannelError (never a provider-specific exception).
    3. `find_sent` lists matching messages at the provider after a crash between acceptance and our
       commit, so a re-run job adopts it instead of sending twice (None when the provider cannot
       be asked, e.g. SMTP: an empty list).
    4. `status_of` fetches one message's current status by its provider id (None when the
       provider does not know it, or cannot be asked, e.g. SMTP): the sweep asks it about a send
       whose status callback never arrived (alerts.delivery.reconcile).
    5. `verify` checks a webhook's signature; `parse_status` / `parse_inbound` turn webhook
       parameters into StatusUpdate / InboundMessage.
    6. Add it to the explicit registry in `herald/wiring.py`, chosen by settings.
    7. A channel customers answer on (voice, SMS) is also an `AnsweringChannel` (below): it
       names its signature header and renders Herald's answers to its webhooks.
    """

    key: str
    kind: str

    async def send(self, message: OutboundMessage) -> Receipt: ...

    async def find_sent(self, message: OutboundMessage, since: datetime) -> list[Receipt]: ...

    async def status_of(self, provider_sid: str) -> StatusUpdate | None: ...

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool: ...

    def parse_status(self, params: Mapping[str, str]) -> StatusUpdate: ...

    def parse_inbound(self, params: Mapping[str, str]) -> InboundMessage: ...

    async def close(self) -> None: ...


@runtime_checkable
class AnsweringChannel(Channel, Protocol):
    """A channel customers answer on (voice, SMS): its webhooks carry their keys and replies,
    and it renders Herald's answer to them on its own wire.

    To make a channel answerable, on top of the steps of ``Channel``:
    1. `signature_header` names the HTTP header carrying the webhook signature `verify` checks.
    2. `parse_inbound` fills every field of InboundMessage the provider sends (keys pressed,
       answered-by, the parent call of a dialled leg, how a transfer ended).
    3. `reply` renders a VoiceScript (a call) or a TextReply (an SMS) in the provider's format
       (`channels.twiml` for Twilio); the alert domain only ever builds those two.
    """

    signature_header: str

    def reply(self, what: VoiceScript | TextReply) -> WebhookReply: ...


# Found once per channel object (the channel is kept, so its id is not reused): checking a
# runtime protocol inspects every one of its members, twice per webhook otherwise.
_ANSWERING: dict[int, tuple[Channel, AnsweringChannel]] = {}


def answering(channel: Channel) -> AnsweringChannel:
    """``channel`` as one customers answer on; a failover group answers as its first provider
    (its providers share one wire format, as they share ``parse_inbound``)."""
    known = _ANSWERING.get(id(channel))
    if known is not None and known[0] is channel:
        return known[1]
    for candidate in (channel, *getattr(channel, "providers", ())):
        if isinstance(candidate, AnsweringChannel):
            if len(_ANSWERING) >= 64:
                _ANSWERING.clear()
            _ANSWERING[id(channel)] = (channel, candidate)
            return candidate
    raise TypeError(f"channel {channel.key!r} cannot take answers: no reply or signature_header")
