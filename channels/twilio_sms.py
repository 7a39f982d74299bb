"""Twilio SMS channel: send, message-status callbacks, inbound replies and the answers to them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from channels import twiml
from channels.base import InboundMessage, OutboundMessage, Receipt, StatusUpdate
from channels.scripts import TextReply, VoiceScript, WebhookReply
from channels.twilio_common import (
    TwilioAccount,
    classify,
    contact_problem,
    describe_error,
    unknown_to_twilio,
)

MESSAGE_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "canceled",
}


class TwilioSmsChannel:
    key = "twilio_sms"
    kind = "sms"
    signature_header = "X-Twilio-Signature"

    def __init__(self, account: TwilioAccount) -> None:
        self.account = account

    async def send(self, message: OutboundMessage) -> Receipt:
        kwargs: dict[str, object] = {
            "to": message.to,
            "from_": self.account.from_number,
            "body": message.text,
        }
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        try:
            sms = await self.account.client().messages.create_async(**kwargs)
        except Exception as exc:
            raise classify(exc, action="sending the SMS", kind="sms") from exc
        return Receipt(
            provider_sid=str(sms.sid), status=MESSAGE_STATUS.get(str(sms.status), "sent")
        )

    async def find_sent(self, message: OutboundMessage, since: datetime) -> list[Receipt]:
        try:
            found = await self.account.client().messages.list_async(
                to=message.to, from_=self.account.from_number, limit=50
            )
        except Exception as exc:
            raise classify(exc, action="looking up messages", kind="sms") from exc
        same = [
            m
            for m in found
            if m.body == message.text and (m.date_created is None or m.date_created >= since)
        ]
        same.sort(key=lambda m: m.date_created or since, reverse=True)
        return [
            Receipt(provider_sid=str(m.sid), status=MESSAGE_STATUS.get(str(m.status), "sent"))
            for m in same
        ]

    async def status_of(self, provider_sid: str) -> StatusUpdate | None:
        """The message's status as Twilio has it now (None: Twilio does not know the sid)."""
        try:
            sms = await self.account.client().messages(provider_sid).fetch_async()
        except Exception as exc:
            if unknown_to_twilio(exc):
                return None
            raise classify(exc, action="looking up the message", kind="sms") from exc
        code = sms.error_code
        return self.parse_status(
            {
                "MessageSid": str(sms.sid),
                "MessageStatus": str(sms.status),
                "ErrorCode": str(code) if code else "",
            }
        )

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        return self.account.verify(url, params, signature)

    def parse_status(self, params: Mapping[str, str]) -> StatusUpdate:
        provider_status = params.get("MessageStatus") or params.get("SmsStatus") or ""
        code = params.get("ErrorCode") or None
        return StatusUpdate(
            provider_sid=params.get("MessageSid") or params.get("SmsSid") or "",
            status=MESSAGE_STATUS.get(provider_status),
            provider_status=provider_status,
            error_code=describe_error(code) if code else None,
            contact_problem=contact_problem("sms", code),
        )

    def parse_inbound(self, params: Mapping[str, str]) -> InboundMessage:
        return InboundMessage(
            provider_sid=params.get("MessageSid") or params.get("SmsSid") or "",
            from_address=params.get("From", ""),
            to_address=params.get("To", ""),
            body=(params.get("Body") or "").strip(),
        )

    def reply(self, what: VoiceScript | TextReply) -> WebhookReply:
        """The <Message> replies to an inbound SMS (TwiML)."""
        return twiml.render(what)

    async def close(self) -> None:
        """The shared TwilioAccount is closed by the voice channel or the composition root."""
