"""Agents needed for a service level: the textbook case and the edges."""

from __future__ import annotations

from callcentre.erlang import service_level
from callcentre.staffing import agents_needed


def test_the_textbook_case() -> None:
    # 360 calls an hour, 3-minute handle time: 18 Erlangs; 80 % within 20 s needs 22 agents.
    rate, aht = 360 / 3600, 180.0
    needed = agents_needed(rate, aht, 20.0, 0.8)
    assert needed is not None
    assert service_level(needed, rate, aht, 20.0) >= 0.8
    assert service_level(needed - 1, rate, aht, 20.0) < 0.8
    assert needed == 22


def test_no_traffic_needs_nobody_and_light_traffic_one() -> None:
    assert agents_needed(0.0, 180.0, 20.0, 0.8) == 0
    assert agents_needed(1 / 3600, 60.0, 20.0, 0.8) == 1
