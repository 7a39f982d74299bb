"""Email bounces: delivery status notifications (RFC 3464) sent back to the envelope sender
turn a sent email attempt into a failed one, so the customer's next channel follows."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from alerts.columns import utcnow
from alerts.delivery.statuses import apply_status
from alerts.deps import AlertDeps
from channels.base import StatusUpdate
from channels.email_smtp import smtp_contact_problem

logger = logging.getLogger(__name__)
VERP = re.compile(r"bounce\+a(\d+)@", re.IGNORECASE)
MESSAGE_ID = re.compile(r"attempt-(\d+)@herald", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Bounce:
    attempt_id: int
    action: str  # "failed" | "delayed" | "delivered" | "relayed" | "expanded"
    status: str  # e.g. "5.1.1"
    diagnostic: str


def _fields(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    groups: list[dict[str, str]] = []
    if isinstance(payload, list):  # the email package parses each group as a sub-message
        for group in payload:
            if isinstance(group, Message):
                groups.append({k.lower(): str(v) for k, v in group.items()})
    else:
        for block in str(payload).strip().split("\n\n"):
            fields = {}
            for line in block.splitlines():
                if ":" in line:
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
            groups.append(fields)
    return groups


def parse_dsn(raw: bytes, *, envelope_recipients: list[str] | None = None) -> Bounce | None:
    """The bounce this message reports, or None when it is not a DSN about one of our emails."""
    msg: EmailMessage = message_from_bytes(raw, _class=EmailMessage, policy=policy.default)
    if msg.get_content_type() != "multipart/report":
        return None
    attempt_id = None
    for rcpt in envelope_recipients or []:
        if m := VERP.search(rcpt):
            attempt_id = int(m.group(1))
    action = status = diagnostic = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            for group in _fields(part):
                action = group.get("action", action).lower()
                status = group.get("status", status)
                diagnostic = group.get("diagnostic-code", diagnostic)
        elif (
            ctype in ("text/rfc822-headers", "message/rfc822")
            and attempt_id is None
            and (m := MESSAGE_ID.search(part.as_string()))
        ):
            attempt_id = int(m.group(1))
    if attempt_id is None or not action:
        return None
    return Bounce(
        attempt_id=attempt_id,
        action=action,
        status=status,
        diagnostic=diagnostic.split(";", 1)[-1].strip(),
    )


async def apply_bounce(*, deps: AlertDeps, bounce: Bounce) -> str:
    """A permanent failure fails the attempt (the plan moves on); delays are only recorded."""
    if bounce.action != "failed":
        logger.info("DSN %s for attempt_id=%s ignored", bounce.action, bounce.attempt_id)
        return "ignored"
    reason = f"bounced ({bounce.status}): {bounce.diagnostic}".strip()[:200]
    update = StatusUpdate(
        provider_sid="",
        status="failed",
        provider_status="bounced",
        error_code=reason,
        contact_problem=smtp_contact_problem(bounce.status),
    )
    return await apply_status(deps=deps, attempt_id=bounce.attempt_id, update=update, now=utcnow())
