"""Logging set-up: readable lines (default) or JSON objects, ids as fields, contacts masked.

``HERALD_LOG_FORMAT=json`` writes one JSON object per line: time, level, logger, message, the
ids the message names (``alert_id=12`` becomes ``"alert_id": 12``; ``extra={"alert_id": 12}``
works too) and the exception, if any. Phone numbers and email addresses that reach a log line
unmasked are masked on the way out (``channels.masking``), in every format.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from channels.masking import mask

NOISY = ("arq", "httpx", "aiosqlite", "twilio", "mail.log", "uvicorn.access", "alembic")
# The ids that join a log line to data (house style: every line carries them).
ID_FIELDS = (
    "alert_id",
    "attempt_id",
    "file_id",
    "file_sha256",
    "provider_sid",
    "handoff_id",
    "customer_id",
    "event_id",
    "job_id",
)
_ID_IN_TEXT = re.compile(r"\b(" + "|".join(ID_FIELDS) + r")=([\w.:-]+)")
# An email address, or an E.164-looking phone number (a + and 8-15 digits).
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\+\d{8,15}\b")


def mask_contacts(text: str) -> str:
    """Mask every email address and phone number in ``text`` (already masked ones stay)."""
    return _CONTACT.sub(lambda m: mask(m.group(0)), text)


def _value(raw: str) -> int | str:
    return int(raw) if raw.isdigit() else raw


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for a log collector (Loki, Elasticsearch, CloudWatch)."""

    def format(self, record: logging.LogRecord) -> str:
        message = mask_contacts(record.getMessage())
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for name, raw in _ID_IN_TEXT.findall(message):
            entry.setdefault(name, _value(raw))
        for name in ID_FIELDS:
            if name in record.__dict__ and record.__dict__[name] is not None:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = mask_contacts(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """The readable line, with contact points masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_contacts(super().format(record))


def configure(level: str = "INFO", *, quiet: bool = False, json_format: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_format
        else MaskingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    logging.basicConfig(
        level=logging.WARNING if quiet else getattr(logging, level.upper(), logging.INFO),
        handlers=[handler],
        force=True,
    )
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
