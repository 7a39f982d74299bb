"""The Twilio simulator over real HTTP, driven by the official twilio library."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.twilio_http import RebasedTwilioHttpClient
from channels.twilio_sim import (
    LoopbackServer,
    ScenarioError,
    ServerStartError,
    SimulatorConfig,
    SimulatorServer,
    load_scenario,
    parse_scenario,
)

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "simulator-test-token"
HERALD = "+15550001000"
ALICE = "+15550000001"
BOB = "+15550000002"
AGENT = "+15559990000"
WAIT = 5.0
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenario.yaml"

MENU = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather action="/voice/menu" numDigits="1" timeout="5">
    <Say voice="Polly.Joanna" language="en-US">Your balance is low. Press 1 for an agent.</Say>
  </Gather>
  <Say>We did not get your answer. Goodbye.</Say>
</Response>"""


@dataclass
class Received:
    """One request Herald's fake received from the simulator."""

    path: str
    method: str
    params: dict[str, str]
    signature_ok: bool


Handler = Callable[[dict[str, str]], "str | tuple[int, str]"]


@dataclass
class HeraldFake:
    """Herald's webhook side: serves TwiML per path, records requests, checks every signature."""

    routes: dict[str, Handler] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def endpoint(self, request: Request) -> Response:
        form = dict(await request.form()) if request.method == "POST" else {}
        signed_params = {k: str(v) for k, v in form.items()}
        ok = RequestValidator(AUTH_TOKEN).validate(
            str(request.url), signed_params, request.headers.get("X-Twilio-Signature", "")
        )
        params = signed_params or dict(request.query_params)
        self.received.append(Received(request.url.path, request.method, params, ok))
        handler = self.routes.get(request.url.path)
        result = handler(params) if handler else "<Response/>"
        status, body = result if isinstance(result, tuple) else (200, result)
        return Response(body, status_code=status, media_type="application/xml")

    def app(self) -> Starlette:
        route = Route("/{path:path}", self.endpoint, methods=["GET", "POST"])
        return Starlette(routes=[route])


@pytest.fixture
async def herald() -> AsyncIterator[HeraldFake]:
    fake = HeraldFake()
    async with LoopbackServer(fake.app()) as server:
        fake.base = server.url
        yield fake
    assert all(r.signature_ok for r in fake.received), "a request had a bad X-Twilio-Signature"


@pytest.fixture
async def sim(herald: HeraldFake) -> AsyncIterator[SimulatorServer]:
    config = SimulatorConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        numbers={HERALD: herald.url("/sms/inbound")},
        delay=0.005,
    )
    # asyncio debug mode turns thread-unsafe loop calls (e.g. from a worker thread) into errors.
    asyncio.get_running_loop().set_debug(True)
    async with SimulatorServer(config) as server:
        yield server


@pytest.fixture
async def twilio(sim: SimulatorServer) -> AsyncIterator[Client]:
    http_client = RebasedTwilioHttpClient(sim.url)
    yield Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
    await http_client.close()


@pytest.fixture
async def control(sim: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=WAIT) as client:
        yield client


async def use_scenario(control: httpx.AsyncClient, scenario: dict[str, Any]) -> None:
    response = await control.put("/_sim/scenario", json=scenario)
    assert response.status_code == 200, response.text


async def sim_call(control: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    calls = (await control.get("/_sim/calls")).json()["calls"]
    return next(c for c in calls if c["sid"] == sid)


async def place_call(twilio: Client, herald: HeraldFake, to: str, **extra: Any) -> Any:
    return await twilio.calls.create_async(
        to=to,
        from_=HERALD,
        url=herald.url("/voice/start"),
        status_callback=herald.url("/voice/status"),
        **extra,
    )


def static(result: str | tuple[int, str]) -> Handler:
    return lambda _params: result


def verbs(call: dict[str, Any]) -> list[str]:
    return [step["verb"] for step in call["transcript"]]


async def test_human_presses_1_reaches_an_agent(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    await use_scenario(control, {"recipients": {ALICE: {"voice": {"presses": ["1"]}}}})
    herald.routes["/voice/start"] = static(MENU)
    herald.routes["/voice/menu"] = lambda p: (
        f'<Response><Dial callerId="{HERALD}"><Number>{AGENT}</Number></Dial></Response>'
        if p["Digits"] == "1"
        else "<Response><Hangup/></Response>"
    )

    created = await place_call(
        twilio,
        herald,
        ALICE,
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert created.status == "queued"
    assert re.fullmatch(r"CA[0-9a-f]{32}", created.sid)
    await sim.wait_idle(WAIT)

    fetch, menu = herald.to("/voice/start"), herald.to("/voice/menu")
    assert [r.method for r in fetch] == ["POST"]
    assert fetch[0].params["CallStatus"] == "in-progress"
    assert "AnsweredBy" not in fetch[0].params
    assert len(menu) == 1
    assert menu[0].params["Digits"] == "1"
    assert menu[0].params["CallSid"] == created.sid
    assert menu[0].params["To"] == ALICE

    call = await sim_call(control, created.sid)
    assert call["transcript"] == [
        {
            "verb": "Say",
            "text": "Your balance is low. Press 1 for an agent.",
            "voice": "Polly.Joanna",
            "language": "en-US",
        },
        {"verb": "Gather", "digits": "1"},
        {"verb": "Dial", "number": AGENT, "caller_id": HERALD, "status": "completed"},
    ]
    assert "Goodbye" not in str(call["transcript"]), "rest of the document must be abandoned"

    statuses = herald.to("/voice/status")
    assert [r.params["CallStatus"] for r in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [r.params["SequenceNumber"] for r in statuses] == ["0", "1", "2", "3"]
    final = statuses[-1].params
    assert final["CallbackSource"] == "call-progress-events"
    assert final["Called"] == ALICE and final["Caller"] == HERALD
    assert int(final["CallDuration"]) >= 1 and final["Duration"] == "1"
    assert parsedate_to_datetime(final["Timestamp"]).tzinfo is not None

    fetched = await twilio.calls(created.sid).fetch_async()
    assert fetched.status == "completed"
    assert fetched.duration == final["CallDuration"]
    assert fetched.direction == "outbound-api"
    assert fetched.api_version == "2010-04-01"
    assert fetched.end_time is not None and fetched.start_time is not None
    raw = (
        await control.get(
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{created.sid}.json",
            auth=(ACCOUNT_SID, AUTH_TOKEN),
        )
    ).json()
    assert raw["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{created.sid}.json"
    assert parsedate_to_datetime(raw["date_created"]).utcoffset() == timedelta(0)
    assert raw["to_formatted"] == "(555) 000-0001"


async def test_press_9_repeats_the_menu_through_redirect(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    await use_scenario(control, {"recipients": {BOB: {"voice": {"presses": ["9", "1"]}}}})
    herald.routes["/voice/start"] = static(MENU)
    herald.routes["/voice/menu"] = lambda p: (
        "<Response><Say>Again.</Say><Redirect method='GET'>/voice/start?again=1</Redirect>"
        "<Say>never said</Say></Response>"
        if p["Digits"] == "9"
        else "<Response><Enqueue waitUrl='/hold'>agents</Enqueue></Response>"
    )

    created = await place_call(twilio, herald, BOB)
    await sim.wait_idle(WAIT)

    assert [r.params["Digits"] for r in herald.to("/voice/menu")] == ["9", "1"]
    starts = herald.to("/voice/start")
    assert [r.method for r in starts] == ["POST", "GET"]
    assert starts[1].params["again"] == "1" and starts[1].params["CallSid"] == created.sid
    call = await sim_call(control, created.sid)
    assert verbs(call) == ["Say", "Gather", "Say", "Redirect", "Say", "Gather", "Enqueue"]
    assert call["transcript"][-1] == {"verb": "Enqueue", "queue": "agents", "wait_url": "/hold"}
    assert call["status"] == "completed"


async def test_silence_falls_through_to_the_next_verb(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    await use_scenario(control, {"recipients": {ALICE: {"voice": {"presses": [""]}}}})
    herald.routes["/voice/start"] = static(MENU)

    created = await place_call(twilio, herald, ALICE)
    await sim.wait_idle(WAIT)

    assert herald.to("/voice/menu") == []
    call = await sim_call(control, created.sid)
    assert call["transcript"][1:] == [
        {"verb": "Gather", "digits": "", "timed_out": True},
        {
            "verb": "Say",
            "text": "We did not get your answer. Goodbye.",
            "voice": None,
            "language": None,
        },
    ]


async def test_gather_without_action_posts_to_the_document_and_stops_runaway_loops(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    await use_scenario(control, {"default": {"voice": {"presses": ["42#"]}}})
    herald.routes["/voice/start"] = lambda p: (
        "<Response><Gather finishOnKey='#'/></Response>"
        if "Digits" not in p
        else "<Response><Redirect>/voice/loop</Redirect></Response>"
    )
    herald.routes["/voice/loop"] = static("<Response><Redirect>loop</Redirect></Response>")

    created = await place_call(twilio, herald, ALICE)
    await sim.wait_idle(WAIT)

    starts = herald.to("/voice/start")
    assert len(starts) + len(herald.to("/voice/loop")) == 50, "at most 50 documents per call"
    assert starts[1].params["Digits"] == "42" and starts[1].params["FinishedOnKey"] == "#"
    call = await sim_call(control, created.sid)
    assert call["transcript"][-1]["verb"] == "Error"
    assert "50" in call["transcript"][-1]["message"]
    assert call["status"] == "completed"


@pytest.mark.parametrize("answer", ["no-answer", "busy", "failed"])
async def test_unanswered_calls_post_only_the_final_status(
    answer: str,
    sim: SimulatorServer,
    herald: HeraldFake,
    twilio: Client,
    control: httpx.AsyncClient,
) -> None:
    await use_scenario(control, {"recipients": {ALICE: {"voice": {"answer": answer}}}})

    created = await place_call(twilio, herald, ALICE)
    await sim.wait_idle(WAIT)

    assert herald.to("/voice/start") == [], "no TwiML is fetched for an unanswered call"
    statuses = herald.to("/voice/status")
    assert [r.params["CallStatus"] for r in statuses] == [answer]
    assert statuses[0].params["CallDuration"] == "0"
    fetched = await twilio.calls(created.sid).fetch_async()
    assert fetched.status == answer


@pytest.mark.parametrize(
    ("detection", "answered_by"),
    [("Enable", "machine_start"), ("DetectMessageEnd", "machine_end_beep")],
)
async def test_machine_answer_reports_answered_by_and_presses_nothing(
    detection: str,
    answered_by: str,
    sim: SimulatorServer,
    herald: HeraldFake,
    twilio: Client,
    control: httpx.AsyncClient,
) -> None:
    await use_scenario(
        control, {"recipients": {ALICE: {"voice": {"answer": "machine", "presses": ["1"]}}}}
    )
    herald.routes["/voice/start"] = static(MENU)

    created = await place_call(
        twilio, herald, ALICE, machine_detection=detection, status_callback_event=["answered"]
    )
    await sim.wait_idle(WAIT)

    assert herald.to("/voice/start")[0].params["AnsweredBy"] == answered_by
    assert herald.to("/voice/menu") == [], "machines do not press keys"
    statuses = herald.to("/voice/status")
    assert [(r.params["CallStatus"], r.params["AnsweredBy"]) for r in statuses] == [
        ("in-progress", answered_by),
        ("completed", answered_by),
    ]
    assert (await twilio.calls(created.sid).fetch_async()).answered_by == answered_by


async def test_human_answer_with_detection_and_status_callback_by_get(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client
) -> None:
    herald.routes["/voice/start"] = static("<Response><Say>Hi</Say><Hangup/></Response>")

    await twilio.calls.create_async(
        to=ALICE,
        from_=HERALD,
        url=herald.url("/voice/start?alert=7"),
        method="GET",
        status_callback=herald.url("/voice/status?attempt=3"),
        status_callback_method="GET",
        machine_detection="Enable",
    )
    await sim.wait_idle(WAIT)

    (fetch,) = herald.to("/voice/start")
    assert fetch.method == "GET" and fetch.params["alert"] == "7"
    assert fetch.params["AnsweredBy"] == "human"
    (status,) = herald.to("/voice/status")
    assert status.method == "GET"
    assert status.params["attempt"] == "3" and status.params["CallStatus"] == "completed"


async def test_herald_errors_end_the_call_with_an_application_error(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    herald.routes["/voice/start"] = static((500, "boom"))
    herald.routes["/voice/dtd"] = static(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><Response><Say>&x;</Say></Response>'
    )

    broken = await place_call(twilio, herald, ALICE)
    hostile = await twilio.calls.create_async(to=BOB, from_=HERALD, url=herald.url("/voice/dtd"))
    await sim.wait_idle(WAIT)

    first = await sim_call(control, broken.sid)
    assert [(s["verb"], s["code"]) for s in first["transcript"]] == [("Error", 11200)]
    assert first["status"] == "completed"
    assert first["requests"][0]["status"] == 500
    second = await sim_call(control, hostile.sid)
    assert [(s["verb"], s["code"]) for s in second["transcript"]] == [("Error", 12100)]
    assert "DTD" in second["transcript"][0]["message"]


async def test_inline_twiml_plays_audio_and_records_the_fetch(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    twiml = (
        f"<Response><Play>{herald.url('/audio/alert.mp3')}</Play><Pause length='2'/>"
        f"<Dial action='{herald.url('/voice/dialled')}'>{AGENT}</Dial><Say>after</Say></Response>"
    )
    herald.routes["/voice/dialled"] = static("<Response><Say>Bye</Say></Response>")

    created = await twilio.calls.create_async(to=ALICE, from_=HERALD, twiml=twiml)
    await sim.wait_idle(WAIT)

    call = await sim_call(control, created.sid)
    assert call["transcript"][0] == {
        "verb": "Play",
        "url": herald.url("/audio/alert.mp3"),
        "status": 200,
    }
    assert verbs(call) == ["Play", "Dial", "Say"]
    assert call["transcript"][2]["text"] == "Bye", "Dial action's document replaces the rest"
    (dialled,) = herald.to("/voice/dialled")
    assert dialled.params["DialCallStatus"] == "completed"
    assert re.fullmatch(r"CA[0-9a-f]{32}", dialled.params["DialCallSid"])
    assert herald.to("/audio/alert.mp3")[0].method == "GET"


async def test_sms_delivered_then_reply_posted_to_the_number_webhook(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    await use_scenario(control, {"recipients": {ALICE: {"sms": {"reply": 2}}}})

    sent = await twilio.messages.create_async(
        to=ALICE,
        from_=HERALD,
        body="Balance low. Reply 2 to pay.",
        status_callback=herald.url("/sms/status"),
    )
    assert sent.status == "queued" and re.fullmatch(r"SM[0-9a-f]{32}", sent.sid)
    await sim.wait_idle(WAIT)

    statuses = herald.to("/sms/status")
    assert [r.params["MessageStatus"] for r in statuses] == ["sent", "delivered"]
    assert all(r.params["MessageSid"] == sent.sid == r.params["SmsSid"] for r in statuses)
    assert "ErrorCode" not in statuses[-1].params
    (reply,) = herald.to("/sms/inbound")
    assert reply.params["From"] == ALICE and reply.params["To"] == HERALD
    assert reply.params["Body"] == "2" and reply.params["NumMedia"] == "0"
    assert reply.params["MessageSid"] != sent.sid and reply.params["MessageSid"].startswith("SM")

    fetched = await twilio.messages(sent.sid).fetch_async()
    assert fetched.status == "delivered" and fetched.date_sent is not None
    inbound = await twilio.messages.list_async(to=HERALD)
    assert [(m.direction, m.body, m.from_) for m in inbound] == [("inbound", "2", ALICE)]


async def test_reordered_callbacks_post_a_held_status_after_the_final_one(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    """faults.reorder_callbacks holds a status back and posts it after the next one (never the
    final status itself); the faults endpoint counts it."""
    await use_scenario(control, {"faults": {"seed": 1, "reorder_callbacks": 1.0}})
    sent = await twilio.messages.create_async(
        to=ALICE, from_=HERALD, body="Hello", status_callback=herald.url("/sms/status")
    )
    await sim.wait_idle(WAIT)
    statuses = [r.params["MessageStatus"] for r in herald.to("/sms/status")]
    assert statuses == ["delivered", "sent"], statuses
    assert all(r.params["MessageSid"] == sent.sid for r in herald.to("/sms/status"))
    injected = (await control.get("/_sim/faults")).json()["injected"]
    assert injected == {"reorder_callback": 1}


@pytest.mark.parametrize(
    ("delivery", "code", "expected"),
    [
        ("undelivered", 30005, ["sent", "undelivered"]),
        ("undelivered", None, ["sent", "undelivered"]),
        ("failed", 30007, ["failed"]),
    ],
)
async def test_sms_not_delivered_reports_the_error_code(
    delivery: str,
    code: int | None,
    expected: list[str],
    sim: SimulatorServer,
    herald: HeraldFake,
    twilio: Client,
    control: httpx.AsyncClient,
) -> None:
    sms: dict[str, Any] = {"delivery": delivery, "reply": "never sent"}
    if code is not None:
        sms["error_code"] = code
    await use_scenario(control, {"recipients": {BOB: {"sms": sms}}})

    sent = await twilio.messages.create_async(
        to=BOB, from_=HERALD, body="hello", status_callback=herald.url("/sms/status")
    )
    await sim.wait_idle(WAIT)

    statuses = herald.to("/sms/status")
    assert [r.params["MessageStatus"] for r in statuses] == expected
    assert statuses[-1].params["ErrorCode"] == str(code or 30003)
    assert herald.to("/sms/inbound") == [], "no reply from a recipient who never got the SMS"
    assert (await twilio.messages(sent.sid).fetch_async()).error_code == (code or 30003)


async def test_api_error_scenario_fails_create_and_creates_nothing(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    outage = {"status": 503, "code": 20503, "message": "Service Unavailable"}
    await use_scenario(control, {"recipients": {ALICE: {"api_error": outage}}})

    with pytest.raises(TwilioRestException) as call_error:
        await place_call(twilio, herald, ALICE)
    with pytest.raises(TwilioRestException) as sms_error:
        await twilio.messages.create_async(to=ALICE, from_=HERALD, body="hi")

    for raised in (call_error.value, sms_error.value):
        assert (raised.status, raised.code) == (503, 20503)
        assert "Service Unavailable" in raised.msg
    await sim.wait_idle(WAIT)
    assert (await control.get("/_sim/calls")).json()["calls"] == []
    assert (await control.get("/_sim/messages")).json()["messages"] == []
    assert herald.received == []


async def test_bad_credentials_and_wrong_account(sim: SimulatorServer) -> None:
    http_client = RebasedTwilioHttpClient(sim.url)
    try:
        intruder = Client(ACCOUNT_SID, "wrong-token", http_client=http_client)
        with pytest.raises(TwilioRestException) as raised:
            await intruder.calls.create_async(to=ALICE, from_=HERALD, url="http://127.0.0.1/")
        assert (raised.value.status, raised.value.code) == (401, 20003)
    finally:
        await http_client.close()

    other = "AC" + "b2" * 16
    async with httpx.AsyncClient(base_url=sim.url) as raw:
        denied = await raw.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
        assert denied.status_code == 401
        assert denied.json()["code"] == 20003 and denied.json()["message"] == "Authenticate"
        assert denied.json()["more_info"].startswith("https://www.twilio.com/docs/errors/")
        elsewhere = await raw.get(
            f"/2010-04-01/Accounts/{other}/Calls.json", auth=(ACCOUNT_SID, AUTH_TOKEN)
        )
        assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, 20404)


@pytest.mark.parametrize(
    ("resource", "form", "code"),
    [
        ("Calls", {"To": "5550000001", "From": HERALD, "Url": "http://x/"}, 21211),
        ("Calls", {"To": ALICE, "From": "herald", "Url": "http://x/"}, 21212),
        ("Calls", {"To": ALICE, "From": HERALD}, 21205),
        ("Messages", {"To": ALICE, "From": HERALD}, 21602),
        ("Messages", {"To": "+1", "From": HERALD, "Body": "x"}, 21211),
    ],
)
async def test_invalid_create_requests_get_twilio_errors(
    resource: str, form: dict[str, str], code: int, sim: SimulatorServer
) -> None:
    async with httpx.AsyncClient(base_url=sim.url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as raw:
        response = await raw.post(f"/2010-04-01/Accounts/{ACCOUNT_SID}/{resource}.json", data=form)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert sim.state.calls == {} and sim.state.messages == {}


async def test_list_filters_and_paging(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    await use_scenario(control, {"recipients": {BOB: {"voice": {"answer": "busy"}}}})
    first = await place_call(twilio, herald, ALICE)
    second = await place_call(twilio, herald, ALICE)
    busy = await place_call(twilio, herald, BOB)
    await twilio.messages.create_async(to=BOB, from_=HERALD, body="one")
    await sim.wait_idle(WAIT)
    today = datetime.now(UTC).date()

    to_alice = await twilio.calls.list_async(to=ALICE, page_size=1)
    assert [c.sid for c in to_alice] == [second.sid, first.sid], "newest first, across pages"
    assert [c.sid for c in await twilio.calls.list_async(status="busy")] == [busy.sid]
    assert len(await twilio.calls.list_async(start_time_after=today)) == 3
    assert len(await twilio.calls.list_async(start_time=today)) == 3
    assert await twilio.calls.list_async(start_time=today - timedelta(days=1)) == []
    assert await twilio.calls.list_async(from_="+15557770000") == []

    auth = (ACCOUNT_SID, AUTH_TOKEN)
    base = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
    listing = await control.get(
        f"{base}/Calls.json", params={"To": ALICE, "PageSize": 1}, auth=auth
    )
    page = listing.json()
    assert [c["sid"] for c in page["calls"]] == [second.sid]
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 1, 0, 0)
    assert page["next_page_uri"].endswith("PageSize=1&Page=1")
    assert page["previous_page_uri"] is None and page["first_page_uri"].startswith(base)
    tomorrow = today + timedelta(days=1)
    later = (await control.get(f"{base}/Messages.json?DateSent>={tomorrow}", auth=auth)).json()
    assert later["messages"] == []
    bob = await control.get(f"{base}/Messages.json", params={"To": BOB, "From": HERALD}, auth=auth)
    assert [m["body"] for m in bob.json()["messages"]] == ["one"]
    bad = await control.get(f"{base}/Calls.json?StartTime=yesterday", auth=auth)
    assert bad.status_code == 400


async def test_injected_stop_reaches_herald_and_blocks_further_sms(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    herald.routes["/sms/inbound"] = static(
        "<Response><Message>You will get no more texts.</Message></Response>"
    )

    response = await control.post(
        "/_sim/inbound-sms", json={"from": BOB, "to": HERALD, "body": "STOP"}
    )
    assert response.status_code == 200
    (inbound,) = herald.to("/sms/inbound")
    assert inbound.params["Body"] == "STOP" and inbound.params["From"] == BOB
    assert inbound.params["SmsMessageSid"] == response.json()["message"]["sid"]
    replies = [m for m in sim.state.messages.values() if m.direction == "outbound-reply"]
    assert [(m.to, m.body) for m in replies] == [(BOB, "You will get no more texts.")]

    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(to=BOB, from_=HERALD, body="still there?")
    assert raised.value.code == 21610

    unknown = await control.post(
        "/_sim/inbound-sms", json={"from": BOB, "to": "+15550009999", "body": "hi"}
    )
    assert "no SMS webhook" in unknown.json()["message"]["notes"][0]
    assert len(herald.to("/sms/inbound")) == 1
    invalid = await control.post(
        "/_sim/inbound-sms", json={"from": "bob", "to": HERALD, "body": "x"}
    )
    assert invalid.status_code == 422


async def test_idle_and_reset(
    sim: SimulatorServer, herald: HeraldFake, twilio: Client, control: httpx.AsyncClient
) -> None:
    herald.routes["/voice/start"] = static("<Response><Pause/></Response>")
    await place_call(twilio, herald, ALICE)
    assert (await control.get("/_sim/idle")).json() == {"idle": False}
    await sim.wait_idle(WAIT)
    assert (await control.get("/_sim/idle")).json() == {"idle": True}
    assert len(sim.state.calls) == 1

    assert (await control.post("/_sim/reset")).json() == {"reset": True}
    assert (await control.get("/_sim/calls")).json() == {"calls": []}


def test_example_scenario_loads_and_merges_defaults() -> None:
    scenario = load_scenario(EXAMPLE)
    alice = scenario.behaviour_for("+15550000001")
    assert alice.voice.presses == ("1",) and alice.sms.reply == "2"
    voicemail = scenario.behaviour_for("+15550000003")
    assert voicemail.voice.answer == "machine" and voicemail.sms.delivery == "delivered"
    outage = scenario.behaviour_for("+15550000009").api_error
    assert outage is not None and (outage.status, outage.code) == (500, 20500)
    stranger = scenario.behaviour_for("+15551234567")
    assert stranger.voice.answer == "human" and stranger.api_error is None


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", 'recipients: {"+15550000001": {voice: {answer: hooman}}}', "hooman"),
        ("bad.yaml", 'recipients: {"+15550000001": {voice: {answer: human}}}\n', None),
        ("num.yaml", "recipients: {+15550000001: {voice: {answer: busy}}}", "quote phone numbers"),
        ("keys.yaml", 'recipients: {"+15550000001": {voice: {presses: ["1x"]}}}', "'1x'"),
        ("extra.yaml", "default: {sms: {delivery: delivered, colour: red}}", "default.sms.colour"),
        ("syntax.yaml", "recipients: [unclosed", "invalid YAML at line"),
        ("list.yaml", "- 1\n- 2\n", "must be a mapping"),
        ("bad.json", '{"default": {"voice": {"answer": 1}}}', "default.voice.answer"),
        ("broken.json", '{"default": ', "invalid JSON at line 1"),
    ],
)
def test_scenario_files_are_validated_with_clear_errors(
    tmp_path: Path, name: str, text: str, expected: str | None
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    if expected is None:
        assert load_scenario(path).behaviour_for(ALICE).voice.answer == "human"
        return
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario(tmp_path / "absent.yaml")
    with pytest.raises(ScenarioError, match=r"recipients\.\+15550000001\.sms\.delivery"):
        parse_scenario({"recipients": {ALICE: {"sms": {"delivery": "maybe"}}}})


async def test_put_bad_scenario_is_refused(control: httpx.AsyncClient) -> None:
    response = await control.put("/_sim/scenario", json={"default": {"voice": {"answer": "x"}}})
    assert response.status_code == 422
    assert "default.voice.answer" in response.json()["detail"]


async def test_a_port_taken_at_start_up_is_an_error_not_an_exit() -> None:
    """uvicorn ends a failed bind with sys.exit(); the embedded server turns that into one
    clear error for its own start(), and the host's event loop goes on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        server = LoopbackServer(Starlette(), port=port)
        with pytest.raises(ServerStartError, match=f"port {port} on 127.0.0.1 is already in use"):
            await server.start()
        await server.stop()  # nothing left running
    await asyncio.sleep(0)  # the loop is still alive
    async with LoopbackServer(Starlette(), port=port) as server:  # the port, once free, works
        assert server.port == port


async def test_the_stack_names_the_setting_when_a_port_is_taken_after_the_check() -> None:
    """Another program can take a port between check_ports and the bind: the same one line."""
    from contextlib import AsyncExitStack

    from herald.embedded import EmbeddedServiceError, PortClaim
    from herald.stack import _start

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        claims = [PortClaim("the API", "127.0.0.1", port, "set HERALD_API_PORT")]
        async with AsyncExitStack() as stack:
            with pytest.raises(EmbeddedServiceError) as raised:
                await _start(stack, LoopbackServer(Starlette(), port=port), claims)
    assert str(raised.value) == (f"port {port} on 127.0.0.1 is already in use: set HERALD_API_PORT")
