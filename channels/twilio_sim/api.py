"""Twilio simulator REST API: the 2010-04-01 Calls and Messages endpoints Herald uses."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from typing_extensions import TypedDict

from channels.twilio_sim.scenario import E164
from channels.twilio_sim.simulation import Simulator
from channels.twilio_sim.state import (
    API_VERSION,
    CallRecord,
    CallResource,
    MessageRecord,
    MessageResource,
)

MAX_BODY = 1600
CALL_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})

_Record = TypeVar("_Record", CallRecord, MessageRecord)
_Item = TypeVar("_Item")


class Paging(TypedDict):
    """Twilio's paging envelope, beside the page's list."""

    page: int
    page_size: int
    uri: str
    first_page_uri: str
    next_page_uri: str | None
    previous_page_uri: str | None
    start: int
    end: int


class CallPage(Paging):
    calls: list[CallResource]


class MessagePage(Paging):
    messages: list[MessageResource]


class TwilioApiError(Exception):
    """Rendered as Twilio's error JSON: {"code", "message", "more_info", "status"}."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(error: TwilioApiError) -> JSONResponse:
    body = {
        "code": error.code,
        "message": error.message,
        "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
        "status": error.status,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None
    return JSONResponse(body, status_code=error.status, headers=headers)


def get_simulator(request: Request) -> Simulator:
    simulator: Simulator = request.app.state.simulator
    return simulator


SimulatorDep = Annotated[Simulator, Depends(get_simulator)]


def authenticate(request: Request, AccountSid: str, sim: SimulatorDep) -> None:
    """HTTP Basic with the account sid and auth token, then the account in the path."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    config = sim.config
    valid = (
        scheme.lower() == "basic"
        and hmac.compare_digest(user.encode(), config.account_sid.encode())
        and hmac.compare_digest(password.encode(), config.auth_token.encode())
    )
    if not valid:
        raise TwilioApiError(401, 20003, "Authenticate")
    if AccountSid != config.account_sid:
        raise TwilioApiError(404, 20404, f"The requested resource {request.url.path} was not found")


router = APIRouter(
    prefix=f"/{API_VERSION}/Accounts/{{AccountSid}}", dependencies=[Depends(authenticate)]
)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _check_number(value: str | None, role: str, missing: int, invalid: int) -> str:
    if value is None:
        raise TwilioApiError(400, missing, f"A '{role}' phone number is required.")
    if not E164.match(value):
        raise TwilioApiError(
            400, invalid, f"Invalid '{role}' Phone Number: {value} (use E.164, like +15550000001)"
        )
    return value


def _check_url(value: str | None, name: str, code: int) -> None:
    if value is not None and (urlsplit(value).scheme not in ("http", "https")):
        raise TwilioApiError(400, code, f"{name} is not a valid absolute http(s) URL: {value}")


def _raise_scenario_error(sim: Simulator, to: str) -> None:
    failure = sim.scenario.behaviour_for(to).api_error
    if failure is not None:
        raise TwilioApiError(failure.status, failure.code, failure.message)


def _refuse_at_random(sim: Simulator) -> str | None:
    """The injected fault of this create request (scenario.faults); a refusal is raised now."""
    fault = sim.create_fault()
    if fault == "refuse":
        raise TwilioApiError(500, 20500, "Internal Server Error (simulated fault: refused)")
    return fault


async def _created(
    fault: str | None,
    resource: CallResource | MessageResource,
    release: Callable[[], Awaitable[None]],
    sim: Simulator,
) -> JSONResponse:
    """The 201 for a created call or message, or the fault that spoils it: the resource exists
    and goes out either way, but the client gets a 500 or no answer within its timeout."""
    if fault == "accept_then_500":
        await release()
        raise TwilioApiError(500, 20500, "Internal Server Error (simulated fault: accepted)")
    if fault == "accept_then_hang":
        await release()
        await asyncio.sleep(sim.scenario.faults.hang_seconds)
        return JSONResponse(resource, status_code=201)
    if sim.scenario.answer_seconds:
        await asyncio.sleep(sim.scenario.answer_seconds)
    return JSONResponse(resource, status_code=201, background=BackgroundTask(release))


def _parse_when(name: str, value: str) -> tuple[datetime, bool]:
    """A filter value: `YYYY-MM-DD` (a UTC day) or an ISO 8601 date-time."""
    try:
        if len(value) == 10:
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), True
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TwilioApiError(
            400, 20001, f"Invalid {name}: {value!r} (use YYYY-MM-DD or an ISO 8601 date-time)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), False


@dataclass(frozen=True)
class _DateFilter:
    """`StartTime>=2024-05-01` and friends; a bare date means that whole UTC day."""

    op: str
    start: datetime
    whole_day: bool

    def __call__(self, moment: datetime) -> bool:
        end = self.start + timedelta(days=1) if self.whole_day else self.start
        if self.op == "":  # "started on this date", whatever time of day the value carries
            day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
            return day <= moment < day + timedelta(days=1)
        if self.op.startswith(">"):
            return moment >= self.start
        if self.op == "<":
            return moment < self.start
        return moment < end if self.whole_day else moment <= end


def _date_filters(request: Request, name: str) -> list[_DateFilter]:
    checks = []
    for key, value in request.query_params.multi_items():
        op = key[len(name) :] if key.startswith(name) else None
        if op in ("", ">", ">=", "<", "<="):
            checks.append(_DateFilter(op, *_parse_when(key, value.lstrip("="))))
    return checks


def _page(request: Request, items: list[_Item]) -> tuple[list[_Item], Paging]:
    """One page of `items` (newest first) and Twilio's paging envelope around it."""
    query = request.query_params
    try:
        size = min(max(int(query.get("PageSize", "50")), 1), 1000)
        number = max(int(query.get("Page", "0")), 0)
    except ValueError:
        raise TwilioApiError(400, 20001, "PageSize and Page must be integers") from None
    kept = [(k, v) for k, v in query.multi_items() if k not in ("PageSize", "Page", "PageToken")]

    def uri(page: int) -> str:
        return request.url.path + "?" + urlencode([*kept, ("PageSize", size), ("Page", page)])

    start = number * size
    chunk = items[start : start + size]
    return chunk, {
        "page": number,
        "page_size": size,
        "uri": uri(number),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1) if start + size < len(items) else None,
        "previous_page_uri": uri(number - 1) if number > 0 else None,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
    }


def _matching(
    records: Iterable[_Record],
    request: Request,
    date_name: str,
    moment: Callable[[_Record], datetime],
) -> list[_Record]:
    query = request.query_params
    checks = _date_filters(request, date_name)
    found = []
    for record in reversed(list(records)):
        if query.get("To") and record.to != query["To"]:
            continue
        if query.get("From") and record.from_ != query["From"]:
            continue
        if query.get("Status") and record.status != query["Status"]:
            continue
        if all(check(moment(record)) for check in checks):
            found.append(record)
    return found


@router.post("/Calls.json", status_code=201)
async def create_call(request: Request, sim: SimulatorDep) -> JSONResponse:
    form = await request.form()
    to = _check_number(_field(form, "To"), "To", 21201, 21211)
    from_ = _check_number(_field(form, "From"), "From", 21213, 21212)
    url, twiml = _field(form, "Url"), _field(form, "Twiml")
    if url is None and twiml is None:
        raise TwilioApiError(400, 21205, "Url parameter is required (or Twiml).")
    _check_url(url, "Url", 21205)
    callback = _field(form, "StatusCallback")
    _check_url(callback, "StatusCallback", 21609)
    events = {
        e for v in form.getlist("StatusCallbackEvent") if isinstance(v, str) for e in v.split()
    }
    if unknown := events - CALL_EVENTS:
        raise TwilioApiError(
            400, 21626, f"Invalid StatusCallbackEvent {sorted(unknown)}; use {sorted(CALL_EVENTS)}"
        )
    timeout = _field(form, "Timeout") or "60"
    if not timeout.isdigit():
        raise TwilioApiError(400, 21217, f"Timeout must be a number of seconds, not {timeout!r}")
    _raise_scenario_error(sim, to)
    fault = _refuse_at_random(sim)
    call = CallRecord(
        account_sid=sim.config.account_sid,
        to=to,
        from_=from_,
        url=url,
        method=(_field(form, "Method") or "POST").upper(),
        twiml=twiml,
        status_callback=callback,
        status_callback_method=(_field(form, "StatusCallbackMethod") or "POST").upper(),
        status_callback_events=frozenset(events),
        machine_detection=_field(form, "MachineDetection"),
        timeout=int(timeout),
    )
    sim.state.add_call(call)
    return await _created(fault, call.resource(), sim.start_call(call), sim)


@router.get("/Calls.json")
async def list_calls(request: Request, sim: SimulatorDep) -> CallPage:
    calls = _matching(
        sim.state.calls.values(), request, "StartTime", lambda c: c.start_time or c.date_created
    )
    chunk, paging = _page(request, calls)
    return {"calls": [call.resource() for call in chunk], **paging}


@router.get("/Calls/{sid}.json")
async def fetch_call(sid: str, request: Request, sim: SimulatorDep) -> CallResource:
    call = sim.state.calls.get(sid)
    if call is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.url.path} was not found")
    return call.resource()


@router.post("/Messages.json", status_code=201)
async def create_message(request: Request, sim: SimulatorDep) -> JSONResponse:
    form = await request.form()
    to = _check_number(_field(form, "To"), "To", 21604, 21211)
    service = _field(form, "MessagingServiceSid")
    from_ = _field(form, "From")
    if from_ is not None or service is None:
        from_ = _check_number(from_, "From", 21603, 21212)
    else:  # a Messaging Service picks a sender from its pool: here, Herald's first number
        from_ = next(iter(sim.numbers), None)
    body = form.get("Body")
    if not isinstance(body, str) or not body.strip():
        raise TwilioApiError(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise TwilioApiError(
            400, 21617, f"The concatenated message body exceeds the {MAX_BODY} character limit."
        )
    callback = _field(form, "StatusCallback")
    _check_url(callback, "StatusCallback", 21609)
    _raise_scenario_error(sim, to)
    fault = _refuse_at_random(sim)
    if (to, from_) in sim.state.opted_out:
        raise TwilioApiError(400, 21610, "Attempt to send to unsubscribed recipient")
    message = MessageRecord(
        account_sid=sim.config.account_sid,
        to=to,
        from_=from_,
        body=body,
        status_callback=callback,
        messaging_service_sid=service,
    )
    sim.state.add_message(message)
    return await _created(fault, message.resource(), sim.start_message(message), sim)


@router.get("/Messages.json")
async def list_messages(request: Request, sim: SimulatorDep) -> MessagePage:
    messages = _matching(
        sim.state.messages.values(), request, "DateSent", lambda m: m.date_sent or m.date_created
    )
    chunk, paging = _page(request, messages)
    return {"messages": [message.resource() for message in chunk], **paging}


@router.get("/Messages/{sid}.json")
async def fetch_message(sid: str, request: Request, sim: SimulatorDep) -> MessageResource:
    message = sim.state.messages.get(sid)
    if message is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.url.path} was not found")
    return message.resource()
