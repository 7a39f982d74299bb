"""Opening hours as administrators edit them on a page: each day's openings as one line of text
("08:00-12:00, 13:00-17:00"), holidays one date a line, and the next days as the rules will see
them. Every problem is returned with the field it belongs to, in words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from pydantic import ValidationError

from alerts.customers.records import iana_zone
from callcentre.state import DAYS, HoursIn
from rules.centre import CentreHours

DAY_WORDS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
_SPAN = re.compile(r"^(\d{1,2})[:.](\d{2})\s*[-\u2013]\s*(\d{1,2})[:.](\d{2})$")  # - or en dash


@dataclass(frozen=True, slots=True)
class DayPreview:
    day: date
    openings: str  # "08:00-20:00" or "" when closed
    why: str  # "Monday", "holiday", ...
    blackout: tuple[str, ...] = ()  # alert types that send nothing that day

    @property
    def closed(self) -> bool:
        return not self.openings


def hours_as_form(hours: HoursIn) -> dict[str, str]:
    """The field values of the form for stored hours."""
    values = {"timezone": hours.timezone}
    for day in DAYS:
        values[f"day_{day}"] = ", ".join(hours.weekly.get(day, []))
    values["holidays"] = "\n".join(d.isoformat() for d in sorted(hours.holidays))
    values["blackouts"] = "\n".join(
        f"{day.isoformat()}: {', '.join(types)}" for day, types in sorted(hours.blackouts.items())
    )
    return values


def _span(text: str) -> str:
    """One opening as stored ("08:00-17:00") from what was typed ("8:00 - 17.00")."""
    m = _SPAN.match(text.strip())
    if not m:
        raise ValueError(f"“{text.strip()}” is not a time range: write it like 08:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"“{text.strip()}” has a time that does not exist")
    if (h2, m2) != (24, 0) and (h2, m2) <= (h1, m1) and (h2, m2) != (0, 0):
        raise ValueError(
            f"“{text.strip()}” closes before it opens: write 09:00-17:00; a night shift is "
            "two ranges, e.g. 22:00-24:00 today and 00:00-06:00 the next day"
        )
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _blackouts(text: str, known: frozenset[str] | None) -> dict[date, list[str]]:
    """``2026-12-31: large_debit, low_balance`` lines; ValueError saying which line is wrong."""
    out: dict[date, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        day_text, sep, types_text = line.partition(":")
        try:
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            raise ValueError(
                f"“{line.strip()}” does not start with a date: write 2026-12-31: large_debit"
            ) from None
        types = [t.strip() for t in types_text.split(",") if t.strip()]
        if not sep or not types:
            raise ValueError(f"“{line.strip()}” names no alert type: write {day}: large_debit")
        unknown = [t for t in types if known is not None and t not in known]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: no alert type has this key; use the keys on the "
                "Alert types page"
            )
        out[day] = sorted({*out.get(day, []), *types})
    return out


def hours_from_form(
    values: dict[str, str], *, alert_types: frozenset[str] | None = None
) -> tuple[HoursIn | None, dict[str, str]]:
    """The hours the form describes, or None and the problem of each field (``alert_types``:
    the keys a blackout may name)."""
    errors: dict[str, str] = {}
    zone = values.get("timezone", "").strip() or "UTC"
    try:
        iana_zone(zone)
    except ValueError:
        errors["timezone"] = (
            f"“{zone}” is not a time zone: write a city zone such as Europe/Amsterdam or "
            "America/New_York"
        )
    weekly: dict[str, list[str]] = {}
    for day in DAYS:
        text = values.get(f"day_{day}", "").strip()
        if not text or text.lower() in ("closed", "-"):
            continue
        try:
            spans = sorted(_span(part) for part in re.split(r"[,;]", text) if part.strip())
        except ValueError as exc:
            errors[f"day_{day}"] = str(exc)
            continue
        for earlier, later in pairwise(spans):
            if later[:5] < earlier[6:] and earlier[6:] != "00:00":
                errors[f"day_{day}"] = f"{earlier} and {later} overlap: join them or move one"
        weekly[day] = spans
    holidays: list[date] = []
    for line in values.get("holidays", "").replace(",", "\n").splitlines():
        if not line.strip():
            continue
        try:
            holidays.append(date.fromisoformat(line.strip()))
        except ValueError:
            errors["holidays"] = (
                f"“{line.strip()}” is not a date: write one a line, like 2026-12-25"
            )
            break
    blackouts: dict[date, list[str]] = {}
    try:
        blackouts = _blackouts(values.get("blackouts", ""), alert_types)
    except ValueError as exc:
        errors["blackouts"] = str(exc)
    if errors:
        return None, errors
    try:
        hours = HoursIn(
            timezone=zone, weekly=weekly, holidays=sorted(set(holidays)), blackouts=blackouts
        )
        hours.to_hours()
    except (ValidationError, ValueError) as exc:
        return None, {"form": str(exc)}
    return hours, {}


def next_days(hours: HoursIn, today: date, days: int = 14) -> list[DayPreview]:
    """``days`` days from ``today`` (the centre's local date): open when, or closed and why."""
    rules: CentreHours = hours.to_hours()
    out = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        openings, why = rules.openings_on(day)
        if why.startswith("holiday"):
            why = "holiday"
        elif why.startswith("special day"):
            why = "special day"
        blackout = tuple(sorted(rules.blackouts.get(day, ())))
        out.append(DayPreview(day, ", ".join(o.describe() for o in openings), why, blackout))
    return out
