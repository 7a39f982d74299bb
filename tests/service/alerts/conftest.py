"""The ``wired`` fixture: the runtime's deps with fake channels and a recording queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.fake import FakeChannel
from herald.runtime import Runtime
from tests.service.alerts.wiring import RecordingQueue, Wired


@pytest.fixture
async def wired(runtime: Runtime) -> AsyncIterator[Wired]:
    """The runtime's deps with fake channels and a recording queue (the real ones restored)."""
    deps = runtime.deps
    real_channels, real_queue = deps.channels, deps.queue
    fakes = {kind: FakeChannel(kind=kind, key=f"fake_{kind}") for kind in ("voice", "sms", "email")}
    queue = RecordingQueue()
    deps.channels, deps.queue = dict(fakes), queue
    try:
        yield Wired(deps, queue, fakes["voice"], fakes["sms"], fakes["email"])
    finally:
        deps.channels, deps.queue = real_channels, real_queue
