"""What the preferences page shows and reads: a customer's settings as form fields and back.

Each section (the default, then every alert type) is shown as a ``View`` of plain form values
built from what is stored and what it inherits. ``plan`` reads the posted form the same way and
compares field by field, so only what the customer changed is stored: an untouched field that
inherits keeps inheriting, and a field that cannot be read is an error in the customer's words.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from admin_ui.customer_i18n import alert_type_name, clock, read_clock
from alerts.customers.preferences import (
    DEFAULT,
    ChannelChoiceIn,
    PreferenceIn,
    QuietHoursIn,
    contact_for_rules,
)
from alerts.models import ContactPoint, Customer
from channels.i18n import LANGUAGE_NAMES, LANGUAGES, N_, translations
from rules.alert_types import AlertTypeSpec
from rules.timewindows import DailyWindow
from rules.vocabulary import CHANNELS, CONTACT_KIND, Channel

MANDATORY = N_(
    "We always send these alerts because they protect you and your money; they cannot be "
    "turned off. You can choose how we send them."
)
CHANNEL_TO: dict[str, str] = {
    "voice": N_("Phone call to %(address)s"),
    "sms": N_("Text message to %(address)s"),
    "email": N_("Email to %(address)s"),
}
CHANNEL_PLURAL: dict[str, str] = {
    "voice": N_("phone calls"),
    "sms": N_("text messages"),
    "email": N_("emails"),
}
# "Phone calls" as a checkbox label (a capital letter is not the same in every language).
CHANNEL_LABEL: dict[str, str] = {
    "voice": N_("Phone calls"),
    "sms": N_("Text messages"),
    "email": N_("Emails"),
}
NO_CHANNEL: dict[str, str] = {
    "voice": N_("No phone calls"),
    "sms": N_("No text messages"),
    "email": N_("No emails"),
}
ALL_ALERTS = N_("All alerts")
MAX_SLOTS = 5
SUGGESTED_QUIET = "22:00-07:00"  # offered in the fields when there are no quiet hours yet
FIELDS = ("opted_out", "channels", "quiet_hours", "language", "opted_out_channels")


@dataclass(frozen=True, slots=True)
class Choice:
    value: str  # "voice:12": a channel bound to a contact point
    words: str  # "Phone call to ***4567", in the page's language
    channel: Channel
    contact_point_id: int
    masked: str  # "***4567"


@dataclass
class View:
    """A section's fields as the form carries them (strings and lists of strings)."""

    receive: str = "yes"  # "yes" | "no"
    order_mode: str = "inherit"  # "inherit" | "custom"
    order: list[str] = field(default_factory=list)  # one Choice.value (or "") per slot
    quiet_mode: str = "inherit"  # "inherit" | "none" | "custom"
    quiet_from: str = "22:00"
    quiet_to: str = "07:00"
    quiet_channels: list[str] = field(default_factory=lambda: list(CHANNELS))
    language: str = ""  # "" = as usual
    never: list[str] = field(default_factory=list)
    reset: bool = False


@dataclass
class Section:
    key: str  # "*" or an alert type key
    index: int
    title: str  # in the page's language
    group: str  # "default" | "service" | "marketing"
    description: str
    mandatory: bool
    channels: list[Channel]
    choices: list[Choice]
    slots: int
    has_stored: bool
    view: View
    errors: list[str] = field(default_factory=list)
    # False while the imported channel order applies (no default stored yet): "the usual
    # order" would then silently replace it, so the default shows that order instead.
    can_inherit_order: bool = True

    @property
    def is_default(self) -> bool:
        return self.key == DEFAULT

    def name(self, part: str) -> str:
        return f"{self.key}.{part}"


@dataclass
class Loaded:
    customer: Customer
    contacts: list[ContactPoint]
    prefs: dict[str, PreferenceIn]
    specs: list[AlertTypeSpec]  # the enabled ones that apply to this customer
    choices: list[Choice]
    language: str  # the page's (channels.i18n.LANGUAGES)

    @property
    def t(self) -> gettext.NullTranslations:
        return translations(self.language)


def _masked(contact: ContactPoint) -> str:
    return contact_for_rules(contact).masked()


def choices_of(contacts: list[ContactPoint], language: str) -> list[Choice]:
    _ = translations(language).gettext
    out = []
    for contact in contacts:
        if contact.id is None:
            continue
        for channel in CHANNELS:
            if CONTACT_KIND[channel] != contact.kind:
                continue
            if channel == "sms" and not contact.sms_capable:
                continue
            out.append(
                Choice(
                    f"{channel}:{contact.id}",
                    _(CHANNEL_TO[channel]) % {"address": _masked(contact)},
                    channel,
                    contact.id,
                    _masked(contact),
                )
            )
    return out


def contact_line(contact: ContactPoint, language: str) -> dict[str, Any]:
    _ = translations(language).gettext
    notes = []
    if contact.invalid_at is not None:
        notes.append(_("we could not reach you here; please give us a new one"))
    if contact.kind == "phone" and not contact.sms_capable:
        notes.append(_("cannot receive text messages"))
    if contact.kind == "phone" and contact.sms_opted_out_at is not None:
        notes.append(
            _("text messages stopped (you replied STOP); reply START to turn them back on")
        )
    if contact.consent_withdrawn_at is not None:
        notes.append(_("you asked us not to use this"))
    kind = _("Email") if contact.kind == "email" else _("Phone")
    return {
        "kind": f"{kind} ({contact.label})" if contact.label else kind,
        "masked": _masked(contact),
        "notes": notes,
    }


def _default_order(choices: list[Choice], channels: list[Channel]) -> list[str]:
    """The first contact point for each channel, in ``channels`` order."""
    out = []
    for channel in channels:
        first = next((c for c in choices if c.channel == channel), None)
        if first is not None:
            out.append(first.value)
    return out


def _legacy(loaded: Loaded) -> list[str] | None:
    """The imported channel order, as choices: what applies while no default is stored
    (alerts.customers.preferences.load_preferences does the same)."""
    if DEFAULT in loaded.prefs:
        return None
    order = [ch for name in loaded.customer.channel_order for ch in CHANNELS if ch == name]
    return _default_order(loaded.choices, order) or None


def _choice_values(pref: PreferenceIn | None) -> list[str] | None:
    if pref is None or pref.channels is None:
        return None
    return [f"{c.channel}:{c.contact_point_id}" for c in pref.channels]


def _shown(
    key: str, loaded: Loaded, channels: list[Channel], choices: list[Choice], mandatory: bool
) -> View:
    """The View the page shows for a section, from what is stored and what it inherits."""
    prefs = loaded.prefs
    default = prefs.get(DEFAULT) or PreferenceIn()
    default_order = _choice_values(prefs.get(DEFAULT)) if DEFAULT in prefs else _legacy(loaded)
    view = View()
    usual = default_order or _default_order(choices, channels)
    offered = {c.value for c in choices}
    if key == DEFAULT:
        own = default
        view.order_mode = "custom" if default_order is not None else "inherit"
        view.order = [v for v in usual if v in offered]
        view.receive = "no" if default.opted_out else "yes"
        view.never = list(default.opted_out_channels or [])
        quiet = default.quiet_hours
        view.quiet_mode = "custom" if quiet else "none"
    else:
        own = prefs.get(key) or PreferenceIn()
        mine = _choice_values(own)
        view.order_mode = "custom" if mine is not None else "inherit"
        view.order = [v for v in (mine if mine is not None else usual) if v in offered]
        if not view.order:
            view.order = _default_order(choices, channels)
        opted = own.opted_out if own.opted_out is not None else default.opted_out
        view.receive = "no" if opted and not mandatory else "yes"
        never = (
            own.opted_out_channels
            if own.opted_out_channels is not None
            else default.opted_out_channels
        )
        view.never = [c for c in never or [] if c in channels]
        quiet = own.quiet_hours if own.quiet_hours is not None else default.quiet_hours
        view.quiet_mode = (
            "inherit" if own.quiet_hours is None else ("custom" if own.quiet_hours else "none")
        )
    if quiet:
        window = DailyWindow.parse(quiet[0].window)
        view.quiet_from = clock(window.start, loaded.language)
        view.quiet_to = clock(window.end, loaded.language)
        view.quiet_channels = [c for c in quiet[0].channels if c in channels]
    else:
        view.quiet_from = clock(DailyWindow.parse(SUGGESTED_QUIET).start, loaded.language)
        view.quiet_to = clock(DailyWindow.parse(SUGGESTED_QUIET).end, loaded.language)
        view.quiet_channels = list(channels)
    view.language = own.language or ""
    return view


def sections_of(loaded: Loaded) -> list[Section]:
    """The default, then the alert types that apply, service before marketing."""
    _ = loaded.t.gettext
    sections = []
    all_channels = list(CHANNELS)
    sections.append(
        Section(
            key=DEFAULT,
            index=0,
            title=_(ALL_ALERTS),
            group="default",
            description=_(
                "Your usual settings. They apply to every alert unless you change an alert below."
            ),
            mandatory=False,
            channels=all_channels,
            choices=loaded.choices,
            slots=0,
            has_stored=DEFAULT in loaded.prefs,
            view=_shown(DEFAULT, loaded, all_channels, loaded.choices, False),
            can_inherit_order=_legacy(loaded) is None,
        )
    )
    ordered = sorted(loaded.specs, key=lambda spec: spec.category == "marketing")
    for i, spec in enumerate(ordered, start=1):
        channels = list(spec.delivery.channel_order)
        choices = [c for c in loaded.choices if c.channel in channels]
        sections.append(
            Section(
                key=spec.key,
                index=i,
                title=alert_type_name(spec.name, loaded.language),
                group="marketing" if spec.category == "marketing" else "service",
                description="",  # spec.description is written for staff, not customers
                mandatory=spec.mandatory,
                channels=channels,
                choices=choices,
                slots=0,
                has_stored=spec.key in loaded.prefs,
                view=_shown(spec.key, loaded, channels, choices, spec.mandatory),
            )
        )
    for s in sections:
        s.slots = max(1, min(MAX_SLOTS, len(s.choices)), len(s.view.order))
        s.view.order += [""] * (s.slots - len(s.view.order))
    return sections


def languages_of(loaded: Loaded) -> list[tuple[str, str]]:
    """Herald's five languages, each in its own name (and a language stored earlier that is
    not one of them, so the page shows what is stored)."""
    codes = list(LANGUAGES)
    codes += sorted({p.language for p in loaded.prefs.values() if p.language} - set(codes))
    return [(c, LANGUAGE_NAMES.get(c, c)) for c in codes]


def _submitted(form: FormData, section: Section) -> View:
    def one(part: str, default: str = "") -> str:
        value = form.get(section.name(part), default)
        return value.strip() if isinstance(value, str) else default

    def many(part: str) -> list[str]:
        return [v for v in form.getlist(section.name(part)) if isinstance(v, str)]

    shown = section.view
    if section.name("shown") not in form:  # a section the form did not carry is left as it is
        return replace(shown)
    return View(
        receive=one("receive", "yes" if section.mandatory else shown.receive),
        order_mode=one("order_mode", shown.order_mode),
        order=[one(f"order{i}") for i in range(1, section.slots + 1)],
        quiet_mode=one("quiet_mode", shown.quiet_mode),
        quiet_from=one("quiet_from"),
        quiet_to=one("quiet_to"),
        quiet_channels=many("quiet_channels"),
        language=one("language"),
        never=many("never"),
        reset=one("reset") == "yes",
    )


def _clock(text: str) -> str:
    """``"22:00"`` / ``"10:00 PM"`` / ``"22h00"`` -> ``"22:00"`` (ValueError if it is not a
    time of day)."""
    return f"{read_clock(text):%H:%M}"


INVALID: Any = object()  # a field that could not be read (differs from any value shown)


def _read(
    view: View,
    section: Section,
    languages: set[str],
    own_quiet: list[QuietHoursIn] | None,
    t: gettext.NullTranslations,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A View as PreferenceIn fields, and what is wrong with each (in the customer's words)."""
    _ = t.gettext
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def wrong(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)
        out[name] = INVALID

    out["opted_out"] = view.receive == "no"
    if view.receive not in ("yes", "no"):
        wrong("opted_out", _("Please choose whether you want these alerts."))
    elif section.mandatory and view.receive == "no":
        wrong(
            "opted_out",
            _("“%(name)s” alerts are required for your security and cannot be turned off.")
            % {"name": section.title},
        )

    if view.order_mode == "inherit" and section.can_inherit_order:
        out["channels"] = None
    else:
        by_value = {c.value: c for c in section.choices}
        picked: list[ChannelChoiceIn] = []
        for value in filter(None, view.order):
            choice = by_value.get(value)
            entry = (
                ChannelChoiceIn(channel=choice.channel, contact_point_id=choice.contact_point_id)
                if choice
                else None
            )
            if entry is None:
                wrong("channels", _("Please choose how to reach you from the lists."))
            elif entry not in picked:
                picked.append(entry)
        if not picked:
            wrong("channels", _("Please choose at least one way to reach you."))
        elif "channels" not in errors:
            out["channels"] = picked

    if view.quiet_mode == "inherit" and not section.is_default:
        out["quiet_hours"] = None
    elif view.quiet_mode != "custom":
        out["quiet_hours"] = []
    else:
        ticked = [c for c in CHANNELS if c in view.quiet_channels and c in section.channels]
        try:
            window = f"{_clock(view.quiet_from)}-{_clock(view.quiet_to)}"
            first = QuietHoursIn(window=window, channels=ticked)
        except (ValueError, ValidationError):
            wrong(
                "quiet_hours",
                _("Please give your quiet hours as two different times, like 22:00 and 07:00."),
            )
        else:
            if ticked:
                out["quiet_hours"] = [first, *(own_quiet or [])[1:]]
            else:
                wrong(
                    "quiet_hours",
                    _("Please tick at least one kind of message to hold back in your quiet hours."),
                )

    out["language"] = view.language or None
    if view.language and view.language not in languages:
        wrong("language", _("Please choose a language from the list."))

    out["opted_out_channels"] = [c for c in CHANNELS if c in view.never]
    if any(c not in section.channels for c in view.never):
        wrong("opted_out_channels", _("Please choose from the ways to reach you shown."))
    elif section.is_default and all(c in view.never for c in CHANNELS):
        wrong("opted_out_channels", _("Please leave at least one way for us to reach you."))
    return out, errors


def _implied(sent: View, shown: View) -> View:
    """Changing the order or the quiet hours' times means "use these", even if the radio
    button was left where it was (the page works without JavaScript)."""
    if sent.order_mode == shown.order_mode == "inherit" and sent.order != shown.order:
        sent.order_mode = "custom"
    details = (sent.quiet_from, sent.quiet_to, sorted(sent.quiet_channels))
    before = (shown.quiet_from, shown.quiet_to, sorted(shown.quiet_channels))
    if sent.quiet_mode == shown.quiet_mode != "custom" and details != before:
        sent.quiet_mode = "custom"
    return sent


def _join(words: list[str], t: gettext.NullTranslations) -> str:
    if len(words) == 1:
        return words[0]
    return t.gettext("%(some)s and %(last)s") % {"some": ", ".join(words[:-1]), "last": words[-1]}


def describe(
    section: Section, name: str, value: Any, loaded: Loaded, t: gettext.NullTranslations
) -> str:
    """One changed field as a sentence for the customer, in the language of ``t``."""
    _ = t.gettext
    everything = section.is_default
    if name == "opted_out":
        if everything:
            return (
                _("You will only get the alerts that are required for your security.")
                if value
                else _("You will get your alerts.")
            )
        return (
            _("You will no longer get these alerts.") if value else _("You will get these alerts.")
        )
    if name == "channels":
        if value is None:
            return _("We will reach you as in your usual settings.")
        words = {c.value: c for c in loaded.choices}
        steps = [
            _(CHANNEL_TO[c.channel]) % {"address": words[key].masked}
            if (key := f"{c.channel}:{c.contact_point_id}") in words
            else c.channel
            for c in value
        ]
        return _("We will try, in this order: %(steps)s.") % {"steps": _("; then ").join(steps)}
    if name == "quiet_hours":
        if value is None:
            return _("Quiet hours as in your usual settings.")
        if not value:
            return _("No quiet hours.")
        first = DailyWindow.parse(value[0].window)
        kinds = _join([_(CHANNEL_PLURAL[c]) for c in value[0].channels], t)
        return _("Quiet hours from %(start)s to %(end)s (%(zone)s time): no %(kinds)s.") % {
            "start": clock(first.start, loaded.language),
            "end": clock(first.end, loaded.language),
            "zone": loaded.customer.timezone,
            "kinds": kinds,
        }
    if name == "language":
        if value is None:
            if everything:
                return _("Language: the one on your account.")
            return _("Language: as in your usual settings.")
        return _("Language: %(language)s.") % {"language": LANGUAGE_NAMES.get(value, value)}
    if name == "opted_out_channels":
        if not value:
            return _("We may use every way to reach you.")
        return _("We will not use %(kinds)s.") % {
            "kinds": _join([_(CHANNEL_PLURAL[c]) for c in value], t)
        }
    return f"{name}: {value}"


@dataclass(frozen=True, slots=True)
class Planned:
    """What to do with one section: store ``data`` (None: forget the stored preference)."""

    section: Section
    data: PreferenceIn | None
    changed: list[str]


def plan(form: FormData, loaded: Loaded, sections: list[Section]) -> list[Planned]:
    """The sections the customer changed, with their new preference. Each section's ``view``
    becomes what was sent and its ``errors`` what is wrong with the fields that changed."""
    languages = {code for code, _name in languages_of(loaded)}
    out: list[Planned] = []
    for section in sections:
        shown = section.view
        sent = section.view = _implied(_submitted(form, section), shown)
        own = loaded.prefs.get(section.key)
        if sent.reset and not section.is_default:
            if own is not None:
                out.append(Planned(section, None, []))
            continue
        own_quiet = own.quiet_hours if own else None
        before, _ignored = _read(shown, section, languages, own_quiet, loaded.t)
        after, errors = _read(sent, section, languages, own_quiet, loaded.t)
        changed = [name for name in FIELDS if after[name] != before[name]]
        section.errors = [e for name in changed for e in errors.get(name, [])]
        if changed and not section.errors:
            data = (own or PreferenceIn()).model_dump()
            if not section.can_inherit_order and before["channels"] is not INVALID:
                data["channels"] = before["channels"]  # keep the imported order they saw
            data.update({name: after[name] for name in changed})
            out.append(Planned(section, PreferenceIn.model_validate(data), changed))
    return out
