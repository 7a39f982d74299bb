"""What the alert services need from the outside world, handed in by the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.links import LinkSigner, MediaSigner
from alerts.ports import AgentRouter, CallCentre, Pacer, VoiceSwitch
from channels.base import Channel


@dataclass(frozen=True, slots=True)
class Tts:
    """A text-to-speech voice and the language it speaks (Twilio <Say voice= language=>)."""

    voice: str
    language: str


DEFAULT_VOICES: dict[str, Tts] = {
    "en": Tts("Polly.Amy", "en-GB"),
    "nl": Tts("Polly.Lotte", "nl-NL"),
    "fr": Tts("Polly.Celine", "fr-FR"),
    "de": Tts("Polly.Vicki", "de-DE"),
    "es": Tts("Polly.Lucia", "es-ES"),
}


class StepQueue(Protocol):
    """Enqueues a delivery step; must be idempotent for the same (alert, step)."""

    async def enqueue_step(
        self,
        *,
        alert_id: int,
        step_index: int,
        channel: str,
        defer_seconds: float = 0,
        run_key: str = "",
    ) -> bool:
        """True when queued now; False when that step's job is already queued or running.
        ``run_key`` names a later run of the same step (moved out of quiet hours, paced)."""
        ...


class StepJob(NamedTuple):
    """One delivery step to enqueue (the arguments of ``StepQueue.enqueue_step``)."""

    alert_id: int
    step_index: int
    channel: str
    defer_seconds: float = 0


@runtime_checkable
class BatchStepQueue(Protocol):
    """A step queue that also enqueues many steps in one round trip, each exactly as
    ``enqueue_step`` would (same job id, so a step already queued is not queued again)."""

    async def enqueue_steps(self, jobs: Sequence[StepJob]) -> int:
        """Enqueue ``jobs``; returns how many were queued now (the others already were)."""
        ...


class SendGate(Protocol):
    """The providers' rate limits shared by every worker (alerts.delivery.rate_limits
    .RedisSendGate): asked for each send's slot right before the send."""

    def limited(self, kind: str) -> bool:
        """Whether sends of ``kind`` ("voice", "sms", "email") have a limit at all."""
        ...

    async def ask(self, *, kind: str, step: str, owner: str, cost: int = 1) -> Any:
        """The slot of one send (a ``rate_limits.Slot``): go now, wait, or held elsewhere."""
        ...

    async def space(self, *, kind: str, cost: int = 1) -> float:
        """Seconds a granted send must still wait at the wire (0: go now, counted)."""
        ...


@dataclass
class AlertDeps:
    sessions: async_sessionmaker[AsyncSession]
    channels: dict[str, Channel]  # by kind: "voice", "sms", "email"
    queue: StepQueue
    links: LinkSigner
    public_url: str
    callcentre_number: str
    # The call centre's hours and load (callcentre.state.StoredCentre in the running system).
    centre: CallCentre
    # The name customers know the sender by (HERALD_BRAND); always handed in by the runtime.
    brand: str = field(kw_only=True)
    # The brand's colour in emails (HERALD_BRAND_COLOUR, validated #rrggbb).
    brand_colour: str = "#16324f"
    reply_window_hours: int = 72
    # Signs the expiring URLs Twilio fetches recorded audio from (None: no recordings played).
    media: MediaSigner | None = None
    # Text-to-speech voice per locale ("nl-BE", then "nl", then "en").
    voices: dict[str, Tts] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    # Signs requests to transaction endpoints (never the secret key that signs links); no default:
    # the runtime hands in HERALD_TRANSACTION_SECRET or the key derived from the secret key.
    transaction_secret: str = field(kw_only=True)
    # Live transfers: None dials callcentre_number; a name enqueues into that Twilio queue.
    transfer_queue: str | None = None
    # Paces voice alerts that offer an agent (callcentre.live_pacing.VoicePacer); None = off.
    pacer: Pacer | None = None
    # The supervisor's voice kill switch (callcentre.voice_switch.StoredVoiceSwitch); None = none.
    voice_switch: VoiceSwitch | None = None
    # Puts live transfers through to an available agent's own line (callcentre.routing
    # .StoredAgentRouter); None = every transfer rings the centre's number or queue.
    agents: AgentRouter | None = None
    # The providers' own rate limits (messages/s, calls/s), shared in Redis across workers
    # (alerts.delivery.rate_limits, docs/pacing.md); None = no limit.
    send_gate: SendGate | None = None

    def tts(self, locale: str | None = None) -> Tts:
        """The voice for ``locale``: exact, then its base language, then English."""
        for candidate in (locale, (locale or "").split("-")[0], "en"):
            if candidate and candidate in self.voices:
                return self.voices[candidate]
        return DEFAULT_VOICES["en"]
