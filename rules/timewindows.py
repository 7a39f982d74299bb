"""Daily local-time windows in an IANA zone, exact across DST: when a send may start and until when.

A ``DailyWindow`` is a span of wall-clock time that recurs every day (``21:30-07:30`` crosses
midnight). Whether an instant is inside is decided by its wall-clock time in the zone, so on the
day clocks go back the hour that repeats is inside twice, and on the day they go forward a window
edge that falls into the skipped hour is passed at the transition instant itself. ``leave`` and
``enter`` find the first instant outside / inside by testing every candidate where the answer
can change: the window's edges on the surrounding days (both folds) and the zone's transitions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from rules.facts import as_utc, zone_of
from rules.vocabulary import CHANNELS, Channel

_SCAN_STEP = timedelta(hours=6)  # zones never change offset twice within 6 hours
_HORIZON = timedelta(days=3)
_GIVE_UP = timedelta(hours=50)  # a day is at most 25 hours; two days of windows cover it all


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """Wall-clock ``[start, end)`` every day; crosses midnight when ``end <= start``."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are wall-clock times without a zone")
        if self.start == self.end:
            raise ValueError(f"a window from {self.start:%H:%M} to {self.end:%H:%M} is empty")

    def holds(self, wall: time) -> bool:
        wall = wall.replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def contains(self, instant: datetime, zone: ZoneInfo) -> bool:
        return self.holds(instant.astimezone(zone).time())

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @classmethod
    def parse(cls, text: str) -> DailyWindow:
        """``"21:30-07:30"`` -> DailyWindow(21:30, 07:30)."""
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a window like '21:30-07:30'") from exc
        return cls(start, end)


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in ``(start, end]`` at which ``zone`` changes its UTC offset (to the second)."""
    found: list[datetime] = []
    low = start
    while low < end:
        high = min(low + _SCAN_STEP, end)
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            # offset(a) != offset(b): narrow to the first whole second of the new offset
            a, b = math.floor(low.timestamp()), math.ceil(high.timestamp())
            before = low.astimezone(zone).utcoffset()
            while b - a > 1:
                mid = (a + b) // 2
                if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == before:
                    a = mid
                else:
                    b = mid
            found.append(datetime.fromtimestamp(b, UTC))
        low = high
    return found


def _edges(at: time, zone: ZoneInfo, around: datetime) -> Iterable[datetime]:
    day = around.astimezone(zone).date()
    for offset in (-1, 0, 1, 2):
        d: date = day + timedelta(days=offset)
        for fold in (0, 1):
            local = datetime.combine(d, at, tzinfo=zone).replace(fold=fold)
            yield local.astimezone(UTC)


def leave(window: DailyWindow, zone: ZoneInfo, instant: datetime) -> datetime:
    """The first instant at or after ``instant`` whose wall-clock time is outside ``window``."""
    instant = as_utc(instant)
    if not window.contains(instant, zone):
        return instant
    candidates = [
        *_edges(window.end, zone, instant),
        *transitions(zone, instant, instant + _HORIZON),
    ]
    return min(c for c in candidates if c >= instant and not window.contains(c, zone))


def enter(window: DailyWindow, zone: ZoneInfo, instant: datetime) -> datetime:
    """The first instant after ``instant`` (which must be outside) that is inside ``window``."""
    instant = as_utc(instant)
    if window.contains(instant, zone):
        raise ValueError(f"{instant} is inside {window.describe()}: leave it first")
    candidates = [
        *_edges(window.start, zone, instant),
        *transitions(zone, instant, instant + _HORIZON),
    ]
    return min(c for c in candidates if c > instant and window.contains(c, zone))


@dataclass(frozen=True, slots=True)
class Block:
    """A window in which some channels may not start a send, and why (for the reasons)."""

    window: DailyWindow
    channels: frozenset[Channel]
    why: str  # e.g. "quiet hours 21:30-07:30"


@dataclass(frozen=True, slots=True)
class Shift:
    """Where a send may start: ``at`` (None if never), and which blocks moved it there."""

    at: datetime | None
    moved_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SendWindows:
    """All time-of-day blocks of one customer (quiet hours, legal windows), in their zone."""

    tz: str
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        zone_of(self.tz)

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.tz)

    def blocking(self, channel: Channel, instant: datetime) -> list[Block]:
        """The blocks that forbid ``channel`` at ``instant``."""
        return [
            b
            for b in self.blocks
            if channel in b.channels and b.window.contains(instant, self.zone)
        ]

    def earliest(self, channel: Channel, instant: datetime) -> Shift:
        """The first instant at or after ``instant`` at which ``channel`` is not blocked."""
        if not self.blocks:
            return Shift(as_utc(instant))
        return _earliest(self.tz, self.blocks, channel, as_utc(instant))

    def until(self, channel: Channel, instant: datetime) -> datetime | None:
        """When the next block for ``channel`` begins after ``instant`` (None if none applies)."""
        if not self.blocks:
            return None
        return _until(self.tz, self.blocks, channel, as_utc(instant))

    def as_dict(self) -> dict[str, JsonValue]:
        return {
            "tz": self.tz,
            "blocks": [
                {
                    "window": b.window.describe(),
                    "channels": [c for c in CHANNELS if c in b.channels],
                    "why": b.why,
                }
                for b in self.blocks
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SendWindows:
        blocks = data.get("blocks", [])
        assert isinstance(blocks, list)
        return cls(
            tz=str(data["tz"]),
            blocks=tuple(
                Block(
                    DailyWindow.parse(str(b["window"])),
                    frozenset(c for c in CHANNELS if c in b["channels"]),
                    str(b["why"]),
                )
                for b in blocks
            ),
        )


# A batch decides many customers at the same ``now``, and most share a zone and their blocks:
# the answers are pure functions of (zone, blocks, channel, UTC instant), so they are kept.
@functools.lru_cache(maxsize=8192)
def _earliest(tz: str, blocks: tuple[Block, ...], channel: Channel, start: datetime) -> Shift:
    zone = zone_of(tz)
    at, moved = start, list[str]()
    # each round leaves at least one block; within _GIVE_UP a block recurs at most 3 times
    for _ in range(3 * len(blocks) + 2):
        blocking = [b for b in blocks if channel in b.channels and b.window.contains(at, zone)]
        if not blocking:
            return Shift(at, tuple(dict.fromkeys(moved)))
        for block in blocking:
            at = max(at, leave(block.window, zone, at))
            moved.append(block.why)
        if at - start > _GIVE_UP:
            break
    return Shift(None, tuple(dict.fromkeys(moved)))


@functools.lru_cache(maxsize=8192)
def _until(
    tz: str, blocks: tuple[Block, ...], channel: Channel, start: datetime
) -> datetime | None:
    zone = zone_of(tz)
    ends = [enter(b.window, zone, start) for b in blocks if channel in b.channels]
    return min(ends, default=None)
