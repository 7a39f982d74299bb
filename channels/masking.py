"""PII masking for logs: phone numbers and email addresses never appear in full."""

from __future__ import annotations


def mask(address: str) -> str:
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) > 4:
        return f"{address[:3]}***{address[-2:]}"
    return "***"
