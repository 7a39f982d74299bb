"""Alert content per channel, rendered in Jinja2's immutable sandbox with strict undefined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

# Built-in English content of `account_activity`; an alert type's params["content"] overrides it.
DEFAULT_CONTENT: dict[str, str] = {
    "voice_message": (
        "Hello {{ customer_name }}. This is {{ brand }} with an alert about your account ending "
        "in {{ account_ending }}. A payment of {{ amount }} {{ currency }} to {{ merchant }} "
        "was taken from your account."
    ),
    "voice_prompt": (
        "Press 1 to speak to an agent. Press 2 to confirm the payment was yours. "
        "Press 9 to hear this message again."
    ),
    "voicemail": (
        "Hello, this is {{ brand }} with an alert about your account. Please call us on "
        "{{ callcentre_number }}. Thank you."
    ),
    "sms": (
        "{{ brand }}: a payment of {{ amount }} {{ currency }} to {{ merchant }} was taken from "
        "your account ending {{ account_ending }}. Reply 1 to speak to an agent, "
        "2 if this payment was yours."
    ),
    "email_subject": "{{ brand }}: payment of {{ amount }} {{ currency }} to {{ merchant }}",
    "email_text": (
        "Dear {{ customer_name }},\n\n"
        "A payment of {{ amount }} {{ currency }} to {{ merchant }} was taken from your account "
        "ending {{ account_ending }}.\n\n"
        "Speak to an agent: {{ link_agent }}\n"
        "This payment was mine: {{ link_confirm }}\n"
        "Call me now: {{ link_call_me }}\n"
        "Forward this alert to someone, with a note: {{ link_forward }}\n\n"
        "{{ brand }}"
    ),
    "email_html": (
        '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">'
        "<p>Dear {{ customer_name }},</p>"
        "<p>A payment of <strong>{{ amount }} {{ currency }}</strong> to "
        "<strong>{{ merchant }}</strong> was taken from your account ending "
        "{{ account_ending }}.</p>"
        '<p><a href="{{ link_agent }}" style="display:inline-block;padding:10px 16px;'
        'background:#0b5cad;color:#fff;text-decoration:none;border-radius:4px">'
        "Speak to an agent</a> &nbsp; "
        '<a href="{{ link_confirm }}" style="display:inline-block;padding:10px 16px;'
        'background:#2e7d32;color:#fff;text-decoration:none;border-radius:4px">'
        "This payment was mine</a> &nbsp; "
        '<a href="{{ link_call_me }}" style="display:inline-block;padding:10px 16px;'
        'background:#5d4037;color:#fff;text-decoration:none;border-radius:4px">'
        "Call me now</a></p>"
        '<p style="font-size:13px"><a href="{{ link_forward }}">Forward this alert to someone, '
        "with a note</a></p>"
        "<p>{{ brand }}</p></body></html>"
    ),
}


# Long but realistic values: a template that fits with these fits in practice.
SAMPLE_CONTEXT: dict[str, str] = {
    "customer_name": "Alexandra Montgomery-Smith",
    "amount": "12345.67",
    "currency": "EUR",
    "merchant": "Electro World Online Store Amsterdam",
    "account_ending": "4300",
    "booking_date": "2026-11-23",
    "brand": "Herald Bank",
    "callcentre_number": "+31201234567",
    "link_agent": "https://alerts.example.com/r/" + "x" * 80,
    "link_confirm": "https://alerts.example.com/r/" + "y" * 80,
    "link_forward": "https://alerts.example.com/r/f/" + "z" * 80,
    "link_call_me": "https://alerts.example.com/r/" + "w" * 80,
}


class ContentError(ValueError):
    """A template could not be rendered (unknown variable, syntax error): says which and why."""


@dataclass(frozen=True, slots=True)
class Renderer:
    overrides: dict[str, str]

    def template(self, name: str) -> str:
        return self.overrides.get(name) or DEFAULT_CONTENT[name]

    def render(self, name: str, context: dict[str, Any], *, html: bool = False) -> str:
        env = _HTML_ENV if html else _ENV
        try:
            return env.from_string(self.template(name)).render(**context).strip()
        except TemplateError as exc:
            raise ContentError(f"template {name!r} cannot be rendered: {exc}") from exc
