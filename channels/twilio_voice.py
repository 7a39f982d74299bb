"""Twilio voice channel: place calls, call-status callbacks, keypad input and transfers, the
call scripts as TwiML (``channels.twiml``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from channels import twiml
from channels.base import InboundMessage, OutboundMessage, Receipt, StatusUpdate, TransferEnd
from channels.scripts import TextReply, VoiceScript, WebhookReply
from channels.twilio_common import (
    TwilioAccount,
    classify,
    contact_problem,
    describe_error,
    unknown_to_twilio,
)

CALL_STATUS = {
    "queued": "sent",
    "initiated": "sent",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
}
# <Dial action>: DialCallStatus of the dialled leg. "canceled": the caller hung up while it rang.
DIAL_END: dict[str, TransferEnd] = {
    "completed": "talked",
    "answered": "talked",
    "busy": "unanswered",
    "no-answer": "unanswered",
    "failed": "failed",
    "canceled": "abandoned",
}
# <Enqueue action>: QueueResult, why the caller left the queue.
QUEUE_END: dict[str, TransferEnd] = {
    "bridged": "talked",
    "redirected-from-bridged": "talked",
    "hangup": "abandoned",
    "leave": "unanswered",
    "redirected": "unanswered",
    "queue-full": "failed",
    "error": "failed",
    "system-error": "failed",
}


def transfer_end(params: Mapping[str, str]) -> TransferEnd | None:
    """How the transfer a <Dial> or <Enqueue> action reports ended (None: not such a request,
    or an outcome Twilio added since)."""
    if "DialCallStatus" in params:
        return DIAL_END.get(params["DialCallStatus"])
    if "QueueResult" in params:
        return QUEUE_END.get(params["QueueResult"])
    return None


class TwilioVoiceChannel:
    key = "twilio_voice"
    kind = "voice"
    signature_header = "X-Twilio-Signature"

    def __init__(self, account: TwilioAccount, *, ring_timeout: int = 30) -> None:
        self.account = account
        self.ring_timeout = ring_timeout

    async def send(self, message: OutboundMessage) -> Receipt:
        if not message.twiml_url:
            raise ValueError("a voice message needs twiml_url")
        kwargs: dict[str, object] = {
            "to": message.to,
            "from_": self.account.from_number,
            "url": message.twiml_url,
            "method": "POST",
            "timeout": self.ring_timeout,
            "machine_detection": "Enable",
        }
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
            kwargs["status_callback_method"] = "POST"
            kwargs["status_callback_event"] = ["initiated", "ringing", "answered", "completed"]
        try:
            call = await self.account.client().calls.create_async(**kwargs)
        except Exception as exc:
            raise classify(exc, action="placing the call", kind="voice") from exc
        return Receipt(provider_sid=str(call.sid), status=CALL_STATUS.get(str(call.status), "sent"))

    async def find_sent(self, message: OutboundMessage, since: datetime) -> list[Receipt]:
        try:
            calls = await self.account.client().calls.list_async(
                to=message.to, from_=self.account.from_number, limit=50
            )
        except Exception as exc:
            raise classify(exc, action="looking up calls", kind="voice") from exc
        found = [c for c in calls if c.date_created is None or c.date_created >= since]
        found.sort(key=lambda c: c.date_created or since, reverse=True)
        return [
            Receipt(provider_sid=str(c.sid), status=CALL_STATUS.get(str(c.status), "sent"))
            for c in found
        ]

    async def status_of(self, provider_sid: str) -> StatusUpdate | None:
        """The call's status as Twilio has it now (None: Twilio does not know the sid)."""
        try:
            call = await self.account.client().calls(provider_sid).fetch_async()
        except Exception as exc:
            if unknown_to_twilio(exc):
                return None
            raise classify(exc, action="looking up the call", kind="voice") from exc
        return self.parse_status(
            {
                "CallSid": str(call.sid),
                "CallStatus": str(call.status),
                "AnsweredBy": str(call.answered_by or ""),
            }
        )

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        return self.account.verify(url, params, signature)

    def parse_status(self, params: Mapping[str, str]) -> StatusUpdate:
        provider_status = params.get("CallStatus", "")
        code = params.get("ErrorCode") or None
        return StatusUpdate(
            provider_sid=params.get("CallSid", ""),
            status=CALL_STATUS.get(provider_status),
            provider_status=provider_status,
            error_code=describe_error(code) if code else None,
            contact_problem=contact_problem("voice", code),
            answered_by=params.get("AnsweredBy") or None,
        )

    def parse_inbound(self, params: Mapping[str, str]) -> InboundMessage:
        """A request in a call: keys from <Gather>, the answered call's TwiML fetch, a dialled
        leg's whisper (ParentCallSid), the end of a <Dial> or <Enqueue>."""
        digits = params.get("Digits", "")
        return InboundMessage(
            provider_sid=params.get("CallSid", ""),
            from_address=params.get("To", ""),  # outbound call: the customer is `To`
            to_address=params.get("From", ""),
            body=digits,
            digits=digits,
            answered_by=params.get("AnsweredBy") or None,
            parent_sid=params.get("ParentCallSid") or None,
            transfer=transfer_end(params),
        )

    def reply(self, what: VoiceScript | TextReply) -> WebhookReply:
        return twiml.render(what)

    async def close(self) -> None:
        await self.account.close()
