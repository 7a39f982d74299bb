"""Reading the JSON API's error envelope in tests: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

from typing import Any

import httpx

ENVELOPE_KEYS = {"code", "message", "details", "hint", "info"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of an envelope answer (failing when the body is not one)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == ENVELOPE_KEYS, error
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    return error


def lines_of(response: httpx.Response) -> list[str]:
    """The envelope's per-problem lines ("field: problem"), in order."""
    return [str(d["message"]) for d in error_of(response)["details"]]
