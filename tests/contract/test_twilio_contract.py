"""Herald's Twilio channels put on the wire only what Twilio's OpenAPI description accepts.

Each request goes through the real channel and the official twilio client to Prism, which checks
it against the spec. The negative tests prove the harness can fail: a mock that validated nothing
would accept them too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from channels.base import OutboundMessage, PermanentChannelError
from channels.twilio_common import TwilioAccount
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_voice import CALL_STATUS, TwilioVoiceChannel
from tests.contract.conftest import Prism

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FROM = "+15005550006"
TO = "+15550000001"
PUBLIC = "https://herald.example.com"
# Prism answers with the spec's examples, which are dated years back.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)

VOICE = OutboundMessage(
    attempt_id=1,
    alert_id=1,
    to=TO,
    text="",
    twiml_url=f"{PUBLIC}/webhooks/twilio/voice/1/twiml",
    status_callback=f"{PUBLIC}/webhooks/twilio/voice/1/status",
)
SMS = OutboundMessage(
    attempt_id=2,
    alert_id=1,
    to=TO,
    text="hello",
    status_callback=f"{PUBLIC}/webhooks/twilio/sms/2/status",
)


@pytest.fixture
async def account(prism: Prism) -> AsyncIterator[TwilioAccount]:
    acct = TwilioAccount(
        account_sid=ACCOUNT_SID,
        auth_token="contract-test-token",
        api_base=prism.url,
        from_number=FROM,
    )
    try:
        yield acct
    finally:
        await acct.close()


def assert_valid(prism: Prism, mark: int, *, requests: int = 1) -> None:
    log = prism.log_since(mark, requests=requests)
    assert log.count("Request received") == requests, log
    assert prism.violations_since(mark, requests=requests) == [], log
    assert log.count("The request passed the validation rules") == requests, log


async def test_voice_call_matches_twilio_spec(prism: Prism, account: TwilioAccount) -> None:
    channel = TwilioVoiceChannel(account)

    mark = prism.mark()
    receipt = await channel.send(VOICE)
    assert_valid(prism, mark)
    assert receipt.provider_sid.startswith("CA")
    assert receipt.status in set(CALL_STATUS.values())

    mark = prism.mark()
    found = await channel.find_sent(VOICE, LONG_AGO)
    assert_valid(prism, mark)
    assert found, "Prism's example call list came back empty"
    assert all(r.provider_sid.startswith("CA") for r in found)

    mark = prism.mark()  # the sweep's lookup of a call whose callbacks never came
    await channel.status_of(receipt.provider_sid)
    assert_valid(prism, mark)


async def test_sms_matches_twilio_spec(prism: Prism, account: TwilioAccount) -> None:
    channel = TwilioSmsChannel(account)

    mark = prism.mark()
    receipt = await channel.send(SMS)
    assert_valid(prism, mark)
    assert receipt.provider_sid.startswith(("SM", "MM"))

    mark = prism.mark()
    await channel.find_sent(SMS, LONG_AGO)  # Prism's example bodies differ: only the request counts
    assert_valid(prism, mark)

    mark = prism.mark()  # the sweep's lookup of a text whose callbacks never came
    await channel.status_of(receipt.provider_sid)
    assert_valid(prism, mark)


async def test_prism_rejects_a_call_that_breaks_the_spec(
    prism: Prism, account: TwilioAccount
) -> None:
    mark = prism.mark()
    with pytest.raises(TwilioRestException) as caught:
        await account.client().calls.create_async(
            to=TO, from_=FROM, url=VOICE.twiml_url, timeout="soon", method="PUT"
        )
    assert caught.value.status == 422
    violations = "\n".join(prism.violations_since(mark))
    assert "Timeout must be integer" in violations
    assert "Method must be equal to one of the allowed values" in violations


async def test_prism_rejects_an_sms_that_breaks_the_spec(
    prism: Prism, account: TwilioAccount
) -> None:
    mark = prism.mark()
    with pytest.raises(TwilioRestException) as caught:
        await account.client().messages.create_async(
            to=TO, from_=FROM, body="hello", max_price="cheap"
        )
    assert caught.value.status == 422
    assert "MaxPrice must be number" in "\n".join(prism.violations_since(mark))


async def test_a_rejected_call_is_a_permanent_channel_error(
    prism: Prism, account: TwilioAccount
) -> None:
    """The same violation through the channel: classified as permanent, never retried."""
    channel = TwilioVoiceChannel(account, ring_timeout="soon")  # type: ignore[arg-type]
    mark = prism.mark()
    with pytest.raises(PermanentChannelError, match="HTTP 422"):
        await channel.send(VOICE)
    assert "Timeout must be integer" in "\n".join(prism.violations_since(mark))
