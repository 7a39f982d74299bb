"""Jinja2 page rendering for the browser UI: templates, time-zone filters, safe response headers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from alerts.access import allowed
from alerts.responses.record import INTENT_TEXT
from channels.i18n import LANGUAGES, SOURCE_LANGUAGE, translations

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"  # Herald's own scripts (the studio's)

# Pages carry their own inline CSS and nothing else: no scripts, no external resources.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def zone(name: str | None) -> ZoneInfo:
    """The customer's IANA zone; UTC when it is missing or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | str | None, tz: str | None = None) -> str:
    """`2024-05-01 14:03 CEST (Europe/Berlin)`: a stored UTC time in the customer's zone."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    where = zone(tz)
    shown = moment.astimezone(where)
    return f"{shown:%Y-%m-%d %H:%M:%S} {shown.tzname()} ({where.key})"


def clock(value: datetime | str | None, tz: str | None = None) -> str:
    """`14:03 CET`, or `Mon 6 Dec 14:03 CET` when not today: a short time for a busy reader
    (the agent console), in the customer's zone."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    where = zone(tz)
    shown = moment.astimezone(where)
    if shown.date() == datetime.now(UTC).astimezone(where).date():
        return f"{shown:%H:%M} {shown.tzname()}"
    return f"{shown:%a} {shown.day} {shown:%b %H:%M} {shown.tzname()}"


def intent_words(intent: str | None) -> str:
    return INTENT_TEXT.get(intent or "", intent or "no answer")


def form_day(value: str) -> date | None:
    """A date typed in a form (YYYY-MM-DD), or None when it is empty or not a date."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def not_a_day(value: str) -> str:
    return f"“{value}” is not a date: use the form 2025-01-31"


def can(user: Any, capability: str) -> bool:
    """In templates: does the logged-in staff user's role hold `capability`?"""
    return user is not None and allowed(str(user.role), capability)


def _environment(language: str = SOURCE_LANGUAGE) -> jinja2.Environment:
    """The templates in one language: ``_()`` and ``{% trans %}`` read its catalogue."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local_time"] = local_time
    env.filters["intent_words"] = intent_words
    env.filters["clock"] = clock
    env.globals["can"] = can
    return env


templates = Jinja2Templates(env=_environment())
# The customers' pages in each of Herald's languages (staff pages stay in English).
localised = {language: Jinja2Templates(env=_environment(language)) for language in LANGUAGES}


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: str = SOURCE_LANGUAGE,
) -> HTMLResponse:
    """Render one template with the defaults every page needs and the security headers, in
    ``language`` (one of channels.i18n.LANGUAGES: a customer's page; <html lang> says it)."""
    ctx: dict[str, Any] = {
        "user": None,
        "csrf_token": "",
        "title": "Herald",
        "lang": language,
        **(context or {}),
    }
    response = localised.get(language, templates).TemplateResponse(
        request, name, ctx, status_code=status_code, headers=SECURITY_HEADERS
    )
    return response
