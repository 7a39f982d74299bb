"""The SMTP channel's errors (which are logged and stored) never carry a full email address.

A real SMTP server (aiosmtpd) refuses the recipient, or the message, quoting the address back as
mail servers do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.base import OutboundMessage, PermanentChannelError
from channels.email_smtp import SmtpEmailChannel
from herald.embedded import free_port, start_smtp_server

TO = "ada.lovelace@example.com"


class Refusing:
    """Refuses the recipient at RCPT (``stage="rcpt"``) or the message at DATA."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.stage == "rcpt":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return f"554 5.7.1 <{envelope.rcpt_tos[0]}>: message refused as spam"


@pytest.fixture(params=["rcpt", "data"])
def refusing_server(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    controller = start_smtp_server(Refusing(request.param), port, what="test server", fix="")
    try:
        yield port
    finally:
        controller.stop()


async def test_a_refusal_names_the_recipient_masked(refusing_server: int) -> None:
    channel = SmtpEmailChannel(
        host="127.0.0.1", port=refusing_server, from_address="alerts@herald.example"
    )
    message = OutboundMessage(attempt_id=7, alert_id=3, to=TO, text="hello", subject="s")
    with pytest.raises(PermanentChannelError) as info:
        await channel.send(message)
    said = str(info.value)
    assert "5.1.1" in said or "5.7.1" in said  # the server's reason is kept
    assert "a***@example.com" in said
    assert TO not in said and "ada.lovelace" not in said
