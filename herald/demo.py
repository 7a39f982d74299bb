"""`herald demo`: demo customers and camt.054 feeds through the whole loop, then the admin UI.

Every way a customer can answer an alert is shown by one demo customer (examples/customers.csv,
their simulated behaviour in examples/scenario-demo.yaml): by voice an agent (live transfer with
a whisper), confirm, hear it again, an automated transaction (the demo bank, herald/demo_bank.py),
a copy by SMS, a callback at a keyed-in time and stop-these-alerts; by SMS a confirmation, STOP and
a free-text question (a task for an agent); by email an agent, forward-with-a-note and call-me-now.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import socket
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.customers.history import customer_history
from alerts.customers.history.views import AlertView, HandOffView, ResponseView
from alerts.customers.records import import_customers
from alerts.decisions.evaluate import evaluate_pending
from alerts.ingestion.files import expand_paths, ingest_file
from alerts.models import ContactPoint, Customer, HandOff
from herald.config import Settings
from herald.demo_bank import DemoBank, running_bank
from herald.embedded import PortTakenError, free_port
from herald.report import Summary, print_summary, summary
from herald.stack import Stack, embedded_stack
from herald.worker import drain

logger = logging.getLogger(__name__)


def examples_dir() -> Path:
    """The demo's data: inside the package when installed from a wheel (pyproject.toml ships
    examples/ as herald/examples), else the source checkout's examples/."""
    here = Path(__file__).resolve().parent
    packaged = here / "examples"
    return packaged if packaged.is_dir() else here.parent / "examples"


EXAMPLES = examples_dir()
DEMO_USER = "admin"
DEMO_PASSWORD = "herald-demo-password"
HANDOFF_WORDS = {
    "live_transfer": "live transfer to the call centre",
    "callback": "callback to the call centre",
    "call_now": "called them back at once",
    "task": "task for the call centre",
}


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def demo_settings(settings: Settings) -> Settings:
    """A fresh, private demo set-up: own data dir and SQLite file, free loopback ports."""
    data_dir = settings.data_dir / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)
    api_port = settings.api_port if _port_free(settings.api_port) else free_port()
    sim_port = (
        settings.twilio.simulator_port
        if _port_free(settings.twilio.simulator_port)
        else free_port()
    )
    sink_port = settings.smtp.sink_port if _port_free(settings.smtp.sink_port) else free_port()
    bounce_port = (
        settings.smtp.bounce_port if _port_free(settings.smtp.bounce_port) else free_port()
    )
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": None,
            "api_host": "127.0.0.1",
            "api_port": api_port,
            "public_url": f"http://127.0.0.1:{api_port}",
            "twilio": settings.twilio.model_copy(
                update={
                    "account_sid": None,
                    "auth_token": None,
                    "api_base": None,
                    "simulator_port": sim_port,
                }
            ),
            "smtp": settings.smtp.model_copy(
                update={"host": None, "sink_port": sink_port, "bounce_port": bounce_port}
            ),
        }
    )


async def click_email_link(
    stack: Stack, *, to: str, label: str, form: dict[str, str] | None = None
) -> str:
    """Act as the customer: open the email's link (a confirm page or a form), then press its
    button (with ``form`` filled in, e.g. the forward page's address and note)."""
    assert stack.sink is not None
    for _ in range(100):
        mails = [m for m in stack.sink.messages if to in str(m["To"])]
        if mails:
            break
        await asyncio.sleep(0.1)
    else:
        return "no email arrived"
    body = mails[-1].get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    match = re.search(rf"{re.escape(label)}: (\S+)", text)
    if not match:
        return "no link in the email"
    url = match.group(1)
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(url)
        answered = await client.post(url, data={**(form or {}), "confirm": "yes"})
    return f"GET {page.status_code}, POST {answered.status_code}"


def _answer(r: ResponseView) -> str:
    if r.intent == "forward":  # text: "to k***@example.com: the note"
        to, _, note = (r.text or "").removeprefix("to ").partition(": ")
        return f"forwarded it by email to {to}" + (f" with the note {note!r}" if note else "")
    said = r.text if r.channel == "sms" and r.text else r.key
    return f"answered {said!r} by {r.channel} ({r.intent})"


def _handoff(h: HandOffView, tz: str, intents: dict[int, str]) -> str:
    if intents.get(h.response_id) == "unknown":
        return "a task for an agent: read the message and call back"
    words = HANDOFF_WORDS.get(h.kind, f"{h.kind.replace('_', ' ')} to the call centre")
    at = h.context.get("callback_at")
    if isinstance(at, str) and at:
        local = datetime.fromisoformat(at).astimezone(ZoneInfo(tz))
        words += f" at {local:%H:%M} their time ({local:%a %d %b})"
    return words


def _alert_story(alert: AlertView, tz: str) -> str:
    steps = " then ".join(f"{t.channel} {t.status.replace('_', ' ')}" for t in alert.attempts)
    answers = ", ".join(_answer(r) for r in alert.responses)
    intents = {r.id: r.intent for r in alert.responses}
    handoffs = ", ".join(_handoff(h, tz, intents) for h in alert.handoffs)
    return "; ".join(p for p in (steps, answers, handoffs) if p)


async def customer_story(session: AsyncSession, ref: str, *, notes: Sequence[str] = ()) -> str:
    """One line per demo customer: the decision, the attempts, the answers, what Herald did
    (the first page of their history: a demo customer has a few alerts)."""
    data = await customer_history(session=session, external_ref=ref, mask_contacts=True)
    if data is None:
        return f"{ref}: not found"
    tz = data.customer.timezone
    parts: list[str] = []
    for event in data.events:
        parts.extend(_alert_story(alert, tz) for alert in event.alerts)
        if not event.alerts:
            parts.extend(f"no alert ({d.reason})" for d in event.decisions)
    parts.extend(
        f"{c.subject} changed by {c.actor} ({c.summary})"
        for c in data.preference_changes
        if c.actor.startswith("customer")
    )
    parts.extend(f"no more SMS to {c.address}" for c in data.customer.contacts if c.sms_opted_out)
    parts.extend(notes)
    return f"{ref} {data.customer.name}: " + " | ".join(parts)


# The demo's answers in the other languages (nl, fr, de, es), for its customers who speak them.
DEMO_LABELS: dict[str, tuple[str, str, str, str]] = {
    "1": (
        "Een medewerker spreken",
        "Parler à un conseiller",
        "Mit einem Mitarbeiter sprechen",
        "Hablar con un agente",
    ),
    "2": (
        "Deze betaling was van mij",
        "Je reconnais ce paiement",
        "Die Zahlung war von mir",
        "Reconozco este pago",
    ),
    "3": ("Mijn pas blokkeren", "Bloquer ma carte", "Meine Karte sperren", "Bloquear mi tarjeta"),
    "4": (
        "Stuur mij dit per sms",
        "Recevoir ceci par SMS",
        "Das per SMS erhalten",
        "Recibir esto por SMS",
    ),
    "5": (
        "Later teruggebeld worden",
        "Me rappeler plus tard",
        "Später zurückgerufen werden",
        "Que me llamen luego",
    ),
    "6": (
        "Stoppen met deze berichten",
        "Ne plus recevoir ces alertes",
        "Diese Benachrichtigungen abbestellen",
        "No recibir estos avisos",
    ),
    "9": (
        "Dit bericht opnieuw horen",
        "Réécouter ce message",
        "Diese Nachricht noch einmal hören",
        "Escuchar este mensaje de nuevo",
    ),
}


def demo_options(bank_url: str) -> list[dict[str, Any]]:
    """large_debit's routing table in the demo: one key for every kind of answer."""
    options: list[dict[str, Any]] = [
        {"key": "1", "intent": "agent", "label": "Speak to an agent", "queue": "fraud"},
        {"key": "2", "intent": "confirm", "label": "This payment was mine"},
        {"key": "3", "intent": "transaction", "label": "Block my card", "endpoint": bank_url},
        {"key": "4", "intent": "sms_copy", "label": "Send me this by text"},
        {"key": "5", "intent": "callback", "label": "Call me back later"},
        {"key": "6", "intent": "opt_out", "label": "Stop these alerts"},
        {"key": "9", "intent": "repeat", "label": "Hear this again"},
    ]
    for option in options:
        option["labels"] = dict(
            zip(("nl", "fr", "de", "es"), DEMO_LABELS[option["key"]], strict=True)
        )
    return options


async def demo_queues(session: AsyncSession) -> None:
    """The demo centre's queues: general (the default) and fraud, where large_debit's
    "speak to an agent" goes."""
    from callcentre.queues import QueueIn, save_queue

    await save_queue(session=session, key="general", queue=QueueIn(name="General"))
    await save_queue(
        session=session,
        key="fraud",
        queue=QueueIn(name="Fraud", priority=80, target_answer_seconds=30),
    )


async def tune_for_demo(
    session: AsyncSession, *, fallback_wait_seconds: int = 2, bank_url: str | None = None
) -> None:
    """What an administrator would do for a quick demo: the call centre open around the clock,
    and large_debit calling once and falling back to the next channel after 2 seconds instead
    of twice 15 minutes apart and then 5 minutes. With ``bank_url`` (the demo bank's endpoint),
    large_debit also gets the full routing table of ``demo_options``, and is made optional so
    that "stop these alerts" takes effect."""
    from alerts.alert_types.store import get_spec, save_spec, seed_catalogue
    from callcentre.models import CentreConfig
    from callcentre.state import DAYS

    await seed_catalogue(session)
    if (await session.exec(select(CentreConfig))).first() is None:  # one row: the hours
        session.add(
            CentreConfig(hours={"timezone": "UTC", "weekly": {d: ["00:00-24:00"] for d in DAYS}})
        )
    spec = await get_spec(session, "large_debit")
    assert spec is not None
    data = spec.as_json()
    data["delivery"] = {
        **spec.delivery.model_dump(mode="json"),
        "fallback_wait_seconds": fallback_wait_seconds,
        "channels": {
            **spec.delivery.model_dump(mode="json")["channels"],
            "voice": {"attempts": 1, "interval_seconds": fallback_wait_seconds},
        },
    }
    note = "demo: one call, quick fallback"
    if bank_url is not None:
        data["options"] = [dict(o) for o in demo_options(bank_url)]
        data["mandatory"] = False
        note += ", a key for every kind of answer"
        await demo_queues(session)
    await save_spec(session, data, actor="demo", note=note)


async def call_notes(stack: Stack, session: AsyncSession, bank: DemoBank) -> dict[str, list[str]]:
    """What the simulated calls show beyond the database, per customer: the words Herald spoke
    after an automated transaction, and whether a call-me-now call reached the call centre."""
    rows = (
        await session.exec(
            select(Customer.id, Customer.external_ref, ContactPoint.address)
            .join(ContactPoint, col(ContactPoint.customer_id) == col(Customer.id))
            .where(ContactPoint.kind == "phone")
        )
    ).all()
    called_now = set(
        (await session.exec(select(HandOff.customer_id).where(HandOff.kind == "call_now"))).all()
    )
    calls = list(stack.sim.state.calls.values()) if stack.sim is not None else []
    notes: dict[str, list[str]] = {}
    for customer_id, ref, phone in rows:
        heard = [t for c in calls if c.to == phone for t in c.transcript]
        said = {t.get("text") for t in heard if t.get("verb") == "Say"}
        for text in bank.said_to(ref):
            where = "Herald said on the call" if text in said else "not heard on the call"
            notes.setdefault(ref, []).append(f"the demo bank blocked the card; {where}: {text!r}")
        if customer_id in called_now and any(t.get("verb") == "Dial" for t in heard):
            notes.setdefault(ref, []).append("the call was put through to the call centre")
    return notes


async def act_on_emails(stack: Stack) -> list[str]:
    """The demo's email customers open their links: an agent, a forward with a note, a call."""
    done = []
    clicked = await click_email_link(stack, to="daniel@example.com", label="Speak to an agent")
    done.append(f"Daniel opened his email and clicked 'Speak to an agent' ({clicked})")
    forwarded = await click_email_link(
        stack,
        to="kenji@example.com",
        label="Forward this alert to someone, with a note",
        form={"to": "yui@example.com", "note": "Yui, did you pay the kitchen deposit already?"},
    )
    done.append(f"Kenji forwarded his alert to yui@example.com with a note ({forwarded})")
    called = await click_email_link(stack, to="lena@example.com", label="Call me now")
    done.append(f"Lena clicked 'Call me now' ({called})")
    return done


PORT_ATTEMPTS = 3


async def run_demo(
    settings: Settings, console: Console, *, serve: bool, quiet: bool = False
) -> Summary:
    """The demo on free ports. A port that another program takes between the demo's choice and
    its bind (on a busy machine, an outgoing connection can) means choosing again: the demo
    starts from an empty data directory each time, so nothing is done twice."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        started: list[bool] = []
        try:
            return await _run_demo(
                demo_settings(settings), console, serve=serve, quiet=quiet, started=started
            )
        except PortTakenError as exc:
            if started or attempt == PORT_ATTEMPTS:
                raise
            logger.warning("demo: %s; choosing other ports (attempt %s)", exc, attempt + 1)
    raise AssertionError("unreachable")


async def _run_demo(
    settings: Settings, console: Console, *, serve: bool, quiet: bool, started: list[bool]
) -> Summary:
    say = (lambda *_a, **_k: None) if quiet else console.print
    async with (
        running_bank(settings.transaction_signing_key) as (bank, bank_url),
        embedded_stack(settings, scenario=EXAMPLES / "scenario-demo.yaml", workers=False) as stack,
    ):
        started.append(True)
        deps = stack.runtime.deps
        from admin_ui.users import create_user

        async with deps.sessions() as session:
            report = await import_customers(session=session, path=EXAMPLES / "customers.csv")
            await tune_for_demo(session, bank_url=bank_url)
            await create_user(session=session, username=DEMO_USER, password=DEMO_PASSWORD)
            say(f"customers imported: {report.imported}")
            for path in expand_paths([str(EXAMPLES / "feeds")]):
                ingested = await ingest_file(
                    session=session, path=path, display_name=str(path.relative_to(EXAMPLES.parent))
                )
                say(
                    f"ingested {ingested.filename}: {ingested.records} records, "
                    f"{ingested.events_created} events, {len(ingested.problems)} bad records"
                )
        created = await evaluate_pending(deps=deps, now=utcnow())
        say(
            f"alerts raised: {len(created)}; delivering through the Twilio simulator "
            f"({stack.sim.url if stack.sim else 'real Twilio'}), the SMTP sink and the demo "
            f"bank ({bank_url})..."
        )
        await drain(stack.runtime, wait_deferred=True, timeout=120, idle_check=stack.idle)
        for line in await act_on_emails(stack):
            say(line)
        await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
        async with deps.sessions() as session:
            data = await summary(session)
            refs = (
                await session.exec(select(Customer.external_ref).order_by(col(Customer.id)))
            ).all()
            notes = await call_notes(stack, session, bank)
            stories = [await customer_story(session, ref, notes=notes.get(ref, ())) for ref in refs]
        if not quiet:
            console.print("\n[bold]What happened[/]")
            for line in stories:
                console.print(f"  {line}", markup=False, highlight=False)
            print_summary(console, data)
        if serve:
            from herald.worker import run_workers

            console.print(
                f"\nAdmin UI: {stack.api.url}/admin  (user [bold]{DEMO_USER}[/], "
                f"password [bold]{DEMO_PASSWORD}[/])"
            )
            console.print(f"Try customer C-1001 ... {refs[-1]}. Ctrl-C to stop.")
            await run_workers(stack.runtime)
        return data
