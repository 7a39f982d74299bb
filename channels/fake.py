"""A scripted in-memory channel for unit tests: records what it was asked to send."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime

from channels.base import (
    ChannelError,
    InboundMessage,
    OutboundMessage,
    Receipt,
    StatusUpdate,
    TransferEnd,
)
from channels.scripts import TextReply, VoiceScript, WebhookReply

TRANSFER_ENDS: dict[str, TransferEnd] = {
    "talked": "talked",
    "abandoned": "abandoned",
    "unanswered": "unanswered",
    "failed": "failed",
}


class FakeChannel:
    """Sends succeed unless `failures` holds errors to raise first (one per send)."""

    signature_header = "X-Fake-Signature"

    def __init__(self, kind: str = "sms", key: str = "fake") -> None:
        self.kind = kind
        self.key = key
        self.sent: list[OutboundMessage] = []
        self.failures: list[ChannelError] = []
        self.replies: list[VoiceScript | TextReply] = []
        # What ``status_of`` answers, by provider sid (a sid not here: the provider has no news).
        self.provider_statuses: dict[str, StatusUpdate] = {}
        self.lookups: list[str] = []

    async def send(self, message: OutboundMessage) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return Receipt(provider_sid=f"{self.key}-{len(self.sent)}", status="sent")

    async def find_sent(self, message: OutboundMessage, since: datetime) -> list[Receipt]:
        return [
            Receipt(provider_sid=f"{self.key}-{i + 1}", status="sent")
            for i, m in enumerate(self.sent)
            if m.attempt_id == message.attempt_id
        ]

    async def status_of(self, provider_sid: str) -> StatusUpdate | None:
        self.lookups.append(provider_sid)
        return self.provider_statuses.get(provider_sid)

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        return signature == f"signed-by-{self.key}"

    def parse_status(self, params: Mapping[str, str]) -> StatusUpdate:
        return StatusUpdate(
            provider_sid=params.get("sid", ""),
            status=params.get("status"),
            provider_status=params.get("status", ""),
        )

    def parse_inbound(self, params: Mapping[str, str]) -> InboundMessage:
        return InboundMessage(
            provider_sid=params.get("sid", ""),
            from_address=params["from"],
            to_address=params.get("to", ""),
            body=params.get("body", params.get("digits", "")),
            digits=params.get("digits", ""),
            answered_by=params.get("answered_by"),
            parent_sid=params.get("parent"),
            transfer=TRANSFER_ENDS.get(params.get("transfer", "")),
        )

    def reply(self, what: VoiceScript | TextReply) -> WebhookReply:
        """The script or replies as JSON (and kept in `replies` for the test to read)."""
        self.replies.append(what)
        body = {"type": type(what).__name__, **asdict(what)}
        return WebhookReply(body=json.dumps(body), media_type="application/json")

    async def close(self) -> None:
        """Nothing to close."""
