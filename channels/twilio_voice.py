"""Twilio voice channel: place calls, call-status callbacks, keypad input (TwiML: alerts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from channels.base import InboundMessage, OutboundMessage, Receipt, StatusUpdate
from channels.twilio_common import TwilioAccount, classify, contact_problem, describe_error

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


class TwilioVoiceChannel:
    key = "twilio_voice"
    kind = "voice"

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
        """Keypad input from <Gather>: the digits are the body."""
        return InboundMessage(
            provider_sid=params.get("CallSid", ""),
            from_address=params.get("To", ""),  # outbound call: the customer is `To`
            to_address=params.get("From", ""),
            body=params.get("Digits", ""),
        )

    async def close(self) -> None:
        await self.account.close()
