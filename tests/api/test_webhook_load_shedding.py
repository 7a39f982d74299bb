"""Load shedding (herald.webhook_gate): a flood of provider webhooks beyond the process's
bound gets fast 503s with Retry-After, the admitted ones are answered, and when the provider
retries the refused ones every answer is recorded exactly once; a forged webhook is still
refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from alerts.models import Response
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.service.alerts.responses.conftest import send_alert

FLOOD = 24
LIMIT = 2


@pytest.fixture
async def bounded(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"webhook_max_in_flight": LIMIT})
    transport = httpx.ASGITransport(app=create_app(limited, runtime))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
        yield client


def signed(settings: Settings, path: str, params: dict[str, str]) -> dict[str, str]:
    url = settings.public_url + path
    return {
        "X-Twilio-Signature": RequestValidator(settings.twilio_auth_token).compute_signature(
            url, params
        )
    }


async def test_a_flood_is_shed_with_503s_and_the_retries_record_each_reply_once(
    bounded: httpx.AsyncClient, settings: Settings, runtime: Runtime
) -> None:
    replies = []
    for i in range(FLOOD):
        phone = f"+1555777{i:04d}"
        await send_alert(runtime.deps, ref=f"F-{i}", name=f"Flood {i}", phone=phone)
        replies.append(
            {
                "MessageSid": f"SM{i:032d}",
                "From": phone,
                "To": settings.twilio.from_number,
                "Body": "2",
            }
        )
    path = "/webhooks/twilio/sms/inbound"

    async def post(params: dict[str, str]) -> httpx.Response:
        return await bounded.post(path, data=params, headers=signed(settings, path, params))

    first = await asyncio.gather(*(post(p) for p in replies))
    statuses = [r.status_code for r in first]
    assert set(statuses) == {200, 503}, statuses
    assert statuses.count(200) >= LIMIT
    busy = next(r for r in first if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"

    # The provider retries what was refused, one at a time, and (harmlessly) one it had.
    retried = [p for p, r in zip(replies, first, strict=True) if r.status_code == 503]
    for params in [*retried, replies[0]]:
        again = await post(params)
        assert again.status_code == 200, again.text

    async with runtime.deps.sessions() as session:
        keys = (
            await session.exec(
                select(Response.dedupe_key).where(col(Response.dedupe_key).like("sms:SM%"))
            )
        ).all()
    assert sorted(keys) == sorted(f"sms:{p['MessageSid']}" for p in replies)


async def test_an_admitted_forged_webhook_is_still_refused(
    bounded: httpx.AsyncClient, settings: Settings
) -> None:
    params = {"MessageSid": "SM" + "9" * 32, "From": "+15557770000", "Body": "2"}
    forged = await bounded.post(
        "/webhooks/twilio/sms/inbound", data=params, headers={"X-Twilio-Signature": "forged"}
    )
    assert forged.status_code == 403
