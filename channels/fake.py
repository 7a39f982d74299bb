"""A scripted in-memory channel for unit tests: records what it was asked to send."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from channels.base import (
    ChannelError,
    InboundMessage,
    OutboundMessage,
    Receipt,
    StatusUpdate,
)


class FakeChannel:
    """Sends succeed unless `failures` holds errors to raise first (one per send)."""

    def __init__(self, kind: str = "sms", key: str = "fake") -> None:
        self.kind = kind
        self.key = key
        self.sent: list[OutboundMessage] = []
        self.failures: list[ChannelError] = []

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
            body=params.get("body", ""),
        )

    async def close(self) -> None:
        """Nothing to close."""
