"""`herald demo`: demo customers and a camt.054 feed through the whole loop, then the admin UI."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.customers import import_customers
from alerts.evaluate import evaluate_pending
from alerts.history import customer_history
from alerts.ingest import expand_paths, ingest_file
from herald.config import Settings
from herald.embedded import free_port
from herald.report import print_summary, summary
from herald.stack import Stack, embedded_stack
from herald.worker import drain

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO_USER = "admin"
DEMO_PASSWORD = "herald-demo-password"


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


async def click_email_link(stack: Stack, *, to: str, label: str) -> str:
    """Act as the customer: open the email's link (a confirm page), then press its button."""
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
        answered = await client.post(url, data={"confirm": "yes"})
    return f"GET {page.status_code}, POST {answered.status_code}"


async def customer_story(session: AsyncSession, ref: str) -> str:
    """One line per demo customer: the decision, the attempts, the answer, the hand-off."""
    data = await customer_history(session=session, external_ref=ref, mask_contacts=True)
    if data is None:
        return f"{ref}: not found"
    parts = []
    for event in data["events"]:
        for alert in event["alerts"]:
            steps = " then ".join(
                f"{t['channel']} {t['status'].replace('_', ' ')}" for t in alert["attempts"]
            )
            answers = ", ".join(
                f"answered {r['key']!r} by {r['channel']} ({r['intent']})"
                for r in alert["responses"]
            )
            handoffs = ", ".join(
                f"{h['kind'].replace('_', ' ')} to the call centre" for h in alert["handoffs"]
            )
            parts.append("; ".join(p for p in (steps, answers, handoffs) if p))
        if not event["alerts"]:
            parts.extend(f"no alert ({d['reason']})" for d in event["decisions"])
    return f"{ref} {data['customer']['name']}: " + " | ".join(parts)


async def tune_for_demo(session: AsyncSession, *, fallback_wait_seconds: int = 2) -> None:
    """What an administrator would do for a quick demo: the call centre open around the clock,
    and large_debit calling once and falling back to the next channel after 2 seconds instead
    of twice 15 minutes apart and then 5 minutes."""
    from alerts.alert_types import get_spec, save_spec, seed_catalogue
    from callcentre.models import CentreConfig
    from callcentre.state import DAYS

    await seed_catalogue(session)
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
    await save_spec(session, data, actor="demo", note="demo: one call, quick fallback")


async def run_demo(
    settings: Settings, console: Console, *, serve: bool, quiet: bool = False
) -> dict[str, Any]:
    settings = demo_settings(settings)
    say = (lambda *_a, **_k: None) if quiet else console.print
    async with embedded_stack(
        settings, scenario=EXAMPLES / "scenario-demo.yaml", workers=False
    ) as stack:
        deps = stack.runtime.deps
        from admin_ui.users import create_user

        async with deps.sessions() as session:
            report = await import_customers(session=session, path=EXAMPLES / "customers.csv")
            await tune_for_demo(session)
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
            f"({stack.sim.url if stack.sim else 'real Twilio'}) and the SMTP sink..."
        )
        await drain(stack.runtime, wait_deferred=True, timeout=120, idle_check=stack.idle)
        clicked = await click_email_link(stack, to="daniel@example.com", label="Speak to an agent")
        say(f"Daniel opened his email and clicked 'Speak to an agent' ({clicked})")
        await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
        async with deps.sessions() as session:
            data = await summary(session)
            stories = [await customer_story(session, f"C-100{i}") for i in range(1, 6)]
        if not quiet:
            console.print("\n[bold]What happened[/]")
            for line in stories:
                console.print(f"  {line}")
            print_summary(console, data)
        if serve:
            from herald.worker import run_workers

            console.print(
                f"\nAdmin UI: {stack.api.url}/admin  (user [bold]{DEMO_USER}[/], "
                f"password [bold]{DEMO_PASSWORD}[/])"
            )
            console.print("Try customer C-1001 ... C-1005. Ctrl-C to stop.")
            await run_workers(stack.runtime)
        return data
