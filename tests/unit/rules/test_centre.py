"""Call-centre hours (weekly, holidays, special days, DST) and the alert linkage."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.alert_types import CentreLinkage, ResponseOption
from rules.centre import (
    CentreHours,
    CentreView,
    Opening,
    callback_options,
    link,
    spread_offset,
)
from tests.unit.rules.builders import closed_centre, open_centre, utc

AMS = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = (Opening(time(9), time(17, 30)),)
HOURS = CentreHours(
    tz="Europe/Amsterdam",
    weekly={
        0: WEEKDAYS,
        1: WEEKDAYS,
        2: WEEKDAYS,
        3: WEEKDAYS,
        4: WEEKDAYS,
        5: (Opening(time(10), time(14)),),
    },
    holidays=frozenset({date(2024, 12, 25), date(2024, 12, 26)}),
    special_days={date(2024, 12, 24): (Opening(time(9), time(13)),)},
)


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS).astimezone(UTC)  # type: ignore[misc, arg-type]


OPEN = [
    (ams(2024, 6, 12, 9, 0), True),  # Wednesday opening
    (ams(2024, 6, 12, 17, 29), True),
    (ams(2024, 6, 12, 17, 30), False),  # closing is exclusive
    (ams(2024, 6, 12, 8, 59), False),
    (ams(2024, 6, 15, 11, 0), True),  # Saturday short hours
    (ams(2024, 6, 16, 11, 0), False),  # Sunday
    (ams(2024, 12, 24, 12, 0), True),  # special day
    (ams(2024, 12, 24, 14, 0), False),
    (ams(2024, 12, 25, 11, 0), False),  # holiday on a Wednesday
]


@pytest.mark.parametrize(("instant", "is_open"), OPEN)
def test_is_open(instant: datetime, is_open: bool) -> None:
    assert HOURS.is_open(instant) is is_open


NEXT = [
    (ams(2024, 6, 12, 12, 0), ams(2024, 6, 12, 12, 0)),  # open now
    (ams(2024, 6, 12, 20, 0), ams(2024, 6, 13, 9, 0)),
    (ams(2024, 6, 14, 18, 0), ams(2024, 6, 15, 10, 0)),  # Friday night -> Saturday 10:00
    (ams(2024, 6, 15, 15, 0), ams(2024, 6, 17, 9, 0)),  # Saturday afternoon -> Monday
    (ams(2024, 12, 24, 14, 0), ams(2024, 12, 27, 9, 0)),  # Christmas
    # the weekend clocks go forward: Monday 09:00 is CEST, one hour earlier in UTC
    (ams(2024, 3, 30, 15, 0), utc(2024, 4, 1, 7, 0)),
    (ams(2024, 10, 26, 15, 0), utc(2024, 10, 28, 8, 0)),
]


@pytest.mark.parametrize(("instant", "expected"), NEXT)
def test_next_opening(instant: datetime, expected: datetime) -> None:
    assert HOURS.next_opening(instant) == expected


def test_a_centre_that_never_opens_has_no_next_opening() -> None:
    assert CentreHours(tz="UTC", weekly={}).next_opening(utc(2024, 1, 1)) is None


def test_round_the_clock_hours() -> None:
    always = CentreHours(tz="UTC", weekly={d: (Opening(time(0), time(0)),) for d in range(7)})
    assert always.is_open(utc(2024, 1, 1, 23, 59))
    assert Opening(time(0), time(0)).describe() == "00:00-24:00"


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="closing must be after opening"):
        Opening(time(17), time(9))
    with pytest.raises(ValueError, match="weekdays"):
        CentreHours(tz="UTC", weekly={7: WEEKDAYS})


def test_view_at_combines_hours_and_load() -> None:
    view = CentreView.at(HOURS, ams(2024, 6, 12, 20, 0), agents_available=0, queue_length=0)
    assert not view.open and view.next_opening == ams(2024, 6, 13, 9, 0)


AGENT = ResponseOption(key="1", intent="agent", label="Speak to an agent")
CONFIRM = ResponseOption(key="2", intent="confirm", label="It was me")
CALLBACK = ResponseOption(key="3", intent="callback", label="Call me")
NOW = utc(2024, 6, 12, 19, 0)
OPENS = utc(2024, 6, 13, 7, 0)

LINKS = [
    # (linkage, centre, action, options' intents, words)
    (CentreLinkage(), open_centre(), "normal", ["agent", "confirm"], "open with capacity"),
    (CentreLinkage(), closed_centre(OPENS), "hold", ["agent", "confirm"], "held until it opens"),
    (
        CentreLinkage(when_closed="callback_instead"),
        closed_centre(OPENS),
        "callback_instead",
        ["callback", "confirm"],
        "centre closed",
    ),
    (
        CentreLinkage(when_closed="send_unchanged"),
        closed_centre(OPENS),
        "send_unchanged",
        ["agent", "confirm"],
        "sent unchanged",
    ),
    (
        CentreLinkage(overload_queue_threshold=10),
        open_centre(queue_length=10),
        "callback_instead",
        ["callback", "confirm"],
        "centre overloaded",
    ),
    (
        CentreLinkage(),
        open_centre(agents_available=0),
        "callback_instead",
        ["callback", "confirm"],
        "0 agents available",
    ),
    (
        CentreLinkage(when_overloaded="hold", overload_recheck_seconds=300),
        open_centre(queue_length=50),
        "hold",
        ["agent", "confirm"],
        "held 300 s for the load to ease",
    ),
    (CentreLinkage(), closed_centre(None), "hold", ["agent", "confirm"], "cannot hold"),
]


@pytest.mark.parametrize(("linkage", "centre", "action", "intents", "words"), LINKS)
def test_link(
    linkage: CentreLinkage, centre: CentreView, action: str, intents: list[str], words: str
) -> None:
    decision = link(
        linkage=linkage, options=(AGENT, CONFIRM), centre=centre, dedupe_key="k", now=NOW
    )
    assert decision.action == action
    assert [o.intent for o in decision.options] == intents
    assert words in decision.reason


def test_hold_spreads_deterministically_over_the_first_minutes() -> None:
    linkage = CentreLinkage(hold_spread_seconds=1800)
    held = [
        link(
            linkage=linkage,
            options=(AGENT,),
            centre=closed_centre(OPENS),
            dedupe_key=f"k{i}",
            now=NOW,
        ).hold_until
        for i in range(2000)
    ]
    assert all(h is not None and OPENS <= h < OPENS + timedelta(seconds=1800) for h in held)
    assert len(set(held)) > 1000  # not all at 09:00:00
    again = link(
        linkage=linkage, options=(AGENT,), centre=closed_centre(OPENS), dedupe_key="k7", now=NOW
    )
    assert again.hold_until == held[7]


def test_overload_hold_rechecks_later() -> None:
    linkage = CentreLinkage(
        when_overloaded="hold", overload_recheck_seconds=300, hold_spread_seconds=0
    )
    decision = link(
        linkage=linkage,
        options=(AGENT,),
        centre=open_centre(queue_length=99),
        dedupe_key="k",
        now=NOW,
    )
    assert decision.hold_until == NOW + timedelta(seconds=300)


def test_no_agent_option_means_the_centre_is_not_consulted() -> None:
    decision = link(
        linkage=CentreLinkage(),
        options=(CONFIRM,),
        centre=closed_centre(OPENS),
        dedupe_key="k",
        now=NOW,
    )
    assert decision.action == "not_applicable" and decision.hold_until is None


def test_callback_options_keep_the_key_and_do_not_duplicate_a_callback() -> None:
    assert callback_options((AGENT, CONFIRM), "Call me back") == (
        ResponseOption(key="1", intent="callback", label="Call me back"),
        CONFIRM,
    )
    assert callback_options((AGENT, CALLBACK), "x") == (CALLBACK,)


def test_spread_offset_bounds() -> None:
    assert spread_offset("anything", 0) == 0
    assert 0 <= spread_offset("anything", 60) < 60
