"""Provider failover: demotion on errors and slowness, gradual return, never a double send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from channels.base import OutboundMessage, TransientChannelError
from channels.failover import RAMP, FailoverChannel, ProviderHealth
from channels.fake import FakeChannel

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MSG = OutboundMessage(attempt_id=1, alert_id=1, to="+15550001111", text="hi")


def outage() -> TransientChannelError:
    return TransientChannelError("HTTP 503")


def test_three_errors_demote_then_traffic_returns_gradually() -> None:
    h = ProviderHealth()
    for _ in range(3):
        h.record(ok=False, seconds=0.1, now=T0, reason="HTTP 503")
    assert h.state == "demoted" and h.share(T0 + timedelta(seconds=10)) == 0.0
    later = T0 + timedelta(seconds=31)
    shares = []
    for _ in range(len(RAMP) - 1):
        shares.append(h.share(later))
        h.record(ok=True, seconds=0.1, now=later)
    assert shares == list(RAMP[:-1]) and h.state == "healthy" and h.share(later) == 1.0


def test_a_failure_while_recovering_doubles_the_cooldown() -> None:
    h = ProviderHealth()
    for _ in range(3):
        h.record(ok=False, seconds=0.1, now=T0)
    back = T0 + timedelta(seconds=31)
    assert h.share(back) == RAMP[0]
    h.record(ok=False, seconds=0.1, now=back)
    assert h.state == "demoted" and h.demoted_until == back + timedelta(seconds=60)


def test_slow_answers_count_as_failures() -> None:
    h = ProviderHealth(slow_seconds=2)
    for _ in range(3):
        h.record(ok=True, seconds=9, now=T0)
    assert h.state == "demoted" and "slow" in h.last_reason


def test_recovering_provider_gets_its_share_only() -> None:
    h = ProviderHealth()
    for _ in range(3):
        h.record(ok=False, seconds=0.1, now=T0)
    back = T0 + timedelta(minutes=1)
    offered = sum(h.offered(back) for _ in range(100))
    assert offered == 10


async def test_outage_of_the_primary_moves_traffic_to_the_secondary() -> None:
    primary, secondary = FakeChannel(key="a"), FakeChannel(key="b")
    channel = FailoverChannel([primary, secondary])
    primary.failures = [outage() for _ in range(3)]
    receipts = [await channel.send(MSG) for _ in range(5)]
    assert [r.provider_sid for r in receipts] == ["b-1", "b-2", "b-3", "b-4", "b-5"]
    assert channel.status()[0]["state"] == "demoted"  # no longer even tried first
    assert primary.sent == []


async def test_an_ambiguous_failure_is_never_sent_elsewhere() -> None:
    primary, secondary = FakeChannel(key="a"), FakeChannel(key="b")
    channel = FailoverChannel([primary, secondary])
    primary.failures = [TransientChannelError("timed out", ambiguous=True)]
    with pytest.raises(TransientChannelError, match="timed out"):
        await channel.send(MSG)
    assert secondary.sent == []


async def test_all_providers_down_raises_the_last_error() -> None:
    primary, secondary = FakeChannel(key="a"), FakeChannel(key="b")
    primary.failures, secondary.failures = [outage()], [TransientChannelError("HTTP 500")]
    with pytest.raises(TransientChannelError, match="HTTP 500"):
        await FailoverChannel([primary, secondary]).send(MSG)


def test_webhooks_from_any_provider_verify() -> None:
    channel = FailoverChannel([FakeChannel(key="a"), FakeChannel(key="b")])
    assert channel.verify("u", {}, "signed-by-b") and not channel.verify("u", {}, "forged")


def test_mixed_kinds_refused() -> None:
    with pytest.raises(ValueError, match="different kinds"):
        FailoverChannel([FakeChannel(kind="sms"), FakeChannel(kind="voice")])
