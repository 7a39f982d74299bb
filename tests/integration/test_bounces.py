"""Email bounces: a DSN returned to the VERP envelope sender fails the email attempt, and the
customer's next channel follows; delays and foreign mail change nothing."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest
from sqlmodel import select

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.delivery.bounces import parse_dsn
from alerts.models import DeliveryAttempt
from herald.embedded import BounceReceiver, free_port
from herald.stack import dsn_handler
from herald.worker import drain
from tests.conftest import Stack
from tests.factories import attempts_of, make_customer, make_event

pytestmark = pytest.mark.integration


def dsn(attempt_id: int, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery status notification as a mail server writes it (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.example.net\r\n"
        f"To: bounce+a{attempt_id}@bounces.herald.invalid\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; nobody@example.com\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <alert-1.attempt-{attempt_id}@herald>\r\n\r\n"
        "--B--\r\n"
    ).encode()


def test_parse_dsn_finds_the_attempt_and_reason() -> None:
    raw = dsn(42)
    bounce = parse_dsn(raw, envelope_recipients=["bounce+a42@bounces.herald.invalid"])
    assert bounce is not None and (bounce.attempt_id, bounce.action) == (42, "failed")
    assert bounce.status == "5.1.1" and "user unknown" in bounce.diagnostic
    assert parse_dsn(raw, envelope_recipients=[]) is not None  # from the returned headers
    plain = EmailMessage()
    plain.set_content("hello")
    assert parse_dsn(plain.as_bytes()) is None


async def test_a_bounce_moves_the_alert_to_the_next_channel(stack: Stack) -> None:
    deps = stack.runtime.deps
    await make_customer(deps, email="nobody@example.com", order=("email", "sms"))
    await make_event(deps)
    [alert_id] = await evaluate_pending(deps=deps, now=utcnow())
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    assert stack.sink.messages  # sent; the relay accepted it
    receiver = BounceReceiver(port=free_port(), on_dsn=dsn_handler(deps)).start()
    try:
        async with deps.sessions() as session:
            [email] = (await session.exec(select(DeliveryAttempt))).all()
        assert email.status == "sent"
        for action in ("delayed", "failed"):
            await aiosmtplib.send(
                dsn(email.id or 0, action=action),
                hostname="127.0.0.1",
                port=receiver.port,
                sender="MAILER-DAEMON@mx.example.net",
                recipients=[f"bounce+a{email.id}@bounces.herald.invalid"],
            )
    finally:
        receiver.stop()
    await drain(stack.runtime, wait_deferred=True, timeout=30, idle_check=stack.idle)
    attempts = await attempts_of(deps, alert_id)
    assert [(a.channel, a.status) for a in attempts] == [("email", "failed"), ("sms", "delivered")]
    assert "550 5.1.1" in (attempts[0].error or "") and "bounced" in (attempts[0].error or "")
