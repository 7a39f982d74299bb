"""Everything in one process for `herald up` and `herald demo`: embedded services, API, workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from alerts.delivery.bounces import apply_bounce, parse_dsn
from alerts.deps import AlertDeps
from channels.twilio_sim import (
    LoopbackServer,
    ServerStartError,
    SimulatorConfig,
    SimulatorServer,
    load_scenario,
)
from channels.twilio_sim.scenario import Scenario
from herald.app import create_app
from herald.config import Settings
from herald.embedded import (
    BounceReceiver,
    EmbeddedServiceError,
    PortClaim,
    PortTakenError,
    PrivateRedis,
    SmtpSink,
    check_ports,
)
from herald.migrate import upgrade
from herald.runtime import Runtime
from herald.worker import run_workers

logger = logging.getLogger(__name__)


def simulator_config(settings: Settings, scenario_path: Path | None = None) -> SimulatorConfig:
    path = scenario_path or settings.twilio.simulator_scenario
    return SimulatorConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        numbers={settings.twilio.from_number: f"{settings.public_url}/webhooks/twilio/sms/inbound"},
        scenario=load_scenario(path) if path else Scenario(),
        delay=0.05,
    )


@dataclass
class Stack:
    settings: Settings
    runtime: Runtime
    api: LoopbackServer
    sim: SimulatorServer | None
    sink: SmtpSink | None

    async def idle(self) -> bool:
        return self.sim is None or self.sim.simulator.idle


def dsn_handler(deps: AlertDeps) -> Callable[[bytes, list[str]], Awaitable[None]]:
    async def on_dsn(content: bytes, recipients: list[str]) -> None:
        bounce = parse_dsn(content, envelope_recipients=recipients)
        if bounce is None:
            logger.info("bounce receiver: not a DSN about one of our emails")
            return
        await apply_bounce(deps=deps, bounce=bounce)

    return on_dsn


def stack_ports(settings: Settings) -> list[PortClaim]:
    """The TCP ports `herald up` (and the demo) listen on with these settings."""
    claims = [
        PortClaim(
            "the API",
            settings.api_host,
            settings.api_port,
            "set HERALD_API_PORT (and HERALD_PUBLIC_URL to match)",
        )
    ]
    if settings.twilio.simulated:
        claims.append(
            PortClaim(
                "the Twilio simulator",
                "127.0.0.1",
                settings.twilio.simulator_port,
                "set HERALD_TWILIO__SIMULATOR_PORT",
            )
        )
    if not settings.smtp.host:
        claims.append(
            PortClaim(
                "the local SMTP sink",
                "127.0.0.1",
                settings.smtp.sink_port,
                "set HERALD_SMTP__SINK_PORT (or HERALD_SMTP__HOST to a real relay)",
            )
        )
    claims.append(
        PortClaim(
            "the bounce receiver",
            "127.0.0.1",
            settings.smtp.bounce_port,
            "set HERALD_SMTP__BOUNCE_PORT",
        )
    )
    return claims


async def _start(
    stack: contextlib.AsyncExitStack[bool | None], server: LoopbackServer, claims: list[PortClaim]
) -> None:
    """Start one server; a port taken since check_ports (another program was quicker) is the
    same one-line error, with the setting that moves it."""
    try:
        await stack.enter_async_context(server)
    except ServerStartError as exc:
        change = next((c.change for c in claims if c.port == server.port), "")
        error = PortTakenError if exc.port_taken else EmbeddedServiceError
        raise error(f"{exc}: {change}" if change else str(exc)) from None


@contextlib.asynccontextmanager
async def embedded_stack(
    settings: Settings, *, scenario: Path | None = None, workers: bool = True
) -> AsyncIterator[Stack]:
    """Start what the settings leave unconfigured (Redis, simulator, SMTP sink), then the API and
    (optionally) the workers; stop them all on exit. A port already taken is refused first,
    with the setting that moves it (EmbeddedServiceError)."""
    claims = stack_ports(settings)
    check_ports(claims)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    redis = PrivateRedis.ensure(settings)
    sink = None
    if not settings.smtp.host:
        sink = SmtpSink(directory=settings.data_dir / "mail", port=settings.smtp.sink_port).start()
    runtime = await Runtime.start(settings)
    worker_task: asyncio.Task[None] | None = None
    try:
        await upgrade(runtime.engine)
        sim = None
        async with contextlib.AsyncExitStack() as stack:
            if settings.twilio.simulated:
                sim = SimulatorServer(
                    simulator_config(settings, scenario), port=settings.twilio.simulator_port
                )
                await _start(stack, sim, claims)
            api = LoopbackServer(
                create_app(settings, runtime), host=settings.api_host, port=settings.api_port
            )
            await _start(stack, api, claims)
            bounces = BounceReceiver(
                port=settings.smtp.bounce_port, on_dsn=dsn_handler(runtime.deps)
            ).start()
            stack.callback(bounces.stop)
            if workers:
                worker_task = asyncio.create_task(run_workers(runtime))
            try:
                yield Stack(settings=settings, runtime=runtime, api=api, sim=sim, sink=sink)
            finally:
                if worker_task is not None:
                    worker_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker_task
    finally:
        await runtime.close()
        if sink is not None:
            sink.stop()
        if redis is not None:
            redis.stop()


async def run_up(settings: Settings, console: Console) -> None:
    async with embedded_stack(settings) as stack:
        console.print(
            f"Herald is up: API and admin UI at {stack.api.url}/admin "
            f"(OpenAPI at {stack.api.url}/docs)"
        )
        if stack.sim is not None:
            console.print(f"Twilio simulator at {stack.sim.url} (no real calls are placed)")
        if stack.sink is not None:
            console.print(f"email goes to the local SMTP sink: {stack.sink.directory}")
        console.print("Ctrl-C to stop.")
        await asyncio.Event().wait()
