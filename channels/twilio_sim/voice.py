"""Twilio simulator TwiML interpreter: plays Herald's voice documents to a simulated recipient."""

from __future__ import annotations

import asyncio
import enum
import math
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from channels.twilio_sim.scenario import AnswerMode, QueueMode
from channels.twilio_sim.state import API_VERSION, CallRecord, new_sid
from channels.twilio_sim.twiml import TwimlError, parse_twiml, text_of
from channels.twilio_sim.webhooks import WebhookSender

MAX_DOCUMENTS = 50
DIAL_SECONDS = 10
ENQUEUE_SECONDS = 30
PLAY_SECONDS = 5
RETRIEVAL_FAILURE = 11200
PARSE_FAILURE = 12100
# The DialCallStatus of a dialled number, by how its owner answers (a machine answers too).
DIAL_STATUS = {
    "human": "completed",
    "machine": "completed",
    "no-answer": "no-answer",
    "busy": "busy",
    "failed": "failed",
}


class _Flow(enum.Enum):
    NEXT_VERB = "next verb"


NEXT_VERB = _Flow.NEXT_VERB


@dataclass(frozen=True)
class Document:
    """A TwiML <Response> and the URL it came from (None for inline `Twiml`)."""

    url: str | None
    root: ET.Element


# What a verb leads to: the next verb, another document, or the end of the call (None).
Step = Document | None | _Flow


def _int_attr(verb: ET.Element, name: str, default: int | None) -> int | None:
    value = verb.get(name)
    if value is None or not value.strip().isdigit():
        return default
    return int(value)


class CallFlow:
    """Runs one answered call: fetches TwiML, executes verbs, posts Gather/Dial actions.

    `presses` is the recipient's script of <Gather> inputs ("" for silence); None for a machine.
    `dialled` says how the owner of a number this call <Dial>s answers (everyone answers when
    not given); `in_queue` what the caller does when <Enqueue>d.
    """

    def __init__(
        self,
        *,
        call: CallRecord,
        presses: list[str] | None,
        sender: WebhookSender,
        delay: float,
        dialled: Callable[[str], AnswerMode] | None = None,
        in_queue: QueueMode = "hangup",
    ) -> None:
        self.call = call
        self.presses = presses
        self.sender = sender
        self.delay = delay
        self.dialled = dialled or (lambda _number: "human")
        self.in_queue = in_queue
        self.seconds = 0.0
        self.documents = 0
        self._verbs: dict[str, Callable[[ET.Element, Document], Awaitable[Step]]] = {
            "Say": self._say,
            "Play": self._play,
            "Pause": self._pause,
            "Gather": self._gather,
            "Redirect": self._redirect,
            "Dial": self._dial,
            "Enqueue": self._enqueue,
            "Hangup": self._hangup,
            "Reject": self._reject,
        }

    @property
    def duration(self) -> int:
        """Simulated call length in whole seconds (at least 1 for an answered call)."""
        return max(1, math.ceil(self.seconds))

    def params(self, **extra: str) -> dict[str, str]:
        """The parameters Twilio sends with every voice request for this call."""
        call = self.call
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "Called": call.to,
            "Caller": call.from_,
        }
        if call.answered_by:
            params["AnsweredBy"] = call.answered_by
        params.update(extra)
        return params

    def _record(self, verb: str, **details: Any) -> None:
        self.call.transcript.append({"verb": verb, **details})

    def _error(self, code: int, message: str) -> None:
        self._record("Error", code=code, message=message)
        self.call.notes.append(f"application error {code}: {message}")

    async def run(self) -> None:
        """Execute the call's TwiML until it hangs up, ends, or fails."""
        if self.call.twiml is not None:
            try:
                document: Document | None = Document(
                    url=self.call.url, root=parse_twiml(self.call.twiml)
                )
                self.documents = 1
            except TwimlError as error:
                self._error(PARSE_FAILURE, f"inline Twiml: {error}")
                return
        else:
            assert self.call.url is not None
            document = await self._fetch("twiml", self.call.url, self.call.method, self.params())
        while document is not None:
            document = await self._execute(document)

    async def _execute(self, document: Document) -> Document | None:
        for verb in document.root:
            handler = self._verbs.get(verb.tag)
            if handler is None:
                self._record(verb.tag, note="not simulated; skipped")
                continue
            step = await handler(verb, document)
            if step is not NEXT_VERB:
                return step if isinstance(step, Document) else None
        return None

    def _resolve(self, document: Document, target: str | None, what: str) -> str | None:
        target = (target or "").strip()
        if target and urlsplit(target).scheme:
            return target
        if document.url is None:
            self._error(
                RETRIEVAL_FAILURE, f"{what}: no absolute URL and no document URL to resolve it"
            )
            return None
        return urljoin(document.url, target) if target else document.url

    async def _fetch(
        self, kind: str, url: str | None, method: str | None, params: dict[str, str]
    ) -> Document | None:
        if url is None:
            return None
        if self.documents >= MAX_DOCUMENTS:
            self._error(RETRIEVAL_FAILURE, f"more than {MAX_DOCUMENTS} TwiML documents; hanging up")
            return None
        self.documents += 1
        await asyncio.sleep(self.delay)
        method = (method or "POST").upper()
        sent, content = await self.sender.send(
            kind, url, params, "GET" if method == "GET" else "POST"
        )
        self.call.requests.append(sent)
        if sent.status is None or not 200 <= sent.status < 300:
            outcome = sent.error or f"HTTP {sent.status}"
            self._error(RETRIEVAL_FAILURE, f"HTTP retrieval failure: {outcome} from {method} {url}")
            return None
        try:
            return Document(url=url, root=parse_twiml(content))
        except TwimlError as error:
            self._error(PARSE_FAILURE, f"document parse failure from {url}: {error}")
            return None

    async def _say(self, verb: ET.Element, _document: Document) -> Step:
        text = text_of(verb)
        self._record("Say", text=text, voice=verb.get("voice"), language=verb.get("language"))
        self.seconds += max(1.0, len(text.split()) * 0.4)
        return NEXT_VERB

    async def _play(self, verb: ET.Element, document: Document) -> Step:
        if verb.get("digits"):
            self._record("Play", digits=verb.get("digits"))
            return NEXT_VERB
        url = self._resolve(document, text_of(verb), "<Play>")
        if url is None:
            return NEXT_VERB
        sent = await self.sender.fetch_media(url)
        self.call.requests.append(sent)
        self._record("Play", url=url, status=sent.status)
        self.seconds += PLAY_SECONDS
        return NEXT_VERB

    async def _pause(self, verb: ET.Element, _document: Document) -> Step:
        self.seconds += _int_attr(verb, "length", 1) or 0
        return NEXT_VERB

    def _next_press(self) -> str | None:
        if not self.presses:
            return None
        return self.presses.pop(0)

    async def _gather(self, verb: ET.Element, document: Document) -> Step:
        for child in verb:
            if child.tag in ("Say", "Play", "Pause"):
                await self._verbs[child.tag](child, document)
            else:
                self._record(child.tag, note="not allowed inside <Gather>; skipped")
        finish_on_key = verb.get("finishOnKey", "#")
        num_digits = _int_attr(verb, "numDigits", None)
        timeout = _int_attr(verb, "timeout", 5) or 0
        entry = self._next_press() or ""
        finished_on = ""
        if finish_on_key and finish_on_key in entry:
            entry, finished_on = entry[: entry.index(finish_on_key)], finish_on_key
        digits = entry[:num_digits] if num_digits else entry
        speech = "dtmf" not in verb.get("input", "dtmf")
        if not digits:
            self._record("Gather", digits="", timed_out=True)
            self.seconds += timeout
            if verb.get("actionOnEmptyResult", "false").lower() != "true":
                return NEXT_VERB
        else:
            self._record("Gather", **({"speech": digits} if speech else {"digits": digits}))
            self.seconds += 2
        action = self._resolve(document, verb.get("action"), "<Gather> action")
        extra = (
            {"SpeechResult": digits, "Confidence": "0.9"}
            if speech
            else {"Digits": digits, "FinishedOnKey": finished_on}
        )
        return await self._fetch("gather", action, verb.get("method"), self.params(**extra))

    async def _redirect(self, verb: ET.Element, document: Document) -> Step:
        url = self._resolve(document, text_of(verb), "<Redirect>")
        self._record("Redirect", url=url)
        return await self._fetch("redirect", url, verb.get("method"), self.params())

    async def _dial(self, verb: ET.Element, document: Document) -> Step:
        number = (verb.text or "").strip() or None
        others: dict[str, str] = {}
        whisper_url: str | None = None
        for child in verb:
            if child.tag == "Number" and number is None:
                number = text_of(child)
                if child.get("url"):
                    whisper_url = self._resolve(document, child.get("url"), "<Number> url")
            elif child.tag in ("Client", "Sip", "Queue", "Conference"):
                others.setdefault(child.tag.lower(), text_of(child))
        caller_id = verb.get("callerId")
        status = DIAL_STATUS[self.dialled(number)] if number else "completed"
        self._record("Dial", number=number, caller_id=caller_id, status=status, **others)
        leg = new_sid("CA")
        if whisper_url and status == "completed":
            await self._whisper(whisper_url, leg, number or "", caller_id)
        answered = status == "completed"
        self.seconds += DIAL_SECONDS if answered else 0
        if not verb.get("action"):
            return NEXT_VERB
        action = self._resolve(document, verb.get("action"), "<Dial> action")
        extra = {"DialCallStatus": status, "DialCallSid": leg}
        if answered:
            extra["DialCallDuration"] = str(DIAL_SECONDS)
        return await self._fetch("dial", action, verb.get("method"), self.params(**extra))

    async def _whisper(self, url: str, leg: str, number: str, caller_id: str | None) -> None:
        """The dialled party answered: Twilio plays the <Number url> TwiML to them alone, in a
        request about their own leg (its CallSid) that names this call as ParentCallSid."""
        params = self.params(
            CallSid=leg,
            ParentCallSid=self.call.sid,
            Direction="outbound-dial",
            To=number,
            Called=number,
            From=caller_id or self.call.from_,
            Caller=caller_id or self.call.from_,
        )
        params.pop("AnsweredBy", None)
        whisper = await self._fetch("whisper", url, "POST", params)
        if whisper is not None:
            for said in whisper.root:
                if said.tag == "Say":
                    self._record("Whisper", text=text_of(said))

    async def _enqueue(self, verb: ET.Element, document: Document) -> Step:
        self._record("Enqueue", queue=text_of(verb), wait_url=verb.get("waitUrl"))
        self.seconds += ENQUEUE_SECONDS
        if not verb.get("action"):
            return None
        # The caller leaves the queue: hung up while waiting, or bridged to an agent (Twilio
        # requests the action once the bridged call is over). Either way the caller is gone:
        # the action's TwiML is fetched, not played.
        action = self._resolve(document, verb.get("action"), "<Enqueue> action")
        extra = {
            "QueueResult": self.in_queue,
            "QueueSid": new_sid("QU"),
            "QueueTime": str(ENQUEUE_SECONDS),
        }
        await self._fetch("enqueue", action, verb.get("method"), self.params(**extra))
        return None

    async def _hangup(self, _verb: ET.Element, _document: Document) -> Step:
        self._record("Hangup")
        return None

    async def _reject(self, verb: ET.Element, _document: Document) -> Step:
        self._record("Reject", reason=verb.get("reason", "rejected"))
        return None
