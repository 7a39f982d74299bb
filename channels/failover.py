"""Provider failover: several providers for one channel kind, by priority, with health.

Errors and slow answers demote a provider (its circuit opens for a cool-down that doubles each
time); after the cool-down it gets a growing share of traffic (10%, 25%, 50%, then all) while
it stays healthy. A send moves to the next provider only when the failed one certainly did not
accept the message (a refused connection or an error status); after an ambiguous failure (a
timeout) the job retries later and first asks the providers what they accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic

from channels import metrics
from channels.base import (
    Channel,
    InboundMessage,
    OutboundMessage,
    Receipt,
    StatusUpdate,
    TransientChannelError,
)

logger = logging.getLogger(__name__)
RAMP = (0.1, 0.25, 0.5, 1.0)  # traffic share while a provider proves itself healthy again


@dataclass
class ProviderHealth:
    """The health of one provider as the traffic sees it (pure: time is passed in)."""

    failure_threshold: int = 3
    slow_seconds: float = 5.0
    base_cooldown: timedelta = timedelta(seconds=30)
    max_cooldown: timedelta = timedelta(minutes=10)
    state: str = "healthy"  # "healthy" | "demoted" | "recovering"
    failures: int = 0
    cooldown: timedelta = field(default_factory=lambda: timedelta(seconds=30))
    demoted_until: datetime | None = None
    ramp_step: int = 0
    seen: int = 0  # requests offered while recovering, for the deterministic share
    last_reason: str = ""

    def share(self, now: datetime) -> float:
        """The share of traffic this provider should get now."""
        if self.state == "demoted":
            if self.demoted_until is not None and now >= self.demoted_until:
                self.state, self.ramp_step, self.seen = "recovering", 0, 0
            else:
                return 0.0
        return RAMP[self.ramp_step] if self.state == "recovering" else 1.0

    def offered(self, now: datetime) -> bool:
        """Whether this request goes to this provider (every 1/share-th one while recovering)."""
        share = self.share(now)
        if share >= 1.0:
            return True
        if share <= 0.0:
            return False
        self.seen += 1
        return self.seen % round(1 / share) == 1 % round(1 / share)

    def record(self, *, ok: bool, seconds: float, now: datetime, reason: str = "") -> None:
        slow = ok and seconds > self.slow_seconds
        if ok and not slow:
            self.failures = 0
            if self.state == "recovering":
                self.ramp_step += 1
                if self.ramp_step >= len(RAMP) - 1:
                    self.state, self.cooldown = "healthy", self.base_cooldown
            return
        self.failures += 1
        self.last_reason = reason or f"slow answer ({seconds:.1f}s)"
        if self.state == "recovering" or self.failures >= self.failure_threshold:
            if self.state == "recovering":
                self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self.state = "demoted"
            self.demoted_until = now + self.cooldown
            self.failures = 0

    def describe(self) -> dict[str, object]:
        return {
            "state": self.state,
            "demoted_until": self.demoted_until.isoformat() if self.demoted_until else None,
            "share": RAMP[self.ramp_step]
            if self.state == "recovering"
            else (0.0 if self.state == "demoted" else 1.0),
            "last_problem": self.last_reason,
        }


class FailoverChannel:
    """One channel kind served by providers in priority order (first = preferred)."""

    def __init__(self, providers: Sequence[Channel]) -> None:
        if not providers:
            raise ValueError("FailoverChannel needs at least one provider")
        kinds = {p.kind for p in providers}
        if len(kinds) != 1:
            raise ValueError(f"providers of different kinds: {sorted(kinds)}")
        self.providers = list(providers)
        self.kind = providers[0].kind
        self.key = "failover:" + ",".join(p.key for p in providers)
        self.health = [ProviderHealth() for _ in providers]

    def _order(self, now: datetime) -> list[int]:
        chosen = [i for i, h in enumerate(self.health) if h.offered(now)]
        rest = [i for i, h in enumerate(self.health) if i not in chosen and h.share(now) > 0]
        demoted = [i for i in range(len(self.providers)) if i not in chosen and i not in rest]
        return chosen + rest + demoted  # a demoted provider is the last resort, not never

    async def send(self, message: OutboundMessage) -> Receipt:
        now = datetime.now().astimezone()
        last: TransientChannelError | None = None
        for index in self._order(now):
            provider, health = self.providers[index], self.health[index]
            started = monotonic()
            try:
                receipt = await provider.send(message)
            except TransientChannelError as exc:
                health.record(ok=False, seconds=monotonic() - started, now=now, reason=str(exc))
                logger.warning("provider %s failed (%s), state %s", provider.key, exc, health.state)
                if exc.ambiguous:
                    raise  # it may have accepted: never send the same message elsewhere
                last = exc
                metrics.FALLBACKS.labels(kind="provider", channel=self.kind).inc()
                continue
            health.record(ok=True, seconds=monotonic() - started, now=now)
            if index != 0:
                logger.info("sent through fallback provider %s", provider.key)
            return receipt
        assert last is not None
        raise last

    async def find_sent(self, message: OutboundMessage, since: datetime) -> list[Receipt]:
        found: list[Receipt] = []
        for provider in self.providers:
            found.extend(await provider.find_sent(message, since))
        return found

    async def status_of(self, provider_sid: str) -> StatusUpdate | None:
        """Asked of each provider in turn: the one that knows the sid answers."""
        for provider in self.providers:
            found = await provider.status_of(provider_sid)
            if found is not None:
                return found
        return None

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        return any(p.verify(url, params, signature) for p in self.providers)

    def parse_status(self, params: Mapping[str, str]) -> StatusUpdate:
        return self.providers[0].parse_status(params)

    def parse_inbound(self, params: Mapping[str, str]) -> InboundMessage:
        return self.providers[0].parse_inbound(params)

    def status(self) -> list[dict[str, object]]:
        """For the status endpoint and the logs: each provider, in priority order."""
        now = datetime.now().astimezone()
        for h in self.health:
            h.share(now)
        return [
            {"provider": f"{p.key}#{i + 1}", "priority": i + 1, **h.describe()}
            for i, (p, h) in enumerate(zip(self.providers, self.health, strict=True))
        ]

    async def close(self) -> None:
        for provider in self.providers:
            await provider.close()
