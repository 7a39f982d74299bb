"""Call-centre hours and load as the rules see them, and what an agent-offering alert does.

``CentreHours`` answers "is the centre open at this instant?" and "when does it next open?" in
the centre's own zone (weekly hours, holidays, special days). ``link`` applies an alert type's
call-centre linkage: an alert that offers an agent while the centre is closed or overloaded is
held (to the next opening, spread deterministically so thousands of held alerts do not all go
at 09:00:00), sent with a callback option instead of the agent option, or sent unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from rules.alert_types import CentreLinkage, ResponseOption
from rules.facts import as_utc, zone_of

_SEARCH_DAYS = 400  # holidays and closures never close a centre for longer than a year
_MIDNIGHT = time(0)


@dataclass(frozen=True, slots=True)
class Opening:
    """Open from ``opens`` until ``closes`` (wall clock; ``closes`` 00:00 means midnight)."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes != _MIDNIGHT and self.closes <= self.opens:
            raise ValueError(f"{self.describe()}: closing must be after opening")

    def holds(self, wall: time) -> bool:
        wall = wall.replace(tzinfo=None, fold=0)
        return self.opens <= wall and (self.closes == _MIDNIGHT or wall < self.closes)

    def describe(self) -> str:
        return (
            f"{self.opens:%H:%M}-{'24:00' if self.closes == _MIDNIGHT else f'{self.closes:%H:%M}'}"
        )


@dataclass(frozen=True, slots=True)
class CentreHours:
    """Opening hours per weekday (0 = Monday), holidays (closed) and special days (their own
    hours, overriding the weekday), in the centre's IANA zone."""

    tz: str
    weekly: Mapping[int, tuple[Opening, ...]]
    holidays: frozenset[date] = frozenset()
    special_days: Mapping[date, tuple[Opening, ...]] = field(default_factory=dict)
    # Blackout dates: on these dates (in the centre's zone) these alert types send nothing.
    blackouts: Mapping[date, frozenset[str]] = field(default_factory=dict)

    def blacked_out(self, now: datetime) -> frozenset[str]:
        """The alert types that send nothing at ``now`` (a blackout date in the centre's zone)."""
        return self.blackouts.get(now.astimezone(zone_of(self.tz)).date(), frozenset())

    def __post_init__(self) -> None:
        zone_of(self.tz)
        if any(day not in range(7) for day in self.weekly):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")

    def openings_on(self, day: date) -> tuple[tuple[Opening, ...], str]:
        """The openings of ``day`` and which rule gave them."""
        if day in self.special_days:
            return self.special_days[day], f"special day {day}"
        if day in self.holidays:
            return (), f"holiday {day}"
        return self.weekly.get(day.weekday(), ()), f"{day:%A}"

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(zone_of(self.tz))
        openings, _ = self.openings_on(local.date())
        return any(o.holds(local.time()) for o in openings)

    def next_opening(self, now: datetime) -> datetime | None:
        """``now`` if open, else the next instant the centre opens (None within a year)."""
        now = as_utc(now)
        if self.is_open(now):
            return now
        zone = zone_of(self.tz)
        first = now.astimezone(zone).date()
        for offset in range(_SEARCH_DAYS):
            day = first + timedelta(days=offset)
            for opening in sorted(self.openings_on(day)[0], key=lambda o: o.opens):
                at = datetime.combine(day, opening.opens, tzinfo=zone).astimezone(UTC)
                if at > now and self.is_open(at):
                    return at
        return None


@dataclass(frozen=True, slots=True)
class CentreView:
    """The centre's state at decision time (from callcentre's live load and its hours)."""

    open: bool
    agents_available: int
    queue_length: int
    longest_wait_seconds: float = 0.0
    next_opening: datetime | None = None  # when closed: when it opens (None: unknown)
    load_known: bool = True  # False: no recent load was pushed (counted as open with capacity)
    blackout_types: frozenset[str] = frozenset()  # alert types that send nothing today

    @classmethod
    def at(
        cls,
        hours: CentreHours,
        now: datetime,
        *,
        agents_available: int,
        queue_length: int,
        longest_wait_seconds: float = 0.0,
        load_known: bool = True,
    ) -> CentreView:
        is_open = hours.is_open(now)
        return cls(
            open=is_open,
            agents_available=agents_available,
            queue_length=queue_length,
            longest_wait_seconds=longest_wait_seconds,
            next_opening=None if is_open else hours.next_opening(now),
            load_known=load_known,
            blackout_types=hours.blacked_out(now),
        )


CentreAction = Literal["not_applicable", "normal", "hold", "callback_instead", "send_unchanged"]


@dataclass(frozen=True, slots=True)
class CentreDecision:
    action: CentreAction
    options: tuple[ResponseOption, ...]  # the options to offer
    reason: str
    hold_until: datetime | None = None  # when "hold": the earliest send; None = cannot hold


def spread_offset(dedupe_key: str, spread_seconds: int) -> int:
    """A deterministic offset in ``[0, spread_seconds)`` derived from the dedupe key."""
    if spread_seconds <= 0:
        return 0
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % spread_seconds


def callback_options(options: tuple[ResponseOption, ...], label: str) -> tuple[ResponseOption, ...]:
    """The options with the agent option replaced by a callback option (same key), or dropped
    if the alert type already offers a callback."""
    has_callback = any(o.intent == "callback" for o in options)
    out: list[ResponseOption] = []
    for option in options:
        if option.intent != "agent":
            out.append(option)
        elif not has_callback:
            out.append(
                ResponseOption(key=option.key, intent="callback", label=label, queue=option.queue)
            )
    return tuple(out)


def centre_state(linkage: CentreLinkage, centre: CentreView) -> tuple[str, str]:
    """("open" | "closed" | "overloaded", the detail for the reason)."""
    if not centre.open:
        when = centre.next_opening
        return "closed", (
            "no opening known" if when is None else f"opens {when:%Y-%m-%d %H:%M} UTC"
        )
    if not centre.load_known:
        return "open", "open by its hours; no recent load reported"
    detail = (
        f"{centre.agents_available} agents available, {centre.queue_length} waiting "
        f"(threshold {linkage.overload_queue_threshold}), longest wait "
        f"{centre.longest_wait_seconds:.0f} s"
    )
    if centre.agents_available <= 0 or centre.queue_length >= linkage.overload_queue_threshold:
        return "overloaded", detail
    return "open", detail


def link(
    *,
    linkage: CentreLinkage,
    options: tuple[ResponseOption, ...],
    centre: CentreView,
    dedupe_key: str,
    now: datetime,
) -> CentreDecision:
    """Apply the alert type's call-centre linkage to its options at ``now``."""
    now = as_utc(now)
    if not any(o.intent == "agent" for o in options):
        return CentreDecision("not_applicable", options, "offers no agent: centre not consulted")
    state, detail = centre_state(linkage, centre)
    if state == "open":
        return CentreDecision("normal", options, f"centre open with capacity ({detail})")
    choice = linkage.when_closed if state == "closed" else linkage.when_overloaded
    if choice == "callback_instead":
        return CentreDecision(
            "callback_instead",
            callback_options(options, linkage.callback_label),
            f"centre {state} ({detail}): offering a callback instead of an agent",
        )
    if choice == "send_unchanged":
        return CentreDecision(
            "send_unchanged", options, f"centre {state} ({detail}): sent unchanged, agent offered"
        )
    offset = spread_offset(dedupe_key, linkage.hold_spread_seconds)
    if state == "closed":
        if centre.next_opening is None:
            return CentreDecision("hold", options, f"centre closed ({detail}): cannot hold")
        until = centre.next_opening + timedelta(seconds=offset)
        why = f"held until it opens, +{offset} s spread"
    else:
        until = now + timedelta(seconds=linkage.overload_recheck_seconds + offset)
        why = f"held {linkage.overload_recheck_seconds} s for the load to ease, +{offset} s spread"
    return CentreDecision("hold", options, f"centre {state} ({detail}): {why}", hold_until=until)
