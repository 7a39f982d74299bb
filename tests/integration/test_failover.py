"""Failover between two Twilio accounts (two simulators): an outage of the first moves traffic
to the second, shown in the status endpoint; nothing is sent twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from channels.twilio_sim import SimulatorServer
from channels.twilio_sim.scenario import parse_scenario
from herald.config import Settings, TwilioSettings
from herald.embedded import free_port
from herald.runtime import Runtime
from herald.worker import drain
from tests.conftest import Stack, sim_config
from tests.factories import api_headers, make_customer, make_event

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    port = free_port()
    return settings.model_copy(
        update={
            "twilio_fallback": TwilioSettings(
                api_base=f"http://127.0.0.1:{port}", simulator_port=port
            )
        }
    )


@pytest.fixture
async def backup_sim(settings: Settings) -> AsyncIterator[SimulatorServer]:
    assert settings.twilio_fallback is not None
    sim = SimulatorServer(
        sim_config(settings, parse_scenario({})), port=settings.twilio_fallback.simulator_port
    )
    async with sim:
        yield sim


async def test_outage_moves_sms_to_the_backup_account(
    stack: Stack, backup_sim: SimulatorServer, runtime: Runtime
) -> None:
    stack.set_scenario(
        {"default": {"api_error": {"status": 503, "code": 20503, "message": "Service Unavailable"}}}
    )
    deps = runtime.deps
    for i in range(4):
        await make_customer(
            deps,
            ref=f"C-{i}",
            account=f"NL00BANK{i:010d}",
            phone=f"+1555000{i:04d}",
            order=("sms",),
        )
        await make_event(deps, account=f"NL00BANK{i:010d}", event_id=f"E-{i}")
    assert len(await evaluate_pending(deps=deps, now=utcnow())) == 4
    # The retries wait 20-30 s (jitter); a loaded machine needs more than that on top.
    await drain(runtime, wait_deferred=True, timeout=90, idle_check=stack.idle)
    await backup_sim.wait_idle(10)
    assert not stack.sim.state.messages  # the primary accepted nothing
    delivered = sorted(m.to for m in backup_sim.state.messages.values())
    assert delivered == [f"+1555000{i:04d}" for i in range(4)]  # each exactly once
    async with httpx.AsyncClient(base_url=stack.api.url) as client:
        status = (await client.get("/api/v1/providers", headers=api_headers(stack.settings))).json()
    primary, backup = status["sms"]
    # Demoted after the outage; once its 30 s cool-down has passed (the retries wait 20-30 s, so
    # a slow machine gets there) it is "recovering" with a small share. Either way not healthy.
    assert primary["state"] in ("demoted", "recovering") and primary["share"] < 1.0
    assert backup["state"] == "healthy"
    assert "503" in primary["last_problem"]
