"""The pacing-off vs pacing-on comparison as a readable table (CLI and benchmark)."""

from __future__ import annotations

from typing import Any


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not within the day"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def _rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    off, on = result["pacing_off"], result["pacing_on"]

    def row(label: str, render: Any, key: str) -> tuple[str, str, str]:
        return (label, render(off[key]), render(on[key]))

    return [
        row("calls placed", str, "calls_placed"),
        row("recipients not called in the day", str, "not_delivered"),
        row("whole batch called after", _duration, "batch_delivered_after_s"),
        row("transfers (total)", str, "transfers_total"),
        row("transfers per hour", lambda v: " ".join(str(x) for x in v), "transfers_per_hour"),
        row("abandoned transfers", lambda v: f"{v:.1%}", "abandoned_share"),
        row("average speed of answer", lambda v: f"{v:.1f} s", "average_speed_of_answer_s"),
        row(
            f"answered within {result['scenario']['policy']['target_answer_s']:g} s",
            lambda v: f"{v:.1%}",
            "answered_within_target_share",
        ),
        row("agent occupancy (working day)", lambda v: f"{v:.1%}", "occupancy"),
        row(
            "occupancy per hour",
            lambda v: " ".join(f"{x:.0%}" for x in v),
            "occupancy_per_hour",
        ),
        row("mean release rate decided", lambda v: f"{v:.2f}/s", "mean_decided_rate_per_s"),
        row("simulated events", str, "events"),
        row("wall time of the simulation", lambda v: f"{v:.2f} s", "wall_time_s"),
    ]


def render_table(result: dict[str, Any]) -> str:
    sc = result["scenario"]
    policy = sc["policy"]
    header = (
        f"{sc['recipients']} alerts, {sc['agents']} agents, {sc['day_s'] / 3600:g} h day, "
        f"AHT {sc['aht_s']:g} s ({sc['handle_time']}), P(person) {sc['p_human']:g}, "
        f"P(agent) {sc['p_agent']:g}, patience exp. mean {sc['patience_mean_s']:g} s, "
        f"cap {policy['calls_per_second']:g} calls/s, seed {sc['seed']}\n"
        f"pacing policy: {policy['service_level_target']:.0%} of transfers answered within "
        f"{policy['target_answer_s']:g} s, headroom {policy['headroom']:g}, "
        f"queue drained over {policy['queue_drain_s']:g} s"
    )
    rows = [("", "pacing OFF", "pacing ON"), *_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [header, ""]
    for index, (label, off, on) in enumerate(rows):
        lines.append(f"{label:<{widths[0]}}  {off:>{widths[1]}}  {on:>{widths[2]}}")
        if index == 0:
            lines.append("-" * (sum(widths) + 4))
    return "\n".join(lines)
