"""View code of the studio: the editor form as a specification, sample values, page headers."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict

from fastapi import Request
from pydantic import JsonValue
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from admin_ui.rendering import page
from admin_ui.security import StaffUser, csrf_token
from alerts.alert_types.drafts import CHANNEL_WORDS, LANGUAGES, language_name
from alerts.alert_types.review import FILE_EXAMPLES
from alerts.alert_types.store import stored_spec
from alerts.alert_types.translations import missing_translations
from alerts.decisions.evaluate import alert_context
from alerts.deps import AlertDeps
from alerts.models import Customer, Event
from rules.alert_types import OPTIONAL_TEMPLATES, REQUIRED_TEMPLATES
from rules.catalogue import default_catalogue
from rules.vocabulary import CHANNELS, Channel

# The studio's pages run one script of Herald's own (studio.js) and frame the email preview.
STUDIO_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; media-src 'self'; frame-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'"
)
# The email preview, framed by the preview page: the email's own inline styles, nothing else.
EMAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
FLASH = "studio_flash"
_FIELD = re.compile(r"content\.([A-Za-z0-9-]+)\.(voice|sms|email)\.([a-z_]+)")
# The templates the editor shows per channel, in order, with their labels.
TEMPLATE_FIELDS: dict[Channel, list[tuple[str, str]]] = {
    "sms": [("body", "Text message")],
    "voice": [
        ("message", "What the call says (a blank line starts a new part)"),
        ("prompt", "Menu (asked after the message; empty: the answers)"),
        ("reprompt", "Second chance (after silence or a wrong key; empty: the menu again)"),
        ("voicemail", "Voicemail (left when an answering machine picks up)"),
        (
            "english_offer",
            "Offer English (e.g. “For English, press 8.”; 8 replays the call"
            " in English; empty: not offered)",
        ),
    ],
    "email": [
        ("subject", "Subject"),
        ("text", "Text"),
        ("html", "HTML body (empty: made from the text)"),
    ],
}


def studio_page(
    request: Request,
    template: str,
    user: StaffUser,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    flash = request.session.pop(FLASH, None)
    context = {
        "user": user,
        "csrf_token": csrf_token(request),
        "flash": flash,
        "languages": LANGUAGES,
        "language_name": language_name,
        "channel_words": CHANNEL_WORDS,
        "field_words": field_words,
        "outcome_words": OUTCOME_WORDS,
        "centre_words": CENTRE_WORDS,
        "all_channels": CHANNELS,
        **values,
    }
    response = page(request, f"studio/{template}", context, status_code=status_code)
    response.headers["Content-Security-Policy"] = STUDIO_CSP
    return response


OUTCOME_WORDS = {
    "no_answer": "no answer",
    "busy": "busy",
    "voicemail": "voicemail",
    "provider_error": "provider error",
}
CENTRE_WORDS = {
    "hold": "hold the alert until the centre can take the calls",
    "callback_instead": "offer a call back instead of an agent",
    "send_unchanged": "send it anyway, as it is",
}

_FIELD_WORDS = {
    "name": "Name",
    "description": "What it is for",
    "enabled": "On or off",
    "trigger.condition": "Only when (condition)",
    "trigger.event_types": "Kinds of event",
    "trigger.batches": "Batch bookings",
    "delivery.channel_order": "Channels, in order",
    "priority": "Priority",
    "ttl_seconds": "Time to live",
    "dedupe.window_seconds": "Not twice within",
    "delivery.fallback_wait_seconds": "Wait before the next channel",
    "category": "Kind of message",
    "mandatory": "Cannot be turned off by the customer",
}


def field_words(field: str) -> str:
    """A field of a specification in the administrator's words ("Dutch SMS: Text message")."""
    found = _FIELD.fullmatch(field)
    if found:
        locale, channel, name = found.groups()
        labels = {
            n: text for c, fields in TEMPLATE_FIELDS.items() if c == channel for n, text in fields
        }
        label = labels.get(name, name).split(" (")[0]
        what = "SMS" if channel == "sms" else CHANNEL_WORDS[channel]
        return f"{language_name(locale)} {what}: {label}"
    head = re.sub(r"\[\d+\]", "", field)
    return _FIELD_WORDS.get(field) or _FIELD_WORDS.get(head) or field


def flash(request: Request, message: str, *, error: bool = False) -> None:
    """A message for the next page: a notice, or (``error``) what was refused and why."""
    request.session[FLASH] = {"text": message, "error": error}


class PreviewValues(TypedDict):
    """The values a preview fills the templates with (made up, or a real event's, masked)."""

    customer_name: str
    amount: str
    currency: str
    description: str
    merchant: str
    account_ending: str
    booking_date: str
    data: dict[str, JsonValue]
    brand: str
    callcentre_number: str
    link_preferences: str


class _DeliveryValues(TypedDict):
    brand: str
    callcentre_number: str
    link_preferences: str


def json_object(value: JsonValue | None) -> dict[str, JsonValue]:
    """``value`` if it is a JSON object (a part of a draft's spec), else an empty one."""
    return value if isinstance(value, dict) else {}


def spec_from_form(base: Mapping[str, JsonValue], form: FormData) -> dict[str, JsonValue]:
    """The draft as submitted: ``base`` with the editor's fields replaced (the rest kept)."""
    spec = copy.deepcopy(dict(base))
    spec["name"] = str(form.get("name", spec.get("name", ""))).strip()
    spec["description"] = str(form.get("description", spec.get("description", ""))).strip()
    trigger = dict(json_object(spec.get("trigger")))
    trigger["event_types"] = [str(v) for v in form.getlist("event_types")]
    trigger["condition"] = _text(form.get("condition", trigger.get("condition", ""))).strip()
    trigger["batches"] = _text(form.get("batches", trigger.get("batches", "entries"))).strip()
    spec["trigger"] = trigger
    if "opt_key" in form:
        spec["options"] = options_from_form(form, editor_locales(base))
    if "ch_order" in form:
        policy_from_form(spec, form)
    content: dict[str, dict[str, dict[str, JsonValue]]] = {}
    for field, value in form.multi_items():
        found = _FIELD.fullmatch(field)
        text = _text(value)
        if found and text.strip():
            locale, channel, name = found.groups()
            content.setdefault(locale, {}).setdefault(channel, {})[name] = text
    for locale, channels in json_object(base.get("content")).items():  # what the form lacks
        for channel, templates in json_object(channels).items():
            kept = json_object(templates)
            if "audio_url" in kept and channel in content.get(locale, {}):
                content[locale][channel]["audio_url"] = kept["audio_url"]
    spec["content"] = {
        locale: {channel: dict(templates) for channel, templates in channels.items()}
        for locale, channels in content.items()
    }
    return spec


def options_from_form(form: FormData, locales: list[str]) -> list[JsonValue]:
    """The response options as listed in the form, in its order (each row sends every field:
    the browser's drag and drop only moves rows), then one moved, removed or added when the
    button pressed says so ("opt_up:2", "opt_down:0", "opt_remove:1", "opt_add")."""
    keys = [_text(v).strip() for v in form.getlist("opt_key")]

    def column(name: str) -> list[str]:
        values = [_text(v).strip() for v in form.getlist(name)]
        return values + [""] * (len(keys) - len(values))

    intents, labels, endpoints = column("opt_intent"), column("opt_label"), column("opt_endpoint")
    others = {loc: column(f"opt_label_{loc}") for loc in locales[1:]}
    rows: list[dict[str, JsonValue]] = []
    for i, key in enumerate(keys):
        row: dict[str, JsonValue] = {"key": key, "intent": intents[i], "label": labels[i]}
        if endpoints[i]:
            row["endpoint"] = endpoints[i]
        translated: dict[str, JsonValue] = {
            loc: values[i] for loc, values in others.items() if values[i]
        }
        if translated:
            row["labels"] = translated
        rows.append(row)
    verb, _, where = str(form.get("action", "")).partition(":")
    at = int(where) if where.isdigit() and int(where) < len(rows) else None
    if verb == "opt_up" and at:
        rows[at - 1], rows[at] = rows[at], rows[at - 1]
    elif verb == "opt_down" and at is not None and at + 1 < len(rows):
        rows[at], rows[at + 1] = rows[at + 1], rows[at]
    elif verb == "opt_remove" and at is not None:
        del rows[at]
    elif verb == "opt_add":
        used = {r["key"] for r in rows}
        free = next((k for k in "1234567890*#" if k not in used), "")
        rows.append({"key": free, "intent": "confirm", "label": "New option"})
    return list(rows)


def _number(form: FormData, name: str, scale: int, current: JsonValue) -> JsonValue:
    """A whole number typed in the form times ``scale`` (minutes -> seconds), else as typed
    (so that the validation names the field and the value), or ``current`` when absent."""
    raw = _text(form.get(name, "")).strip()
    if not raw:
        return current
    try:
        return round(float(raw) * scale)
    except ValueError:
        return raw


def policy_from_form(spec: dict[str, JsonValue], form: FormData) -> None:
    """The delivery policy fields of the editor into ``spec``: the channels in the order of the
    form (moved by drag and drop, or by the Up/Down buttons: "ch_up:sms", "ch_down:voice"),
    each with its attempts, interval and outcomes; the time to live, dedupe window, priority,
    category and what to do when the call centre is closed or overloaded."""
    order = [c for c in (_text(v) for v in form.getlist("ch_order")) if c in CHANNELS]
    verb, _, which = str(form.get("action", "")).partition(":")
    if which in order:
        at = order.index(which)
        if verb == "ch_up" and at > 0:
            order[at - 1], order[at] = order[at], order[at - 1]
        elif verb == "ch_down" and at + 1 < len(order):
            order[at], order[at + 1] = order[at + 1], order[at]
    delivery = dict(json_object(spec.get("delivery")))
    delivery["channel_order"] = [c for c in order if form.get(f"ch_use_{c}")]
    channels = dict(json_object(delivery.get("channels")))
    for c in order:
        policy = dict(json_object(channels.get(c)))
        policy["attempts"] = _number(form, f"ch_{c}_attempts", 1, policy.get("attempts", 1))
        policy["interval_seconds"] = _number(
            form, f"ch_{c}_interval", 60, policy.get("interval_seconds", 900)
        )
        policy["retry_on"] = [_text(v) for v in form.getlist(f"ch_{c}_retry_on")]
        policy["fallback_on"] = [_text(v) for v in form.getlist(f"ch_{c}_fallback_on")]
        channels[c] = policy
    delivery["channels"] = channels
    delivery["fallback_wait_seconds"] = _number(
        form, "fallback_wait", 60, delivery.get("fallback_wait_seconds", 300)
    )
    spec["delivery"] = delivery
    spec["ttl_seconds"] = _number(form, "ttl_hours", 3600, spec.get("ttl_seconds", 86400))
    dedupe = dict(json_object(spec.get("dedupe")))
    dedupe["window_seconds"] = _number(
        form, "dedupe_hours", 3600, dedupe.get("window_seconds", 86400)
    )
    spec["dedupe"] = dedupe
    spec["priority"] = _number(form, "priority", 1, spec.get("priority", 50))
    spec["category"] = _text(form.get("category", spec.get("category", "service")))
    centre = dict(json_object(spec.get("centre")))
    for name in ("when_closed", "when_overloaded"):
        if name in form:
            centre[name] = _text(form.get(name))
    spec["centre"] = centre


def _text(value: object) -> str:
    return str(value).replace("\r\n", "\n") if isinstance(value, str) else ""


def add_language(spec: dict[str, JsonValue], locale: str) -> dict[str, JsonValue]:
    """``spec`` with ``locale`` added as a copy of the fallback language's texts, to translate."""
    content = dict(json_object(spec.get("content")))
    if locale and locale not in content:
        fallback = str(spec.get("fallback_locale") or "en")
        content[locale] = copy.deepcopy(content.get(fallback, {}))
    return {**spec, "content": content}


def editor_locales(spec: Mapping[str, Any]) -> list[str]:
    """The languages of ``spec``, its fallback language first."""
    fallback = str(spec.get("fallback_locale") or "en")
    others = sorted(k for k in (spec.get("content") or {}) if k != fallback)
    return [fallback, *others]


def template_names() -> dict[Channel, frozenset[str]]:
    return {c: REQUIRED_TEMPLATES[c] | OPTIONAL_TEMPLATES[c] for c in CHANNELS}


async def event_types(session: AsyncSession, spec: Mapping[str, Any]) -> list[str]:
    """The event types to pick from: the catalogue's, those received, and the draft's own."""
    known = {t for s in default_catalogue() for t in s.trigger.event_types}
    known |= set((await session.exec(select(Event.event_type).distinct())).all())
    known |= set((spec.get("trigger") or {}).get("event_types") or [])
    return sorted(known)


def example_values(deps: AlertDeps) -> PreviewValues:
    """Made-up but ordinary values for the preview."""
    return {
        "customer_name": "Sam Jansen",
        "amount": "750.00",
        "currency": "EUR",
        "description": "Electro World",
        "merchant": "Electro World",
        "account_ending": "4300",
        "booking_date": datetime.now(UTC).date().isoformat(),
        "data": dict(FILE_EXAMPLES),
        **_delivery_values(deps),
    }


def _delivery_values(deps: AlertDeps) -> _DeliveryValues:
    return {
        "brand": deps.brand,
        "callcentre_number": deps.callcentre_number,
        "link_preferences": f"{deps.public_url}/p/preview",
    }


def _masked_name(name: str) -> str:
    first, _, rest = name.partition(" ")
    return f"{first} {rest[:1]}." if rest else first


async def latest_event_values(
    session: AsyncSession, deps: AlertDeps, event_types_: list[str]
) -> tuple[PreviewValues, str] | None:
    """The newest real event of these types with a customer, masked; and what it was."""
    row = (
        await session.exec(
            select(Event, Customer)
            .join(Customer, col(Customer.id) == col(Event.customer_id))
            .where(col(Event.event_type).in_(event_types_))
            .order_by(col(Event.id).desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    event, customer = row
    real = alert_context(event, customer)
    values: PreviewValues = {
        "customer_name": _masked_name(customer.name),
        "amount": real["amount"],
        "currency": real["currency"],
        "description": real["description"],
        "merchant": real["merchant"],
        "account_ending": real["account_ending"],
        "booking_date": real["booking_date"],
        "data": real["data"],
        **_delivery_values(deps),
    }
    what = f"event #{event.id} ({event.event_type}, received {event.created_at:%Y-%m-%d %H:%M} UTC)"
    return values, what


def translation_gaps(spec: Mapping[str, Any]) -> list[str]:
    """What the editor says is missing, per language and channel ("Español SMS: no text yet,
    customers get English"); nothing for a draft that is not valid yet (its errors say why)."""
    try:
        parsed = stored_spec(dict(spec))
    except ValueError:
        return []
    default = language_name(parsed.fallback_locale)
    lines = []
    for gap in missing_translations(parsed):
        what = "SMS" if gap.channel == "sms" else CHANNEL_WORDS[gap.channel]
        if gap.whole:
            lines.append(
                f"{language_name(gap.language)} {what}: no text yet, customers get {default}"
            )
        else:
            names = ", ".join(gap.templates)
            lines.append(
                f"{language_name(gap.language)} {what}: {names} missing, taken from {default}"
            )
    return lines
