"""Preferences, consent changes and decisions in words, as the single view shows them:
``opted_out: inherited → yes``, ``consent for phone +31***78``, a decision's masked plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alerts.customers.history.views import DecisionStep
from channels.masking import mask

# The fields of alerts.customers.preferences.PreferenceIn, in the order a summary lists them.
PREFERENCE_FIELDS = (
    "channels",
    "quiet_hours",
    "language",
    "opted_out",
    "opted_out_channels",
    "caps",
)


def _channels(value: Any, contacts: Mapping[int, str]) -> str:
    return " > ".join(
        f"{c.get('channel')} to {contacts.get(c.get('contact_point_id', 0), '?')}" for c in value
    )


def _quiet_hours(value: Any, _contacts: Mapping[int, str]) -> str:
    return ", ".join(
        str(q.get("window"))
        + (f" ({', '.join(q['channels'])})" if len(q.get("channels", [])) < 3 else "")
        for q in value
    )


def _caps(value: Any, _contacts: Mapping[int, str]) -> str:
    return ", ".join(
        f"{c.get('max_alerts')} per {c.get('period_seconds')} s"
        + (f" of {c['alert_type']}" if c.get("alert_type") else "")
        for c in value
    )


# The fields that are lists of objects, each in its own words ("none" when empty).
_LISTS: dict[str, Callable[[Any, Mapping[int, str]], str]] = {
    "channels": _channels,
    "quiet_hours": _quiet_hours,
    "caps": _caps,
}


def _words(key: str, value: Any, contacts: Mapping[int, str]) -> str:
    """One preference or consent field as a person reads it."""
    if value is None:
        return "inherited" if key in PREFERENCE_FIELDS else "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in _LISTS:
        return _LISTS[key](value, contacts) or "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def summarize_change(
    before: Mapping[str, object],
    after: Mapping[str, object],
    contacts: Mapping[int, str] | None = None,
) -> str:
    """``opted_out: inherited → yes; language: en → fr``: what changed, field by field."""
    contacts = contacts or {}
    keys = [k for k in PREFERENCE_FIELDS if k in before or k in after]
    keys += [k for k in {**before, **after} if k not in keys]
    parts = [
        f"{k}: {_words(k, before.get(k), contacts)} → {_words(k, after.get(k), contacts)}"
        for k in keys
        if before.get(k) != after.get(k)
    ]
    if not parts:
        return "no change" if before or after else "reset (nothing was stored)"
    return "; ".join(parts)


def describe_preference(
    data: Mapping[str, object], contacts: Mapping[int, str] | None = None
) -> str:
    """``quiet_hours: 22:00-07:00; opted_out: yes``: a stored preference, field by field."""
    keys = [k for k in PREFERENCE_FIELDS if k in data] + [
        k for k in data if k not in PREFERENCE_FIELDS
    ]
    return "; ".join(f"{k}: {_words(k, data[k], contacts or {})}" for k in keys) or (
        "everything inherited"
    )


def subject(alert_type: str, contacts: Mapping[int, str]) -> str:
    """What a PreferenceChange is about, in words."""
    if alert_type == "*":
        return "default preference"
    if alert_type.startswith("contact:"):
        ref = alert_type.removeprefix("contact:")
        return f"consent for {contacts.get(int(ref), ref) if ref.isdigit() else ref}"
    return f"{alert_type} preference"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def decision_steps(detail: Mapping[str, object]) -> list[DecisionStep]:
    """The plan steps of ``alerts.decisions.rows.stored_detail``, the address always masked."""
    steps = detail.get("steps")
    return [
        DecisionStep(
            channel=_text(s.get("channel")),
            to=mask(str(s.get("address", ""))),
            not_before=_text(s.get("not_before")),
            deadline=_text(s.get("deadline")),
            reason=_text(s.get("reason")),
        )
        for s in (steps if isinstance(steps, list) else [])
        if isinstance(s, dict)
    ]


def decision_notes(detail: Mapping[str, object]) -> list[str]:
    notes = detail.get("notes")
    return [str(n) for n in notes] if isinstance(notes, list) else []
