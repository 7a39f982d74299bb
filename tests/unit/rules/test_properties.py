"""Properties of decide() over generated customers, preferences, alert types and instants.

The instants cluster around the DST transitions of Europe/Amsterdam and America/New_York (and
Lord Howe's half-hour shift), where wall-clock arithmetic goes wrong first. The checks below are
independent of rules.timewindows: they walk the wall clock on a 15-minute grid (every window
edge, zone offset and transition here lies on it), so a bug there cannot hide itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.alert_types import AlertTypeSpec
from rules.centre import CentreView
from rules.engine import Plan, PlanStep, RecentAlert, decide
from rules.preferences import (
    AlertPreference,
    ChannelChoice,
    Consent,
    ContactPoint,
    CustomerPreferences,
    FrequencyCap,
    QuietHours,
    merge,
)
from rules.timewindows import DailyWindow, enter, leave
from rules.vocabulary import CHANNELS, Channel
from tests.unit.rules.builders import EVER, make_customer, make_event, spec

# Each zone with the instants its clocks change (UTC), where wall-clock arithmetic goes wrong.
TRANSITIONS: dict[str, list[datetime]] = {
    "Europe/Amsterdam": [
        datetime(2024, 3, 31, 1, tzinfo=UTC),  # forward: 02:00 -> 03:00
        datetime(2024, 10, 27, 1, tzinfo=UTC),  # back: 03:00 -> 02:00
        datetime(2025, 3, 30, 1, tzinfo=UTC),
    ],
    "America/New_York": [
        datetime(2024, 3, 10, 7, tzinfo=UTC),  # forward: 02:00 -> 03:00
        datetime(2024, 11, 3, 6, tzinfo=UTC),  # back: 02:00 -> 01:00
        datetime(2025, 11, 2, 6, tzinfo=UTC),
    ],
    "Australia/Lord_Howe": [
        datetime(2024, 10, 5, 15, 30, tzinfo=UTC),  # forward by 30 minutes: 02:00 -> 02:30
        datetime(2025, 4, 5, 15, tzinfo=UTC),  # back by 30 minutes: 02:00 -> 01:30
    ],
    "UTC": [datetime(2024, 6, 1, tzinfo=UTC)],
}
ZONES = sorted(TRANSITIONS)
GRID = timedelta(minutes=15)
MARKETING_HOURS = DailyWindow(time(8), time(21))


@st.composite
def zoned_instants(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an instant: mostly within 30 hours of one of its transitions."""
    tz = draw(st.sampled_from(ZONES))
    if draw(st.integers(0, 3)) == 0:
        anywhere = st.datetimes(
            min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
        )
        return tz, draw(anywhere)
    base = draw(st.sampled_from(TRANSITIONS[tz]))
    return tz, base + timedelta(seconds=draw(st.integers(-30 * 3600, 30 * 3600)))


# window edges: any quarter hour, often one inside the hours the transitions skip or repeat
quarter = st.one_of(
    st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15)),
    st.sampled_from([time(1, 30), time(2), time(2, 15), time(2, 30), time(2, 45), time(3)]),
)
channel_sets = st.frozensets(st.sampled_from(CHANNELS), min_size=1)


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    start = draw(quarter)
    end = draw(quarter.filter(lambda t: t != start))
    return QuietHours(DailyWindow(start, end), draw(channel_sets))


@st.composite
def consents(draw: st.DrawFn) -> Consent | None:
    # mostly usable, so that most examples produce plans worth checking
    kinds = ["service"] * 3 + ["marketing"] * 4 + ["none", "unconfirmed", "withdrawn"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    withdrawn = datetime(2024, 1, 1, tzinfo=UTC) if kind == "withdrawn" else None
    marketing = kind in ("marketing", "unconfirmed")
    return Consent("test", EVER, kind == "marketing", marketing, withdrawn)


@st.composite
def contact_points(draw: st.DrawFn) -> tuple[ContactPoint, ...]:
    phones = draw(st.sampled_from([0, 1, 1, 2, 2, 3]))
    emails = draw(st.sampled_from([0, 1, 1, 2]))
    rarely = st.integers(0, 5).map(lambda n: n == 0)
    out = [
        ContactPoint(
            f"p{i}",
            "phone",
            f"+3161234567{i}",
            draw(consents()),
            sms_opted_out=draw(rarely),
            sms_capable=not draw(rarely),
            invalid=draw(rarely),
        )
        for i in range(phones)
    ]
    out += [
        ContactPoint(f"e{i}", "email", f"c{i}@example.com", draw(consents())) for i in range(emails)
    ]
    return tuple(out)


@st.composite
def preferences(
    draw: st.DrawFn, contacts: tuple[ContactPoint, ...], key: str
) -> CustomerPreferences:
    def pref() -> AlertPreference:
        choices = None
        if contacts and draw(st.integers(0, 2)) == 0:
            picked = draw(st.lists(st.sampled_from(contacts), min_size=1, max_size=4))
            choices = tuple(
                ChannelChoice(
                    draw(st.sampled_from(["voice", "sms"] if c.kind == "phone" else ["email"])),
                    c.id,
                )
                for c in picked
            )
        quiet = draw(st.none() | st.lists(quiet_hours(), min_size=1, max_size=2).map(tuple))
        opted = draw(st.none() | st.frozensets(st.sampled_from(CHANNELS), max_size=1))
        opted_out = draw(st.sampled_from([None] * 6 + [False, True]))
        return AlertPreference(choices, quiet, None, opted_out, opted)

    caps = draw(
        st.lists(
            st.builds(
                FrequencyCap,
                st.sampled_from([0, 1, 1, 2, 3]),
                st.sampled_from([3600, 6 * 3600, 86400]),
                st.sampled_from([None, key]),
            ),
            max_size=2,
        )
    )
    per_type = {key: pref()} if draw(st.booleans()) else {}
    return CustomerPreferences(contacts, pref(), per_type, tuple(caps))


@st.composite
def alert_types(draw: st.DrawFn) -> AlertTypeSpec:
    category = draw(st.sampled_from(["service", "marketing"]))
    order = draw(st.permutations(list(CHANNELS)).map(lambda p: p[: draw(st.integers(1, 3))]))
    choice = st.sampled_from(["hold", "callback_instead", "send_unchanged"])
    options = [{"key": "2", "intent": "confirm", "label": "ok"}]
    if draw(st.booleans()):
        options.append({"key": "1", "intent": "agent", "label": "agent"})
    return spec(
        category=category,
        mandatory=category == "service" and draw(st.booleans()),
        ttl_seconds=draw(st.sampled_from([3600, 6 * 3600, 86400, 3 * 86400])),
        options=options,
        dedupe={
            "window_seconds": draw(st.sampled_from([0, 3600, 86400])),
            "key": draw(
                st.sampled_from(
                    ["{alert_type}:{event.source_event_id}", "{alert_type}:{local_date}"]
                )
            ),
        },
        delivery={
            "channel_order": order,
            "fallback_wait_seconds": draw(st.sampled_from([0, 300, 3600])),
            "channels": {
                c: {
                    "attempts": draw(st.integers(1, 3)),
                    "interval_seconds": draw(st.sampled_from([60, 900, 7200])),
                }
                for c in order
            },
        },
        centre={
            "when_closed": draw(choice),
            "when_overloaded": draw(choice),
            "hold_spread_seconds": draw(st.sampled_from([0, 1800])),
        },
    )


@st.composite
def centres(draw: st.DrawFn, now: datetime) -> CentreView:
    is_open = draw(st.booleans())
    opening = None if is_open else now + timedelta(minutes=draw(st.integers(1, 3000)))
    return CentreView(is_open, draw(st.integers(0, 3)), draw(st.integers(0, 20)), 0.0, opening)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    alert = draw(alert_types())
    contacts = draw(contact_points())
    tz, now = draw(zoned_instants())
    return {
        "alert": alert,
        "prefs": draw(preferences(contacts, alert.key)),
        "customer": make_customer(tz=tz),
        "now": now,
        "centre": draw(centres(now)),
    }


# ---------------------------------------------------------------------------------------------
# Independent checks


def _grid_after(instant: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((instant - epoch) // GRID + 1) * GRID


def _inside(window: DailyWindow, wall: time) -> bool:
    """The test's own reading of a daily window (not DailyWindow.holds)."""
    minute = wall.hour * 60 + wall.minute
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute
    return (minute - start) % 1440 < (end - start) % 1440


def _wall_clock_stays_outside(
    window: DailyWindow, zone: ZoneInfo, start: datetime, end: datetime
) -> bool:
    """No instant of [start, end) has a wall-clock time inside ``window`` (checked at start and
    at every grid point before end: window edges and zone shifts all lie on the grid)."""
    if _inside(window, start.astimezone(zone).time()):
        return False
    at = _grid_after(start)
    stop = min(end, start + timedelta(hours=26))  # a longer span always meets a daily window
    while at < stop:
        if _inside(window, at.astimezone(zone).time()):
            return False
        at += GRID
    return end <= stop


def _allowed(step: PlanStep, s: dict[str, Any]) -> bool:
    contact = next(c for c in s["prefs"].contact_points if c.id == step.contact_point_id)
    pref = merge(s["prefs"].default, s["prefs"].per_alert_type.get(s["alert"].key))
    consent = contact.consent
    return (
        step.channel not in (pref.opted_out_channels or frozenset())
        and not contact.invalid
        and not (step.channel == "sms" and (contact.sms_opted_out or not contact.sms_capable))
        and consent is not None
        and consent.withdrawn_at is None
        and (s["alert"].category == "service" or (consent.confirmed and consent.marketing))
        and contact.kind == {"voice": "phone", "sms": "phone", "email": "email"}[step.channel]
    )


def _decide(s: dict[str, Any], recent: list[RecentAlert], now: datetime, event_id: str) -> Any:
    return decide(
        event=make_event(amount=Decimal("900"), source_event_id=event_id),
        customer=s["customer"],
        preferences=s["prefs"],
        alert_type=s["alert"],
        centre=s["centre"],
        recent_alerts=recent,
        now=now,
    )


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_step_is_allowed_timely_and_outside_quiet_hours(s: dict[str, Any]) -> None:
    decision = _decide(s, [], s["now"], "E-1")
    if not isinstance(decision, Plan):
        assert decision.reason
        return
    zone = ZoneInfo(s["customer"].tz)
    pref = merge(s["prefs"].default, s["prefs"].per_alert_type.get(s["alert"].key))
    assert not pref.opted_out or s["alert"].mandatory
    previous = decision.steps[0].not_before
    for step in decision.steps:
        assert step.reason
        assert _allowed(step, s), step
        assert s["now"] <= step.not_before < step.deadline <= decision.expires_at
        assert step.not_before >= previous
        previous = step.not_before
        for quiet in pref.quiet_hours or ():
            if step.channel in quiet.channels:
                assert _wall_clock_stays_outside(quiet.window, zone, step.not_before, step.deadline)
        if decision.category == "marketing" and step.channel in ("voice", "sms"):
            night = DailyWindow(MARKETING_HOURS.end, MARKETING_HOURS.start)
            assert _inside(MARKETING_HOURS, step.not_before.astimezone(zone).time())
            assert _wall_clock_stays_outside(night, zone, step.not_before, step.deadline)


@PROPERTY_SETTINGS
@given(
    scenarios(),
    st.lists(
        st.tuples(st.integers(0, 4 * 3600), st.sampled_from(["E-1", "E-2"])), min_size=1, max_size=8
    ),
    st.lists(st.integers(1, 86400), max_size=3),
)
def test_a_stream_of_events_never_duplicates_and_never_exceeds_a_cap(
    s: dict[str, Any], arrivals: list[tuple[int, str]], history: list[int]
) -> None:
    alert: AlertTypeSpec = s["alert"]
    recent = [
        RecentAlert(f"other:{i}", "other_type", s["now"] - timedelta(seconds=ago))
        for i, ago in enumerate(history)
    ]
    now = s["now"]
    for gap, event_id in arrivals:
        now += timedelta(seconds=gap)
        decision = _decide(replace_centre(s, now), recent, now, event_id)
        if not isinstance(decision, Plan):
            continue
        window = timedelta(seconds=alert.dedupe.window_seconds)
        assert not any(
            r.dedupe_key == decision.dedupe_key and r.created_at > now - window for r in recent
        )
        recent.append(RecentAlert(decision.dedupe_key, alert.key, now))
        if alert.mandatory:
            continue
        for cap in s["prefs"].caps:
            if cap.applies_to(alert.key):
                since = now - timedelta(seconds=cap.period_seconds)
                sent = [r for r in recent if r.created_at > since and cap.applies_to(r.alert_type)]
                assert len(sent) <= cap.max_alerts


def replace_centre(s: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Keep a closed centre's next opening in the future as time moves on."""
    centre: CentreView = s["centre"]
    if centre.next_opening is not None and centre.next_opening <= now:
        centre = replace(centre, next_opening=now + timedelta(minutes=5))
    return {**s, "centre": centre}


@PROPERTY_SETTINGS
@given(scenarios(), st.sampled_from(list(CHANNELS)))
def test_a_channel_the_customer_opted_out_of_is_never_used(
    s: dict[str, Any], channel: Channel
) -> None:
    prefs: CustomerPreferences = s["prefs"]
    blocked = AlertPreference(opted_out_channels=frozenset({channel}))
    s = {**s, "prefs": replace(prefs, per_alert_type={s["alert"].key: blocked})}
    decision = _decide(s, [], s["now"], "E-1")
    if isinstance(decision, Plan):
        assert all(step.channel != channel for step in decision.steps)


@st.composite
def windows(draw: st.DrawFn) -> DailyWindow:
    start = draw(quarter)
    return DailyWindow(start, draw(quarter.filter(lambda t: t != start)))


def _walk(zone: ZoneInfo, start: datetime, want_inside: bool, window: DailyWindow) -> datetime:
    """The first grid instant (or ``start`` itself) whose wall clock is (not) in the window."""
    at = start
    while _inside(window, at.astimezone(zone).time()) is not want_inside:
        at = _grid_after(at) if at == start else at + GRID
        assert at - start < timedelta(hours=60)
    return at


@PROPERTY_SETTINGS
@given(windows(), zoned_instants())
def test_leave_and_enter_match_a_walk_along_the_wall_clock(
    window: DailyWindow, zoned: tuple[str, datetime]
) -> None:
    tz, instant = zoned
    zone = ZoneInfo(tz)
    outside = leave(window, zone, instant)
    assert outside == _walk(zone, instant, False, window)
    assert enter(window, zone, outside) == _walk(zone, outside + timedelta(seconds=1), True, window)
