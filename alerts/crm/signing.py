"""The signature on every outbound webhook: HMAC-SHA256 over ``<timestamp>.<body>``.

Header ``Herald-Signature: t=<unix seconds>,v1=<hex digest>``. A receiver recomputes the digest
with the subscription's secret, compares in constant time, and refuses a timestamp older than its
replay window (five minutes is the default of ``verify``); ``Herald-Event-Id`` lets it drop an
event it has already processed, since a delivery may arrive twice (at least once, never lost).
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Herald-Signature"
EVENT_HEADER = "Herald-Event-Id"
REPLAY_WINDOW_S = 300


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The value of the ``Herald-Signature`` header for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    now: float | None = None,
    window_s: int = REPLAY_WINDOW_S,
) -> str | None:
    """None when ``header`` signs ``body`` with ``secret`` within the window, else why not."""
    if not header:
        return f"no {HEADER} header"
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return "the signature has no timestamp"
    current = time.time() if now is None else now
    if abs(current - t) > window_s:
        return f"the signature is {abs(current - t):.0f} s old (window {window_s} s)"
    expected = sign(secret, body, timestamp=t).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        return "the signature does not match the body"
    return None
