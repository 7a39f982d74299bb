"""Human-readable tables for the CLI: the demo summary and a customer's history."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, TypedDict

from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import Alert, Decision, DeliveryAttempt, Event, HandOff, Response


class Summary(TypedDict):
    """What the demo did, counted: events, then decisions, alerts, ... by outcome or status."""

    events: int
    decisions: dict[str, int]
    alerts: dict[str, int]
    requested_sends: dict[str, int]
    attempts: dict[str, int]
    responses: dict[str, int]
    handoffs: dict[str, int]


SECTIONS: tuple[
    Literal["decisions", "alerts", "requested_sends", "attempts", "responses", "handoffs"], ...
] = ("decisions", "alerts", "requested_sends", "attempts", "responses", "handoffs")


async def summary(session: AsyncSession) -> Summary:
    async def count(model: Any) -> int:
        return int((await session.exec(select(func.count()).select_from(model))).one())

    attempts = (await session.exec(select(DeliveryAttempt.channel, DeliveryAttempt.status))).all()
    responses = (await session.exec(select(Response.channel, Response.intent))).all()
    return {
        "events": await count(Event),
        "decisions": dict(Counter((await session.exec(select(Decision.outcome))).all())),
        # Alerts raised from events; what customers asked Herald to send (a forward, a call now)
        # is delivered as an alert of its own, counted apart.
        "alerts": dict(
            Counter(
                await session.exec(select(Alert.status).where(col(Alert.event_id).is_not(None)))
            )
        ),
        "requested_sends": {
            f"{t}/{st}": n
            for (t, st), n in sorted(
                Counter(
                    (
                        await session.exec(
                            select(Alert.alert_type, Alert.status).where(
                                col(Alert.event_id).is_(None)
                            )
                        )
                    ).all()
                ).items()
            )
        },
        "attempts": {f"{c}/{s}": n for (c, s), n in sorted(Counter(attempts).items())},
        "responses": {f"{c}/{i}": n for (c, i), n in sorted(Counter(responses).items())},
        "handoffs": dict(Counter((await session.exec(select(HandOff.kind))).all())),
    }


def print_summary(console: Console, data: Summary) -> None:
    table = Table(title="Herald demo summary", show_lines=False)
    table.add_column("what")
    table.add_column("detail")
    table.add_column("count", justify="right")
    table.add_row("events", "ingested", str(data["events"]))
    for section in SECTIONS:
        label = {"alerts": "alert", "requested_sends": "sent on request"}.get(
            section, section.rstrip("s")
        )
        for key, n in sorted(data[section].items()):
            table.add_row(label, key, str(n))
    console.print(table)


def print_history(console: Console, data: dict[str, Any]) -> None:
    def say(text: str) -> None:  # customer data may contain [brackets]: no markup
        console.print(text, markup=False, highlight=False)

    c = data["customer"]
    say(
        f"{c['name']} ({c['ref']}), {c['timezone']}, channels "
        f"{' > '.join(c['channel_order'])}, accounts {', '.join(c['accounts'])}"
    )
    for p in data.get("preferences") or []:
        say(f"preference {p['subject']}: {p['summary']}")
    for ch in data.get("preference_changes") or []:
        say(f"changed {ch['at']} by {ch['actor']}: {ch['subject']} - {ch['summary']}")
    for e in data["events"]:
        say(
            f"\nevent {e['type']} {e['amount']} {e['currency']} "
            f"{e['description'] or ''} ({e['source_event_id']})"
        )
        for d in e["decisions"]:
            say(f"  decision {d['alert_type']}: {d['outcome']} - {d['reason']}")
            for step in d.get("steps") or []:
                say(f"    step {step['channel']} to {step['to']} from {step['not_before']}")
                say(f"      why: {step['reason']}")
            for note in d.get("notes") or []:
                say(f"    note: {note}")
        for a in e["alerts"]:
            say(
                f"  alert #{a['id']} {a['status']}"
                + (f" - {a['closed_reason']}" if a["closed_reason"] else "")
            )
            for t in a["attempts"]:
                trail = " > ".join(
                    h["status"] + ("" if h["applied"] else " (ignored)") for h in t["history"]
                )
                say(f"    {t['channel']} to {t['to']}: {t['status']}  ({trail})")
            for r in a["responses"]:
                say(f"    response by {r['channel']}: {r['key']} ({r['intent']})")
            for h in a["handoffs"]:
                say(f"    hand-off: {h['kind']} ({h['status']})")
