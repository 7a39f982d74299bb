"""Twilio simulator engine: runs calls and messages against the scenario, posts callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.twilio_sim.scenario import (
    Faults,
    Scenario,
    SimulatorConfig,
    SmsBehaviour,
    VoiceBehaviour,
)
from channels.twilio_sim.state import (
    API_VERSION,
    CallRecord,
    MessageRecord,
    SimState,
    rfc2822,
    segments,
    utcnow,
)
from channels.twilio_sim.twiml import TwimlError, parse_twiml, text_of
from channels.twilio_sim.voice import CallFlow
from channels.twilio_sim.webhooks import WebhookSender

logger = logging.getLogger(__name__)

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
DEFAULT_ERROR_CODES = {"undelivered": 30003, "failed": 30008}
RELEASE_TIMEOUT = 5.0


def _setter(event: asyncio.Event) -> Callable[[], Awaitable[None]]:
    # A coroutine function, so Starlette runs it on the event loop (a plain callable would be
    # sent to a worker thread, and asyncio.Event is not thread-safe).
    async def release() -> None:
        event.set()

    return release


class Simulator:
    """The simulator's live state: scenario, stored resources and running simulations."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.scenario: Scenario = config.scenario
        self.numbers: dict[str, str] = dict(config.numbers)
        self.state = SimState()
        self.sender = WebhookSender(config.auth_token)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._rngs: dict[str, random.Random] = {}
        self._rng_for: Faults | None = None
        self.injected: Counter[str] = Counter()  # faults injected so far, by kind
        # Status callbacks held back by reorder_callbacks, per sid: (kind, url, params, method).
        self._held: dict[str, list[tuple[str, str, dict[str, str], str]]] = {}

    # -- injected faults (scenario.faults) ----------------------------------------------------

    def _random(self, stream: str) -> float:
        """The next number of ``stream`` ("create" or "callback"), each seeded by the current
        faults: the faults of the first N creates do not depend on how callbacks interleave."""
        faults = self.scenario.faults
        if self._rng_for is not faults:  # a new scenario: start its seeded sequences
            self._rngs, self._rng_for = {}, faults
        if stream not in self._rngs:
            seed = None if faults.seed is None else f"{faults.seed}:{stream}"
            self._rngs[stream] = random.Random(seed)
        return self._rngs[stream].random()

    def create_fault(self) -> str | None:
        """What goes wrong with this create request: refuse, accept_then_500, accept_then_hang
        or nothing (None)."""
        faults = self.scenario.faults
        total = faults.refuse + faults.accept_then_500 + faults.accept_then_hang
        if total <= 0:
            return None
        roll = self._random("create")
        if roll >= total:
            return None
        pick = roll
        if pick < faults.refuse:
            self.injected["refuse"] += 1
            return "refuse"
        late = pick >= faults.refuse + faults.accept_then_500
        fault = "accept_then_hang" if late else "accept_then_500"
        self.injected[fault] += 1
        return fault

    async def post_status(
        self,
        record: CallRecord | MessageRecord,
        kind: str,
        url: str,
        params: dict[str, str],
        method: str = "POST",
        *,
        final: bool = False,
    ) -> None:
        """Post one status callback, or none or two of it when the faults say so; a callback
        held back (``reorder_callbacks``, never the final one) is posted after the next."""
        faults = self.scenario.faults
        if faults.drop_callbacks and self._random("callback") < faults.drop_callbacks:
            record.notes.append(f"{kind} callback dropped (simulated fault)")
            self.injected["drop_callback"] += 1
            return
        if (
            not final
            and faults.reorder_callbacks
            and self._random("callback") < faults.reorder_callbacks
        ):
            record.notes.append(f"{kind} callback held back, posted after a later one")
            self._held.setdefault(record.sid, []).append((kind, url, params, method))
            self.injected["reorder_callback"] += 1
            return
        twice = faults.duplicate_callbacks and self._random("callback") < faults.duplicate_callbacks
        times = 2 if twice else 1
        self.injected["duplicate_callback"] += times - 1
        late = self._held.pop(record.sid, [])
        for kind_, url_, params_, method_ in [(kind, url, params, method)] * times + late:
            sent, _body = await self.sender.send(kind_, url_, params_, method_)
            record.requests.append(sent)

    # -- task bookkeeping ---------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self._tasks

    def _spawn(self, work: Coroutine[Any, Any, None], record: CallRecord | MessageRecord) -> None:
        if self._closed:
            work.close()
            record.notes.append("not simulated: the simulator is shutting down")
            return
        task = asyncio.create_task(self._guarded(work, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(
        self, work: Coroutine[Any, Any, None], record: CallRecord | MessageRecord
    ) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.exception("simulation of %s crashed", record.sid)
            record.notes.append(f"simulator error: {type(error).__name__}: {error}")

    def start_call(self, call: CallRecord) -> Callable[[], Awaitable[None]]:
        """Schedule the call; it starts when the returned coroutine function is awaited.

        The API awaits it as the response's background task, i.e. after the 201 was sent.
        """
        released = asyncio.Event()
        voice = self.scenario.behaviour_for(call.to).voice  # fixed when the call is created
        self._spawn(self._after(released, self._run_call(call, voice)), call)
        return _setter(released)

    def start_message(self, message: MessageRecord) -> Callable[[], Awaitable[None]]:
        """Schedule delivery; it starts when the returned coroutine function is awaited."""
        released = asyncio.Event()
        sms = self.scenario.behaviour_for(message.to).sms  # fixed when the message is created
        self._spawn(self._after(released, self._run_message(message, sms)), message)
        return _setter(released)

    async def _after(self, released: asyncio.Event, work: Coroutine[Any, Any, None]) -> None:
        # If the client went away before the response was sent, the event is never set.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(released.wait(), RELEASE_TIMEOUT)
        await work

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no simulation is running; raises TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    async def _cancel_all(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reset(self) -> None:
        """Stop running simulations and forget every call, message and opt-out."""
        await self._cancel_all()
        self.state.clear()
        self._held.clear()

    async def aclose(self) -> None:
        self._closed = True
        await self._cancel_all()
        await self.sender.aclose()

    # -- calls --------------------------------------------------------------------------------

    async def _run_call(self, call: CallRecord, voice: VoiceBehaviour) -> None:
        sequence = itertools.count()

        async def progress(event: str, call_status: str, **extra: str) -> None:
            final = event == "completed"
            if not call.status_callback or not (final or event in call.status_callback_events):
                return
            params = {
                "AccountSid": call.account_sid,
                "ApiVersion": API_VERSION,
                "CallSid": call.sid,
                "CallStatus": call_status,
                "Direction": "outbound-api",
                "From": call.from_,
                "To": call.to,
                "Called": call.to,
                "Caller": call.from_,
                "Timestamp": rfc2822(utcnow()) or "",
                "SequenceNumber": str(next(sequence)),
                "CallbackSource": "call-progress-events",
                **({"AnsweredBy": call.answered_by} if call.answered_by else {}),
                **extra,
            }
            await self.post_status(
                call,
                f"status:{call_status}",
                call.status_callback,
                params,
                call.status_callback_method,
                final=final,
            )

        await asyncio.sleep(self.config.delay)
        call.start_time = utcnow()
        await progress("initiated", "initiated")
        if voice.answer != "failed":
            await asyncio.sleep(self.config.delay)
            call.set_status("ringing")
            await progress("ringing", "ringing")
        await asyncio.sleep(self.config.delay)
        if voice.answer in ("no-answer", "busy", "failed"):
            self._finish_call(call, voice.answer, 0)
            await progress("completed", voice.answer, CallDuration="0", Duration="0")
            return
        if call.machine_detection:
            machine = (
                "machine_end_beep"
                if call.machine_detection == "DetectMessageEnd"
                else ("machine_start")
            )
            call.answered_by = "human" if voice.answer == "human" else machine
        call.set_status("in-progress")
        await progress("answered", "in-progress")
        flow = self._flow(call, voice)
        await flow.run()
        await asyncio.sleep(self.config.delay)
        self._finish_call(call, "completed", flow.duration)
        minutes = str(-(-flow.duration // 60))
        await progress("completed", "completed", CallDuration=str(flow.duration), Duration=minutes)

    def _flow(self, call: CallRecord, voice: VoiceBehaviour) -> CallFlow:
        """The answered call's flow: the recipient's presses (a machine presses nothing), how
        the numbers it dials answer, what the caller does in a queue."""
        return CallFlow(
            call=call,
            presses=list(voice.presses) if voice.answer == "human" else None,
            sender=self.sender,
            delay=self.config.delay,
            dialled=lambda number: self.scenario.behaviour_for(number).voice.answer,
            in_queue=voice.in_queue,
        )

    @staticmethod
    def _finish_call(call: CallRecord, status: str, duration: int) -> None:
        call.duration = duration
        call.end_time = utcnow()
        call.set_status(status)

    # -- messages -----------------------------------------------------------------------------

    async def _message_status(self, message: MessageRecord) -> None:
        if not message.status_callback:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": message.status,
            "SmsStatus": message.status,
            "From": message.from_ or "",
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        final = message.status in ("delivered", "undelivered", "failed")
        await self.post_status(
            message, f"status:{message.status}", message.status_callback, params, final=final
        )

    async def _run_message(self, message: MessageRecord, sms: SmsBehaviour) -> None:
        await asyncio.sleep(self.config.delay)
        if sms.delivery == "failed":
            message.set_status("failed", sms.error_code or DEFAULT_ERROR_CODES["failed"])
            await self._message_status(message)
            return
        message.date_sent = utcnow()
        message.set_status("sent")
        await self._message_status(message)
        await asyncio.sleep(self.config.delay)
        if sms.delivery == "undelivered":
            message.set_status("undelivered", sms.error_code or DEFAULT_ERROR_CODES["undelivered"])
            await self._message_status(message)
            return
        message.set_status("delivered")
        await self._message_status(message)
        if sms.reply is not None and message.from_ is not None:
            await asyncio.sleep(self.config.delay)
            await self.receive_sms(from_=message.to, to=message.from_, body=sms.reply)

    async def receive_sms(self, *, from_: str, to: str, body: str) -> MessageRecord:
        """A recipient texts Herald's number `to`: store it and post it to that number's webhook."""
        inbound = self.state.add_message(
            MessageRecord(
                account_sid=self.config.account_sid,
                to=to,
                from_=from_,
                body=body,
                direction="inbound",
                status="received",
                date_sent=utcnow(),
            )
        )
        keyword = body.strip().upper()
        if keyword in OPT_OUT:
            self.state.opted_out.add((from_, to))
        elif keyword in OPT_IN:
            self.state.opted_out.discard((from_, to))
        url = self.numbers.get(to)
        if url is None:
            inbound.notes.append(f"not posted: {to} has no SMS webhook configured in `numbers`")
            return inbound
        params = {
            "AccountSid": inbound.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": inbound.sid,
            "SmsSid": inbound.sid,
            "SmsMessageSid": inbound.sid,
            "SmsStatus": "received",
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(segments(body)),
        }
        sent, content = await self.sender.send("inbound-sms", url, params)
        inbound.requests.append(sent)
        if sent.status is not None and 200 <= sent.status < 300 and content.strip():
            self._reply_from_twiml(inbound, content)
        return inbound

    def _reply_from_twiml(self, inbound: MessageRecord, content: bytes) -> None:
        """Send the <Message> replies of Herald's messaging TwiML, like Twilio does."""
        if not content.lstrip().startswith(b"<"):
            return
        try:
            root = parse_twiml(content)
        except TwimlError as error:
            inbound.notes.append(f"reply TwiML ignored (error 12100): {error}")
            return
        for verb in root:
            if verb.tag != "Message":
                continue
            body_element = verb.find("Body")
            body = text_of(body_element if body_element is not None else verb)
            reply = MessageRecord(
                account_sid=inbound.account_sid,
                to=verb.get("to") or inbound.from_ or "",
                from_=verb.get("from") or inbound.to,
                body=body,
                direction="outbound-reply",
                status="delivered",
                date_sent=utcnow(),
            )
            self.state.add_message(reply)
            inbound.notes.append(f"replied with {reply.sid}")
