"""SMTP email channel: multipart text + HTML through aiosmtplib, with a deterministic Message-ID."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from channels.base import (
    ChannelError,
    ConfigurationChannelError,
    ContactProblem,
    InboundMessage,
    OutboundMessage,
    PermanentChannelError,
    Receipt,
    StatusUpdate,
    TransientChannelError,
)
from channels.masking import mask

# An email address inside a mail server's reply ("550 5.1.1 <ada@example.com>: no such user").
_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]@]+@[^\s<>\"'(),;:\[\]@]+")


def _masked(text: str) -> str:
    """A mail server's words with every address in them masked: errors end up in the logs."""
    return _ADDRESS.sub(lambda m: mask(m.group(0)), text)


def bounce_address(attempt_id: int, domain: str) -> str:
    """The envelope sender (VERP): a bounce names the attempt it is about."""
    return f"bounce+a{attempt_id}@{domain}"


REUSE_IDLE_S = 30.0  # an open connection idle longer is closed, not used (servers drop them)

# Enhanced status codes (RFC 3463) that say the mailbox or its domain does not exist.
_NO_SUCH_ADDRESS = re.compile(r"\b5\.1\.[12]\b")


def smtp_contact_problem(text: str | None) -> ContactProblem | None:
    """What an SMTP reply or a bounce's status says about the address ("5.1.1": no mailbox)."""
    return "invalid_address" if text and _NO_SUCH_ADDRESS.search(text) else None


def classify_smtp(exc: aiosmtplib.SMTPException, *, to: str) -> ChannelError:
    """Map an SMTP failure to Herald's error tree (channels.base)."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError) or (
        isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code in (530, 535)
    ):
        return ConfigurationChannelError(
            f"the mail server refused Herald's login: {_masked(str(exc))}", code="smtp-auth"
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPConnectTimeoutError):
        return TransientChannelError(f"cannot reach the mail server ({_masked(str(exc))})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        said = "; ".join(f"{r.code} {_masked(r.message)}" for r in exc.recipients)
        return PermanentChannelError(
            f"the mail server refused {mask(to)}: {said}",
            contact_problem=smtp_contact_problem(said),
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        said = f"the mail server answered {exc.code} {_masked(exc.message)}"
        if 500 <= exc.code < 600:
            return PermanentChannelError(
                said, code=str(exc.code), contact_problem=smtp_contact_problem(exc.message)
            )
        return TransientChannelError(said, code=str(exc.code))
    return TransientChannelError(
        f"the mail server did not answer clearly ({_masked(str(exc))})", ambiguous=True
    )


class SmtpEmailChannel:
    """Sends through an SMTP relay (or Herald's local sink).

    A connection stays open after a send and carries the next one (no connect, greeting,
    EHLO and login per message); any error closes it.

    SMTP cannot be asked what it already accepted, so a job re-run after a crash between the
    relay's 250 reply and our commit sends again with the same Message-ID; mail clients and most
    mailbox providers collapse messages with equal Message-IDs.
    """

    key = "smtp_email"
    kind = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
        bounce_domain: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.from_address = from_address
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.bounce_domain = bounce_domain
        # Connections left open by finished sends (one per send running at once).
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    def build(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = message.to
        mail["Subject"] = message.subject or "Alert"
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message.message_id or f"<attempt-{message.attempt_id}@herald>"
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: OutboundMessage) -> Receipt:
        mail = self.build(message)
        sender = (
            bounce_address(message.attempt_id, self.bounce_domain) if self.bounce_domain else None
        )
        try:
            client = await self._client()
            try:
                await client.send_message(mail, sender=sender)
            except BaseException:
                client.close()  # a connection in an unknown state is never used again
                raise
        except aiosmtplib.SMTPException as exc:
            raise classify_smtp(exc, to=message.to) from exc
        except (OSError, TimeoutError) as exc:
            raise TransientChannelError(
                f"cannot reach the mail server {self.host}:{self.port} ({_masked(str(exc))})"
            ) from exc
        self._idle.append((client, time.monotonic()))
        return Receipt(provider_sid=str(mail["Message-ID"]), status="sent")

    async def _client(self) -> aiosmtplib.SMTP:
        """A connection to the relay, logged in: one left open by an earlier send (used again
        only within REUSE_IDLE_S, well inside any server's idle timeout), else a new one."""
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < REUSE_IDLE_S:
                return client
            client.close()
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        await client.connect()
        return client

    async def find_sent(self, message: OutboundMessage, since: datetime) -> list[Receipt]:
        return []

    async def status_of(self, provider_sid: str) -> StatusUpdate | None:
        return None  # an SMTP server cannot be asked about a message it took

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        return False  # email answers come through signed links, not provider webhooks

    def parse_status(self, params: Mapping[str, str]) -> StatusUpdate:
        raise NotImplementedError("SMTP has no status webhooks")

    def parse_inbound(self, params: Mapping[str, str]) -> InboundMessage:
        raise NotImplementedError("email replies are not read")

    async def close(self) -> None:
        """Say goodbye on the connections left open."""
        idle, self._idle = self._idle, []
        for client, _since in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
