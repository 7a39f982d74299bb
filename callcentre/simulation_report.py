"""The measured results of one simulated day: transfers, waits, abandonment, occupancy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from pydantic import JsonValue

__all__ = ["DayReport", "build_report"]

_HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class DayReport:
    """What a day of releasing alerts did to the call centre (times in seconds from the start).

    ``average_speed_of_answer_s`` is over the transfers an agent answered (the industry's ASA);
    ``answered_within_target_share`` is over all transfers, so an abandoned one counts as missed.
    Per-hour lists cover the working day; the few transfers that arrive after it closes (from
    calls released in its last minute) are counted in the last hour.
    """

    pacing: bool
    recipients: int
    calls_placed: int
    not_delivered: int  # recipients never called within the day
    batch_delivered_after_s: float | None  # when the last recipient was called; None if not all
    answered_by_person: int
    transfers: int
    transfers_per_hour: tuple[int, ...]
    calls_placed_per_hour: tuple[int, ...]
    transfers_answered: int
    transfers_abandoned: int
    abandoned_share: float
    average_speed_of_answer_s: float
    answered_within_target_share: float
    occupancy: float
    occupancy_per_hour: tuple[float, ...]
    last_transfer_handled_at_s: float
    pacing_decisions: int
    mean_decided_rate_per_s: float  # mean of the rates decided (pacing off: the provider's cap)
    events: int

    @property
    def transfers_per_hour_total(self) -> int:
        return sum(self.transfers_per_hour)

    def to_dict(self) -> dict[str, JsonValue]:
        """A JSON-able dict (lists for tuples), rounded for people to read."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = [round(v, 4) if isinstance(v, float) else v for v in value]
            elif isinstance(value, float):
                data[key] = round(value, 4)
        data["transfers_total"] = self.transfers_per_hour_total
        return data


def _hour(at: float, hours: int) -> int:
    return min(hours - 1, max(0, int(at // _HOUR_S)))


def build_report(
    *,
    scenario_day_s: float,
    agents: int,
    recipients: int,
    target_answer_s: float,
    pacing: bool,
    placed_at: Sequence[float],
    answered_by_person: int,
    arrivals: Sequence[float],
    waits: Sequence[float],
    abandoned: int,
    service_spans: Sequence[tuple[float, float]],
    batch_done_at: float | None,
    decisions: int,
    rate_samples: Sequence[tuple[float, float]],
    events: int,
) -> DayReport:
    """Summarise the raw records of a simulated day."""
    hours = max(1, math.ceil(scenario_day_s / _HOUR_S))
    transfers_per_hour = [0] * hours
    for at in arrivals:
        transfers_per_hour[_hour(at, hours)] += 1
    placed_per_hour = [0] * hours
    for at in placed_at:
        placed_per_hour[_hour(at, hours)] += 1

    busy_per_hour = [0.0] * hours
    for start, end in service_spans:
        first, last = _hour(start, hours), _hour(min(end, scenario_day_s), hours)
        for hour in range(first, last + 1):
            low = max(start, hour * _HOUR_S)
            high = min(end, (hour + 1) * _HOUR_S, scenario_day_s)
            if high > low:
                busy_per_hour[hour] += high - low
    hour_lengths = [min(_HOUR_S, scenario_day_s - h * _HOUR_S) for h in range(hours)]
    occupancy_per_hour = tuple(
        busy / (agents * length) if agents and length > 0 else 0.0
        for busy, length in zip(busy_per_hour, hour_lengths, strict=True)
    )
    transfers = len(arrivals)
    answered = len(waits)
    if answered + abandoned != transfers:
        raise AssertionError(f"{answered} answered + {abandoned} abandoned != {transfers}")
    return DayReport(
        pacing=pacing,
        recipients=recipients,
        calls_placed=len(placed_at),
        not_delivered=recipients - len(placed_at),
        batch_delivered_after_s=batch_done_at,
        answered_by_person=answered_by_person,
        transfers=transfers,
        transfers_per_hour=tuple(transfers_per_hour),
        calls_placed_per_hour=tuple(placed_per_hour),
        transfers_answered=answered,
        transfers_abandoned=abandoned,
        abandoned_share=abandoned / transfers if transfers else 0.0,
        average_speed_of_answer_s=sum(waits) / answered if answered else 0.0,
        answered_within_target_share=(
            sum(1 for wait in waits if wait <= target_answer_s) / transfers if transfers else 1.0
        ),
        occupancy=sum(busy_per_hour) / (agents * scenario_day_s) if agents else 0.0,
        occupancy_per_hour=occupancy_per_hour,
        last_transfer_handled_at_s=max((end for _start, end in service_spans), default=0.0),
        pacing_decisions=decisions,
        mean_decided_rate_per_s=(
            sum(rate for _at, rate in rate_samples) / len(rate_samples) if rate_samples else 0.0
        ),
        events=events,
    )
