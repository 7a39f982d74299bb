"""The agent console over HTTP, as a browser drives it: an agent opens it from the menu, sees
only their queues' work (also in the stream's first event), claims it (a second agent is told
who was first), gets the screen-pop with the answer, the amount and masked contacts, adds a note
and completes with an outcome, which the customer's page then shows."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlmodel import select

from admin_ui.users import create_user
from alerts.columns import utcnow
from alerts.models import Alert
from alerts.responses.record import record_response
from callcentre.queues import QueueIn, save_queue, set_skills
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.service.alerts.responses.conftest import send_alert
from tests.service.callcentre.test_agent_console import _pressed_agent

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TAG = re.compile(r"<[^>]+>")
LogIn = Callable[..., Awaitable[tuple[httpx.AsyncClient, str, httpx.Response]]]


def _words(response: httpx.Response) -> str:
    """The page's text as a person reads it: no tags, single spaces."""
    return " ".join(html.unescape(_TAG.sub(" ", response.text)).split())


@pytest.fixture
async def log_in(settings: Settings, runtime: Runtime) -> AsyncIterator[LogIn]:
    app = create_app(settings, runtime)
    clients: list[httpx.AsyncClient] = []

    async def go(
        username: str, next_page: str = "/agent"
    ) -> tuple[httpx.AsyncClient, str, httpx.Response]:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url)
        clients.append(c)
        form = await c.get("/admin/login")
        token = _CSRF.search(form.text)
        assert token
        done = await c.post(
            "/admin/login",
            data={
                "username": username,
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": next_page,
            },
        )
        assert done.status_code == 303, done.text
        landing = await c.get(done.headers["location"])
        token = _CSRF.search(landing.text)
        assert token
        return c, token.group(1), done

    yield go
    for c in clients:
        await c.aclose()


async def _staff(runtime: Runtime) -> None:
    async with runtime.deps.sessions() as session:
        await save_queue(session=session, key="general", queue=QueueIn(name="General"))
        await save_queue(session=session, key="fraud", queue=QueueIn(name="Fraud"))
        for name, role, skills in (
            ("fiona", "agent", ["fraud"]),
            ("frank", "agent", ["fraud"]),
            ("gary", "agent", ["general"]),
            ("vera", "viewer", []),
        ):
            user = await create_user(session=session, username=name, password=PASSWORD, role=role)
            await set_skills(session=session, user=user, queues=skills)


async def test_an_agent_claims_works_and_completes_a_fraud_transfer(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _staff(runtime)
    handoff = await _pressed_agent(runtime.deps, "C-1", "fraud")
    fiona, fiona_csrf, _ = await log_in("fiona")
    frank, frank_csrf, _ = await log_in("frank")
    gary, _, _ = await log_in("gary")

    console = await fiona.get("/agent")
    assert console.status_code == 200
    assert "script-src 'self'" in console.headers["content-security-policy"]
    text = _words(console)
    assert "Customer C-1" in text and "Live transfer · ringing now" in text
    assert "750.00 EUR at Shop Ltd" in text and "My queues: Fraud" in text
    assert "Customer C-1" not in _words(await gary.get("/agent"))
    stream = await fiona.get("/agent/stream")  # not an EventSource: the current list once
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: work\n" in stream.text and "data: " in stream.text
    assert "Customer C-1" in stream.text

    won = await fiona.post(f"/agent/handoffs/{handoff.id}/claim", data={"csrf_token": fiona_csrf})
    assert won.status_code == 303 and won.headers["location"] == f"/agent/handoffs/{handoff.id}"
    lost = await frank.post(f"/agent/handoffs/{handoff.id}/claim", data={"csrf_token": frank_csrf})
    assert lost.status_code == 409 and "Too late: fiona took this one." in lost.text

    pop = _words(await fiona.get(won.headers["location"]))
    assert "Pressed 1 — asked to speak to an agent" in pop and "By phone" in pop
    assert "750.00 EUR" in pop and "Shop Ltd" in pop and "Large debit alert" in pop
    assert "+15***11" in pop and "+15550001111" not in pop  # an agent sees contacts masked
    assert "Fraud confirmed" in pop  # the outcome list

    noted = await fiona.post(
        f"/agent/handoffs/{handoff.id}/notes",
        data={"csrf_token": fiona_csrf, "text": "Not her payment"},
    )
    assert noted.status_code == 303
    refused = await fiona.post(
        f"/agent/handoffs/{handoff.id}/complete", data={"csrf_token": fiona_csrf, "outcome": ""}
    )
    assert refused.status_code == 409 and "Choose an outcome" in refused.text
    done = await fiona.post(
        f"/agent/handoffs/{handoff.id}/complete",
        data={"csrf_token": fiona_csrf, "outcome": "fraud_confirmed", "text": "Card blocked"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/agent?done=completed"
    after = _words(await fiona.get(done.headers["location"]))
    assert "Completed: the outcome is in" in after and "Customer C-1" not in after

    history = _words(await fiona.get("/admin/customers/C-1"))
    assert "outcome: Fraud confirmed" in history and "by fiona" in history
    assert "Not her payment" in history and "Card blocked" in history


async def test_a_viewer_has_no_console_and_states_are_checked(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _staff(runtime)
    vera, _, landed = await log_in("vera", "/admin/customers")
    assert landed.headers["location"] == "/admin/customers"
    refused = await vera.get("/agent")
    assert refused.status_code == 403 and "Your role does not allow this" in refused.text
    assert "Agent console" not in (await vera.get("/admin/customers")).text  # no nav link
    fiona, csrf, _ = await log_in("fiona")
    bad = await fiona.post("/agent/state", data={"csrf_token": csrf, "state": "asleep"})
    assert bad.status_code == 422 and "Choose one of the states" in bad.text
    ok = await fiona.post("/agent/state", data={"csrf_token": csrf, "state": "available"})
    assert ok.status_code == 303
    page = _words(await fiona.get("/agent"))
    assert "I am: Available" in page


async def test_click_to_call_a_claimed_callback_places_the_call(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _staff(runtime)
    deps = runtime.deps
    alert_id, _customer_id, attempts = await send_alert(deps, ref="C-9", name="Ivan Petrov")
    outcome = await record_response(
        deps=deps,
        dedupe_key="voice:C-9:1",
        attempt_id=attempts["voice"],
        channel="voice",
        key="5",  # "call me back later": a callback for the default queue
        text=None,
        now=utcnow(),
    )
    assert outcome.handoff is not None and outcome.handoff.kind == "callback"
    handoff_id = outcome.handoff.id
    gary, csrf, _ = await log_in("gary")
    early = await gary.post(f"/agent/handoffs/{handoff_id}/call", data={"csrf_token": csrf})
    assert early.status_code == 409 and "Claim this hand-off first" in early.text
    await gary.post(f"/agent/handoffs/{handoff_id}/claim", data={"csrf_token": csrf})
    pop = _words(await gary.get(f"/agent/handoffs/{handoff_id}"))
    assert "Call Ivan back" in pop and "Call Ivan now" in pop
    called = await gary.post(f"/agent/handoffs/{handoff_id}/call", data={"csrf_token": csrf})
    assert called.status_code == 200
    assert "Herald is placing the call (We are calling you now on +15***11.)" in _words(called)
    async with deps.sessions() as session:
        calls = (
            await session.exec(
                select(Alert).where(Alert.dedupe_key == f"call_now:handoff-{handoff_id}")
            )
        ).all()
    assert len(calls) == 1 and calls[0].id != alert_id and calls[0].plan[0].channel == "voice"


async def test_a_supervisor_without_skills_sees_and_takes_every_queues_work(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _staff(runtime)
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="sue", password=PASSWORD, role="supervisor")
    fraud = await _pressed_agent(runtime.deps, "C-1", "fraud")
    await _pressed_agent(runtime.deps, "C-2", None)
    sue, csrf, _ = await log_in("sue")
    page = _words(await sue.get("/agent"))
    assert "Customer C-1" in page and "Customer C-2" in page and "My queues: Fraud, General" in page
    taken = await sue.post(f"/agent/handoffs/{fraud.id}/claim", data={"csrf_token": csrf})
    assert taken.status_code == 303
    pop = _words(await sue.get(taken.headers["location"]))
    assert "+15550001111" in pop  # a supervisor sees contacts in full


async def test_an_sms_question_pops_with_what_the_customer_wrote(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _staff(runtime)
    deps = runtime.deps
    _alert_id, _customer_id, attempts = await send_alert(deps, ref="C-7", name="Nora Berg")
    outcome = await record_response(
        deps=deps,
        dedupe_key="sms:SMnora",
        attempt_id=attempts["sms"],
        channel="sms",
        key="Which shop is this?",
        text="Which shop is this?",
        now=utcnow(),
    )
    assert outcome.handoff is not None
    gary, csrf, _ = await log_in("gary")
    listed = _words(await gary.get("/agent"))
    assert (
        "Nora Berg" in listed
        and "Replied “Which shop is this?” · " in listed
        and "by SMS" in listed
    )
    await gary.post(f"/agent/handoffs/{outcome.handoff.id}/claim", data={"csrf_token": csrf})
    pop = _words(await gary.get(f"/agent/handoffs/{outcome.handoff.id}"))
    assert "They wrote: “Which shop is this?”" in pop and "By SMS" in pop
    assert "What the message said" in pop and "750.00 EUR" in pop
