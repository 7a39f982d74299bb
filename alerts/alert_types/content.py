"""Alert content: an alert type's templates for one locale and channel, rendered safely.

Templates are Jinja2, rendered in the immutable sandbox with strict undefined variables (a typo
is an error at edit time, see ``check_spec_content``). The response options of the alert are
rendered per channel into ``options_prompt`` (voice), ``options_text`` (SMS) and
``options_links`` (email), so the words a customer hears or reads always match the keys Herald
acts on. The email's HTML part is made from the same text template (paragraphs, buttons for the
options, escaped values) unless the alert type gives its own; every email ends with the
customer's manage-preferences link.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, TypedDict

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from alerts.alert_types.email_layout import BRAND_COLOUR, email_document
from alerts.alert_types.formatting import FILTERS, LocalValues, localised_values
from channels.i18n import N_, gettext_for
from channels.sms_segments import sms_length
from rules.alert_types import ENGLISH_OFFER, AlertTypeSpec
from rules.vocabulary import Channel

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
for _env in (_ENV, _HTML_ENV):  # {{ x | money }}, {{ d | date }}, | time, | datetime per locale
    _env.filters.update(FILTERS)
TEXT_ENV = _ENV  # the one text environment (the voice segments render with it too)

DEFAULT_VOICEMAIL = (
    "Hello, this is {{ brand }} with a message for you. Please call us on "
    "{{ callcentre_number }}. Thank you."
)
DEFAULT_PROMPT = "{{ options_prompt }}"

# Which answers make sense on which channel ("hear it again" only on a call, and so on).
NOT_ON: dict[Channel, frozenset[str]] = {
    "voice": frozenset(),
    "sms": frozenset({"repeat", "sms_copy"}),
    "email": frozenset({"repeat", "email_copy"}),
}
# Email-only extras, offered after the alert type's own options.
CALL_ME = {"key": "call_me", "intent": "call_me", "label": N_("Call me now")}
FORWARD = {
    "key": "forward",
    "intent": "forward",
    "label": N_("Forward this alert to someone, with a note"),
}
# The email's own words around the alert type's content (channels/locales).
MANAGE = N_("Manage your alerts")
UNSUBSCRIBE = N_("Unsubscribe from these offers")
_BUTTON = {"agent": "#0b5cad", "confirm": "#2e7d32", "call_me": "#5d4037", "callback": "#0b5cad"}


class ContentError(ValueError):
    """A template could not be rendered (unknown variable, syntax error): says which and why."""


class _SampleData(dict[str, str]):
    """The ``data`` mapping in samples: any field an adapter may add has a long value."""

    def __missing__(self, key: str) -> str:
        return "SAMPLE-VALUE-1234567890"


class EventData(dict[str, str]):
    """``data`` at send time: a field this event lacks renders as nothing, not an error."""

    def __missing__(self, key: str) -> str:
        return ""


class _SampleValues(TypedDict):
    customer_name: str
    amount: str
    currency: str
    description: str
    merchant: str
    account_ending: str
    booking_date: str
    brand: str
    callcentre_number: str
    link_preferences: str


class SampleContext(_SampleValues):
    """The long sample values, with a ``data`` that has a value for any field."""

    data: _SampleData


class _OptionValues(TypedDict):
    """What a template sees of the alert's options, on one channel."""

    options: list[Mapping[str, Any]]
    choices: list[dict[str, str]]  # the answers offered on this channel, labels in its language
    options_prompt: str
    options_text: str
    options_links: str


class LongSampleContext(SampleContext, _OptionValues, LocalValues):
    """A template's variables with the long sample values (what content checks render with)."""


# Long but realistic values: a template that fits with these fits in practice.
SAMPLE_CONTEXT: _SampleValues = {
    "customer_name": "Alexandra Montgomery-Smith",
    "amount": "12345.67",
    "currency": "EUR",
    "description": "Electro World Online Store Amsterdam",
    "merchant": "Electro World Online Store Amsterdam",
    "account_ending": "4300",
    "booking_date": "2026-11-23",
    "brand": "Alexandria Cooperative Savings Bank",  # a long brand name fits too
    "callcentre_number": "+31201234567",
    "link_preferences": "https://alerts.example.com/p/" + "p" * 60,
}
SAMPLE_LINK = "https://alerts.example.com/r/" + "x" * 80


def sample_context() -> SampleContext:
    return {**SAMPLE_CONTEXT, "data": _SampleData()}


def channel_options(
    options: Sequence[Mapping[str, Any]], channel: Channel, *, language: str = "en"
) -> list[dict[str, str]]:
    """The alert's options that make sense on ``channel`` (email adds call-me and forward, their
    labels in ``language``: they are Herald's own words, not the alert type's)."""
    out = [
        {"key": str(o["key"]), "intent": str(o["intent"]), "label": str(o["label"])}
        for o in options
        if o["intent"] not in NOT_ON[channel]
    ]
    if channel == "email":
        _ = gettext_for(language).gettext
        if any(o["intent"] == "agent" for o in out):
            out.append({**CALL_ME, "label": _(CALL_ME["label"])})
        out.append({**FORWARD, "label": _(FORWARD["label"])})
    return out


def options_prompt(options: Sequence[Mapping[str, str]]) -> str:
    """What the call says: "To speak to an agent, press 1. ..." (labels as the admin wrote)."""
    return " ".join(f"{o['label']}: press {o['key']}." for o in options)


def options_text(options: Sequence[Mapping[str, str]]) -> str:
    """What the SMS says: "Reply 1 Speak to an agent, 2 This payment was mine."."""
    if not options:
        return ""
    return "Reply " + ", ".join(f"{o['key']} {o['label']}" for o in options) + "."


def options_links(options: Sequence[Mapping[str, str]], links: Mapping[str, str]) -> str:
    return "\n".join(f"{o['label']}: {links[o['intent']]}" for o in options if o["intent"] in links)


def options_buttons(options: Sequence[Mapping[str, str]], links: Mapping[str, str]) -> Markup:
    parts = []
    for o in options:
        if o["intent"] not in links:
            continue
        colour = _BUTTON.get(o["intent"], "#455a64")
        parts.append(
            f'<a href="{escape(links[o["intent"]])}" style="display:inline-block;margin:4px 8px '
            f"4px 0;padding:10px 16px;background:{colour};color:#ffffff;text-decoration:none;"
            f'border-radius:4px">{escape(o["label"])}</a>'
        )
    return Markup("<p>" + " ".join(parts) + "</p>")


@dataclass(frozen=True, slots=True)
class AlertContent:
    """The templates of one alert type for one locale and channel."""

    spec: AlertTypeSpec
    locale: str
    channel: Channel

    @property
    def used_locale(self) -> str:
        """The locale whose words this channel uses: its own, else the alert type's default
        language (what amounts and dates are written in, so they match the words)."""
        if self.channel in self.spec.content.get(self.locale, {}):
            return self.locale
        return self.spec.fallback_locale

    def template(self, name: str) -> str:
        found = self.spec.content.get(self.locale, {}).get(self.channel, {}).get(name)
        if found is None and self.locale != self.spec.fallback_locale:
            fallback = self.spec.content[self.spec.fallback_locale].get(self.channel, {})
            found = fallback.get(name)
        if found is not None:
            return found
        if (self.channel, name) == ("voice", "prompt"):
            return DEFAULT_PROMPT
        if (self.channel, name) == ("voice", "reprompt"):
            return self.template("prompt")  # no second-chance wording: the menu again
        if (self.channel, name) == ("voice", "voicemail"):
            return DEFAULT_VOICEMAIL
        raise ContentError(
            f"{self.spec.key} has no {self.channel} template {name!r} for {self.locale!r}"
        )

    def render(self, name: str, context: Mapping[str, Any], *, html: bool = False) -> str:
        try:
            return _compiled(self.template(name), html).render(**context).strip()
        except TemplateError as exc:
            raise ContentError(
                f"content.{self.locale}.{self.channel}.{name} cannot be rendered: {exc}"
            ) from exc

    def email(self, context: Mapping[str, Any], links: Mapping[str, str]) -> tuple[str, str, str]:
        """(subject, text, html) of the email; both bodies end with the preferences link."""
        # The frame speaks the language of the content used (the fallback's when this locale
        # has none), so an email never mixes two languages.
        spoken = self.locale if self.locale in self.spec.content else self.spec.fallback_locale
        _ = gettext_for(spoken).gettext
        options = channel_options(context.get("options", ()), "email", language=spoken)
        text_ctx = {**context, "options_links": options_links(options, links)}
        subject = self.render("subject", text_ctx)
        text = self.render("text", text_ctx)
        preferences = str(context.get("link_preferences", ""))
        unsubscribe = str(context.get("link_unsubscribe", ""))
        brand = str(context.get("brand", ""))
        if brand and brand not in text:
            text += f"\n\n{brand}"  # the HTML part's band says it too
        if preferences and preferences not in text:
            text += "\n\n" + _(MANAGE) + f": {preferences}"
        if unsubscribe and unsubscribe not in text:
            text += "\n" + _(UNSUBSCRIBE) + f": {unsubscribe}"
        html_ctx = {**context, "options_links": options_buttons(options, links)}
        try:
            self.template("html")
            body = self.render("html", html_ctx, html=True)
        except ContentError:
            body = _paragraphs(self.render("text", html_ctx, html=True))
        footer = []
        if preferences and escape(preferences) not in body:
            footer.append(f'<a href="{escape(preferences)}">{escape(_(MANAGE))}</a>')
        if unsubscribe and escape(unsubscribe) not in body:
            footer.append(f'<a href="{escape(unsubscribe)}">{escape(_(UNSUBSCRIBE))}</a>')
        html = email_document(
            body,
            locale=spoken,
            preheader=_preheader(text),
            footer=" &middot; ".join(footer),
            brand=brand,
            title=subject,
            brand_colour=str(context.get("brand_colour") or BRAND_COLOUR),
        )
        return subject, text, html


def _preheader(text: str) -> str:
    """The first lines of the text part, shortened: what a mail client shows after the subject."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = " ".join(lines[:2])  # a greeting alone says nothing: take the line after it too
    return first if len(first) <= 100 else first[:99] + "\u2026"


def _paragraphs(rendered: str) -> str:
    """Escaped text (already HTML) as paragraphs: blank lines split, single newlines break."""
    blocks = [b.strip() for b in rendered.split("\n\n") if b.strip()]
    return "".join(
        b if b.startswith("<p>") else "<p>" + b.replace("\n", "<br>") + "</p>" for b in blocks
    )


def render_context(
    base: Mapping[str, Any],
    options: Sequence[Mapping[str, Any]],
    channel: Channel,
    locale: str = "en",
    spec: AlertTypeSpec | None = None,
) -> dict[str, Any]:
    """The variables a ``channel`` template in ``locale`` sees: the alert's context, its
    options (labels in ``locale`` where ``spec`` has them), and the amount and dates written as
    ``locale`` writes them (alerts.alert_types.formatting)."""
    data = base.get("data") or {}
    options = localised_options(spec, options, locale)
    return {
        **base,
        "data": EventData({str(k): str(v) for k, v in dict(data).items()}),
        **_option_values(options, channel),
        **localised_values(dict(base), locale, channel),
    }


def localised_options(
    spec: AlertTypeSpec | None, options: Sequence[Mapping[str, Any]], locale: str
) -> list[dict[str, Any]]:
    """``options`` with each label in ``locale`` where the option (or the alert type's option
    with its key) has one: the locale's own, then its base language's, then the alert type's
    own label (an alert stores its labels in the customer's language: a call replayed in
    English gets the English ones back)."""
    by_key = {o.key: o for o in spec.options} if spec is not None else {}
    out = []
    for option in options:
        known = by_key.get(str(option.get("key")))
        labels = option.get("labels") or (known.labels if known else {})
        label = (
            labels.get(locale)
            or labels.get(locale.split("-")[0])
            or (known.label if known else None)
            or option.get("label")
        )
        out.append({**option, "label": label})
    return out


def _option_values(options: Sequence[Mapping[str, Any]], channel: Channel) -> _OptionValues:
    chosen = channel_options(options, channel)
    return {
        "options": list(options),
        "choices": chosen,
        "options_prompt": options_prompt(chosen),
        "options_text": options_text(chosen),
        "options_links": "",
    }


def check_spec_content(spec: AlertTypeSpec) -> list[str]:
    """Every template of ``spec`` rendered with long sample values: what fails, and every SMS
    over ``sms_max_segments``. Empty when all is well."""
    problems: list[str] = []
    options = [o.model_dump() for o in spec.options]
    links = {o["intent"]: SAMPLE_LINK for o in channel_options(options, "email")}
    for locale, channels in spec.content.items():
        for channel in channels:
            content = AlertContent(spec, locale, channel)
            ctx = render_context(sample_context(), options, channel, locale, spec)
            ctx["data"] = _SampleData()
            try:
                if channel == "email":
                    content.email(ctx, links)
                elif channel == "voice":
                    own = ENGLISH_OFFER if ENGLISH_OFFER in channels["voice"] else None
                    for name in ("message", "prompt", "reprompt", "voicemail", own):
                        if name:
                            content.render(name, ctx)
                else:
                    body = content.render("body", ctx)
                    length = sms_length(body)
                    if length.segments > spec.sms_max_segments:
                        problems.append(
                            f"content.{locale}.sms.body: the SMS is {length.describe()} with long "
                            f"sample values; the limit is {spec.sms_max_segments} segment(s): "
                            "shorten it or raise sms_max_segments"
                        )
            except ContentError as exc:
                problems.append(str(exc))
    return problems


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, html: bool = False) -> Template:
    """A template text compiled once (by its text: an edited template is compiled anew)."""
    return (_HTML_ENV if html else _ENV).from_string(source)


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """One template text rendered as a message is (ContentError saying why it cannot be)."""
    try:
        return _compiled(source).render(**context).strip()
    except TemplateError as exc:
        raise ContentError(str(exc)) from exc


def long_sample_context(
    options: Sequence[Mapping[str, Any]], channel: Channel
) -> LongSampleContext:
    """The long sample values ``check_spec_content`` checks a template with."""
    values = sample_context()
    return {
        **values,
        **_option_values(options, channel),
        **localised_values(dict(values), "en", channel),
    }
