"""``november``: the runtime with the hand-counted month of scenario.py in its database."""

from __future__ import annotations

import pytest

from herald.runtime import Runtime
from tests.service.alerts.reports.scenario import seed_november


@pytest.fixture
async def november(runtime: Runtime) -> Runtime:
    async with runtime.deps.sessions() as session:
        await seed_november(session)
    return runtime
