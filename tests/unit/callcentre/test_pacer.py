"""The Pacer turns a rate into evenly spread release instants: no bursts at the top of a minute."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcentre.pacing import Pacer

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def seconds(at: datetime) -> float:
    return (at - T0).total_seconds()


def test_a_minute_of_calls_is_spread_over_the_minute() -> None:
    times, _ = Pacer().next_release_times(count=300, rate_per_s=5.0, now=T0)
    assert len(times) == 300
    gaps = {round(seconds(b) - seconds(a), 6) for a, b in pairwise(times)}
    assert gaps == {0.2}
    assert seconds(times[0]) == 0.0
    assert seconds(times[-1]) == pytest.approx(59.8)
    per_second = Counter(int(seconds(at)) for at in times)
    assert max(per_second.values()) == 5  # never 300 at 09:00:00


def test_release_times_continue_from_the_previous_batch() -> None:
    first, pacer = Pacer().next_release_times(count=3, rate_per_s=2.0, now=T0)
    second, _ = pacer.next_release_times(count=2, rate_per_s=2.0, now=first[-1])
    assert [seconds(at) for at in (*first, *second)] == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_zero_rate_releases_nothing() -> None:
    times, _ = Pacer().next_release_times(count=10, rate_per_s=0.0, now=T0)
    assert times == ()
    step = Pacer().allow(now=T0, rate_per_s=0.0)
    assert not step.allowed
    assert step.wait_s == math.inf
    assert "paused" in step.reason


def test_allow_polled_often_still_spaces_releases() -> None:
    pacer = Pacer()
    released: list[float] = []
    for tenth in range(101):  # polled every 100 ms for 10 s
        now = T0 + timedelta(milliseconds=100 * tenth)
        step = pacer.allow(now=now, rate_per_s=2.0)
        pacer = step.pacer
        if step.allowed:
            released.append(seconds(now))
    assert released == pytest.approx([0.5 * i for i in range(21)])


def test_allow_says_how_long_to_wait() -> None:
    first = Pacer().allow(now=T0, rate_per_s=4.0)
    assert first.allowed and first.wait_s == pytest.approx(0.25)
    early = first.pacer.allow(now=T0 + timedelta(seconds=0.1), rate_per_s=4.0)
    assert not early.allowed
    assert early.wait_s == pytest.approx(0.15)
    assert "held" in early.reason
    on_time = early.pacer.allow(now=T0 + timedelta(seconds=0.25), rate_per_s=4.0)
    assert on_time.allowed


def test_pacer_is_a_value() -> None:
    pacer = Pacer()
    pacer.allow(now=T0, rate_per_s=1.0)
    pacer.next_release_times(count=5, rate_per_s=1.0, now=T0)
    assert pacer == Pacer()


def test_burst_allows_saved_up_releases_then_spaces_them() -> None:
    start = Pacer(tokens=0.0, updated_at=T0, burst=3.0)
    times, _ = start.next_release_times(count=5, rate_per_s=1.0, now=T0 + timedelta(seconds=60))
    assert [seconds(at) for at in times] == pytest.approx([60.0, 60.0, 60.0, 61.0, 62.0])


def test_burst_below_one_is_rejected() -> None:
    with pytest.raises(ValueError):
        Pacer(burst=0.5)


@given(
    st.floats(min_value=0.01, max_value=50.0),
    st.integers(min_value=1, max_value=400),
)
def test_never_faster_than_the_rate(rate: float, count: int) -> None:
    times, _ = Pacer().next_release_times(count=count, rate_per_s=rate, now=T0)
    assert len(times) == count
    for earlier, later in pairwise(times):
        assert seconds(later) - seconds(earlier) >= 1.0 / rate - 2e-6  # microsecond rounding
