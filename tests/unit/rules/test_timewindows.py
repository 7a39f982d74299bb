"""Daily windows across midnight and DST: leave, enter, transitions, send windows."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from rules.timewindows import Block, DailyWindow, SendWindows, enter, leave, transitions
from tests.unit.rules.builders import utc

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as a UTC instant (aware datetimes in one zone compare by
    wall clock, ignoring fold, so tests compare UTC instants)."""
    return datetime(*args, tzinfo=zone).replace(fold=fold).astimezone(UTC)  # type: ignore[misc, arg-type]


@pytest.mark.parametrize(
    ("zone", "start", "end", "expected"),
    [
        (AMS, utc(2024, 3, 30), utc(2024, 4, 2), [utc(2024, 3, 31, 1, 0)]),
        (AMS, utc(2024, 10, 26), utc(2024, 10, 29), [utc(2024, 10, 27, 1, 0)]),
        (NYC, utc(2024, 3, 9), utc(2024, 3, 12), [utc(2024, 3, 10, 7, 0)]),
        (NYC, utc(2024, 11, 2), utc(2024, 11, 5), [utc(2024, 11, 3, 6, 0)]),
        (AMS, utc(2024, 6, 1), utc(2024, 6, 4), []),
    ],
)
def test_transitions_to_the_second(
    zone: ZoneInfo, start: datetime, end: datetime, expected: list[datetime]
) -> None:
    assert transitions(zone, start, end) == expected


LEAVE = [
    # window, zone, instant (local), expected first instant outside (local)
    ("21:30-07:30", AMS, local(AMS, 2024, 6, 12, 23, 0), local(AMS, 2024, 6, 13, 7, 30)),
    ("21:30-07:30", AMS, local(AMS, 2024, 6, 12, 6, 0), local(AMS, 2024, 6, 12, 7, 30)),
    ("21:30-07:30", AMS, local(AMS, 2024, 6, 12, 12, 0), local(AMS, 2024, 6, 12, 12, 0)),
    ("21:30-07:30", AMS, local(AMS, 2024, 6, 12, 21, 30), local(AMS, 2024, 6, 13, 7, 30)),
    ("21:30-07:30", AMS, local(AMS, 2024, 6, 12, 7, 30), local(AMS, 2024, 6, 12, 7, 30)),
    # the night clocks go forward: 07:30 CEST is only 8 real hours after 22:30 CET
    ("21:30-07:30", AMS, local(AMS, 2024, 3, 30, 22, 30), local(AMS, 2024, 3, 31, 7, 30)),
    ("12:00-14:00", AMS, local(AMS, 2024, 6, 12, 13, 0), local(AMS, 2024, 6, 12, 14, 0)),
    # the window ends inside the skipped hour (02:00-03:00 EST): left at the jump itself
    ("01:00-02:30", NYC, local(NYC, 2024, 3, 10, 1, 10), local(NYC, 2024, 3, 10, 3, 0)),
    # the window ends inside the repeated hour: left at its first 01:30 (EDT)
    ("21:30-01:30", NYC, local(NYC, 2024, 11, 3, 1, 10), local(NYC, 2024, 11, 3, 1, 30)),
]


@pytest.mark.parametrize(("text", "zone", "instant", "expected"), LEAVE)
def test_leave(text: str, zone: ZoneInfo, instant: datetime, expected: datetime) -> None:
    window = DailyWindow.parse(text)
    out = leave(window, zone, instant)
    assert out == expected
    assert not window.contains(out, zone)


def test_the_repeated_hour_is_inside_again() -> None:
    window = DailyWindow.parse("21:30-01:30")
    first_exit = leave(window, NYC, local(NYC, 2024, 11, 3, 1, 10))
    # at 02:00 EDT clocks go back to 01:00 EST: the window's wall-clock times come round again
    assert enter(window, NYC, first_exit) == local(NYC, 2024, 11, 3, 1, 0, fold=1)


ENTER = [
    ("21:30-07:30", AMS, local(AMS, 2024, 6, 12, 12, 0), local(AMS, 2024, 6, 12, 21, 30)),
    ("21:30-07:30", AMS, local(AMS, 2024, 10, 26, 12, 0), local(AMS, 2024, 10, 26, 21, 30)),
    # a window starting inside the skipped hour is entered at the jump
    ("02:30-04:00", NYC, local(NYC, 2024, 3, 10, 1, 0), local(NYC, 2024, 3, 10, 3, 0)),
]


@pytest.mark.parametrize(("text", "zone", "instant", "expected"), ENTER)
def test_enter(text: str, zone: ZoneInfo, instant: datetime, expected: datetime) -> None:
    window = DailyWindow.parse(text)
    assert enter(window, zone, instant) == expected
    assert window.contains(expected, zone)


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="empty"):
        DailyWindow(time(8), time(8))
    with pytest.raises(ValueError, match="like '21:30-07:30'"):
        DailyWindow.parse("evening")
    with pytest.raises(ValueError, match="no time zone"):
        leave(DailyWindow.parse("21:00-08:00"), AMS, datetime(2024, 1, 1))


QUIET = Block(DailyWindow.parse("21:30-07:30"), frozenset({"voice", "sms"}), "quiet hours")
LEGAL = Block(DailyWindow.parse("21:00-08:00"), frozenset({"voice", "sms"}), "legal window")
LUNCH = Block(DailyWindow.parse("07:00-09:00"), frozenset({"voice"}), "no calls at breakfast")


def test_earliest_applies_every_block_of_the_channel() -> None:
    windows = SendWindows("Europe/Amsterdam", (QUIET, LEGAL, LUNCH))
    night = local(AMS, 2024, 6, 12, 22, 0)
    voice = windows.earliest("voice", night)
    assert voice.at == local(AMS, 2024, 6, 13, 9, 0)
    assert set(voice.moved_by) == {"quiet hours", "legal window", "no calls at breakfast"}
    assert windows.earliest("sms", night).at == local(AMS, 2024, 6, 13, 8, 0)
    email = windows.earliest("email", night)
    assert (email.at, email.moved_by) == (night, ())


def test_earliest_is_none_when_the_blocks_cover_the_whole_day() -> None:
    day = Block(DailyWindow.parse("08:00-21:00"), frozenset({"sms"}), "day")
    windows = SendWindows("Europe/Amsterdam", (LEGAL, day))
    assert windows.earliest("sms", local(AMS, 2024, 6, 12, 12, 0)).at is None


def test_until_is_the_next_block_start() -> None:
    windows = SendWindows("Europe/Amsterdam", (QUIET,))
    assert windows.until("sms", local(AMS, 2024, 6, 12, 12)) == local(AMS, 2024, 6, 12, 21, 30)
    assert windows.until("email", local(AMS, 2024, 6, 12, 12)) is None


def test_send_windows_round_trip_as_json() -> None:
    windows = SendWindows("America/New_York", (QUIET, LUNCH))
    assert SendWindows.from_dict(windows.as_dict()) == windows


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        SendWindows("Mars/Olympus_Mons")
