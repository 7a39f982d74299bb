"""The SMTP channel keeps its connection to the relay open between sends (no connect, greeting
and EHLO per message), never reuses one after an error, and says goodbye on close.

A real SMTP server (aiosmtpd) counts the connections it was given and the messages it took.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.base import OutboundMessage, PermanentChannelError
from channels.email_smtp import SmtpEmailChannel
from herald.embedded import free_port, start_smtp_server


class Counting:
    """Takes every message except to ``refuse@example.com``; counts EHLOs (one per connection)."""

    def __init__(self) -> None:
        self.ehlo = 0
        self.taken: list[str] = []

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.ehlo += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == "refuse@example.com":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.taken.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def server() -> Iterator[tuple[Counting, int]]:
    handler, port = Counting(), free_port()
    controller = start_smtp_server(handler, port, what="test server", fix="")
    try:
        yield handler, port
    finally:
        controller.stop()


def _message(n: int, to: str) -> OutboundMessage:
    return OutboundMessage(attempt_id=n, alert_id=n, to=to, text="hello", subject="s")


async def test_one_connection_carries_many_sends(server: tuple[Counting, int]) -> None:
    handler, port = server
    channel = SmtpEmailChannel(host="127.0.0.1", port=port, from_address="alerts@herald.example")
    for n in range(5):
        await channel.send(_message(n, f"c{n}@example.com"))
    assert handler.taken == [f"c{n}@example.com" for n in range(5)]
    assert handler.ehlo == 1
    await channel.close()


async def test_an_error_closes_the_connection_and_the_next_send_opens_one(
    server: tuple[Counting, int],
) -> None:
    handler, port = server
    channel = SmtpEmailChannel(host="127.0.0.1", port=port, from_address="alerts@herald.example")
    await channel.send(_message(1, "a@example.com"))
    with pytest.raises(PermanentChannelError):
        await channel.send(_message(2, "refuse@example.com"))
    await channel.send(_message(3, "b@example.com"))
    assert handler.taken == ["a@example.com", "b@example.com"]
    assert handler.ehlo == 2  # the refused send's connection was not used again
    await channel.close()


async def test_sends_at_once_each_get_a_connection(server: tuple[Counting, int]) -> None:
    import asyncio

    handler, port = server
    channel = SmtpEmailChannel(host="127.0.0.1", port=port, from_address="alerts@herald.example")
    await asyncio.gather(*(channel.send(_message(n, f"c{n}@example.com")) for n in range(4)))
    await asyncio.gather(*(channel.send(_message(n, f"d{n}@example.com")) for n in range(4)))
    assert sorted(handler.taken) == sorted(
        [f"c{n}@example.com" for n in range(4)] + [f"d{n}@example.com" for n in range(4)]
    )
    assert handler.ehlo <= 4  # the second round used the connections the first left open
    await channel.close()
