"""Logging set-up for the CLI: one readable line per event, ids included, no PII in full."""

from __future__ import annotations

import logging


def configure(level: str = "INFO", *, quiet: bool = False) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    for noisy in ("arq", "httpx", "aiosqlite", "twilio", "mail.log", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
