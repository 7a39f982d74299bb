"""The fault-injection suite, short (issue 17, point 8): every fault on a small batch, on a
private PostgreSQL and Redis this test may restart, with two `herald serve` and two
`herald worker` processes, the Twilio simulator and the SMTP sink. `make chaos` runs the same
faults longer (benchmarks/chaos, docs/chaos.md).

Asserted for each fault, after it settled: 0 lost (every alert delivered, or waiting on a step
its plan scheduled), 0 sent twice (per alert, channel and address, counted at the simulator and
the SMTP sink), and no process needed a restart (the worker killed on purpose is restarted as a
supervisor would; any other that died counts). A killed worker's in-flight steps run again
within ~30 s."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.chaos.faults import Knobs, run_all, table
from benchmarks.chaos.services import InfrastructureMissing
from benchmarks.chaos.stack import ChaosStack
from tests.conftest import missing_infrastructure

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.timeout(600)]
SHORT = Knobs(alerts=24, kills=2, redis_outage_s=5.0, settle_s=120.0)
RERUN_WITHIN_S = 30


@pytest.fixture
def chaos_stack() -> Iterator[ChaosStack]:
    # Under /tmp itself: the postgres user must reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="herald-chaos-"))
    try:
        stack = ChaosStack(base)
    except InfrastructureMissing as exc:
        shutil.rmtree(base, ignore_errors=True)
        missing_infrastructure(str(exc))
        raise
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_every_fault_converges_with_nothing_lost_or_sent_twice(chaos_stack: ChaosStack) -> None:
    rows = run_all(chaos_stack, SHORT)
    report = table(rows) + "".join(f"\n{r.fault}: {n}" for r in rows for n in r.notes)
    print(report)  # noqa: T201  (the table, with -s or -rP)
    assert [r.fault for r in rows if not r.ok] == [], report
    killed = next(r for r in rows if r.fault.startswith("kill"))
    assert killed.retry_s, f"no step was in flight when the workers were killed\n{report}"
    assert max(killed.retry_s) <= RERUN_WITHIN_S, report
