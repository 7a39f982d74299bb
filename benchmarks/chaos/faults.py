"""The faults, one at a time, and the verdict after each: a batch of alerts is raised through
the real pipeline (a camt.054 file uploaded to an API), a fault is injected while it is being
delivered, the run waits for things to settle, then counts what was lost or sent twice and
which processes died by themselves (a worker restart *needed*; kills done on purpose, and the
restart a supervisor makes after them, are not counted)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.chaos.stack import CALM, DELIVERED, Batch, ChaosStack, wait_until

TERMINAL = ("failed", "expired")
KILL = "kill -9 worker"


@dataclass(frozen=True)
class Knobs:
    """How big and how hard: the short CI run and `make chaos` differ only here."""

    alerts: int = 40  # per fault
    kills: int = 2  # kill -9 of a worker, at random moments
    redis_outage_s: float = 5.0
    settle_s: float = 150.0  # how long things may take to converge after the fault
    seed: int = 17


@dataclass
class Row:
    """One fault's line of the table, and what explains it."""

    fault: str
    alerts: int = 0
    delivered: int = 0
    waiting: int = 0  # pending with a step the policy scheduled (explained)
    lost: int = 0
    duplicates: int = 0
    email_copies: int = 0  # an email received again with the same Message-ID (see docs/chaos.md)
    restarts_needed: int = 0
    retry_s: list[float] = field(default_factory=list)  # kill -9 -> the job's re-run
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing sent twice, no process died by itself; the same email again
        only where a kill -9 may cut an SMTP transaction (docs/chaos.md)."""
        copies_ok = self.email_copies == 0 or self.fault == KILL
        return copies_ok and self.lost == 0 and self.duplicates == 0 and self.restarts_needed == 0


Inject = Callable[[ChaosStack, Knobs, random.Random, Row], None]


def _pause(rng: random.Random) -> None:
    time.sleep(rng.uniform(0.3, 1.5))  # a random moment while the batch is being delivered


def _while_busy(stack: ChaosStack, rng: random.Random, row: Row) -> None:
    """Wait for a moment when steps are in flight (at most 10 s), then a random bit more."""
    deadline = time.monotonic() + 10
    while not (held := stack.jobs_in_progress()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0, 0.3))
    row.notes.append(f"{len(held)} step(s) in flight when the fault began")


def kill_workers(stack: ChaosStack, knobs: Knobs, rng: random.Random, row: Row) -> None:
    """kill -9 of a worker at random moments while it holds a step; restarted at once, as a
    supervisor would. Its in-flight steps are timed until another run of them starts."""
    kills: list[tuple[float, set[str], str]] = []
    for _ in range(knobs.kills):
        _pause(rng)
        victim = rng.choice(stack.workers)
        in_flight: set[str] = set()
        deadline = time.monotonic() + 10
        while not in_flight and time.monotonic() < deadline:  # a moment it holds a step
            in_flight = _held_by(stack, victim.name)
        killed_at = time.time()
        victim.kill9()
        victim.start()
        kills.append((killed_at, in_flight, victim.name))
        if not in_flight:
            row.notes.append(f"{victim.name} killed with no step in flight")
    for killed_at, jobs, name in kills:

        def rerun(jobs: set[str] = jobs, at: float = killed_at) -> bool:
            return {run.job_id for run in stack.job_runs(at)} >= jobs

        wait_until(rerun, 180, every=0.5)
        firsts: dict[str, float] = {}
        for run in stack.job_runs(killed_at):
            firsts.setdefault(run.job_id, run.at)
        for job in sorted(jobs):
            if job in firsts:
                row.retry_s.append(round(firsts[job] - killed_at, 1))
            else:
                row.notes.append(f"{job} of killed {name} not re-run within 180 s")


def _held_by(stack: ChaosStack, worker: str) -> set[str]:
    """The step jobs in progress whose latest run was ``worker``'s."""
    held = stack.jobs_in_progress()
    last = {run.job_id: run.worker for run in stack.job_runs(time.time() - 600)}
    return {job for job in held if last.get(job) == worker}


def restart_redis(stack: ChaosStack, _knobs: Knobs, rng: random.Random, row: Row) -> None:
    _while_busy(stack, rng, row)
    stack.redis.stop()
    stack.redis.start()


def redis_outage(stack: ChaosStack, knobs: Knobs, rng: random.Random, row: Row) -> None:
    _while_busy(stack, rng, row)
    stack.redis.stop()
    time.sleep(knobs.redis_outage_s)
    stack.redis.start()


def restart_postgres(stack: ChaosStack, _knobs: Knobs, rng: random.Random, row: Row) -> None:
    _while_busy(stack, rng, row)
    stack.pg.stop()
    time.sleep(1.0)
    stack.pg.start()


def nothing(_stack: ChaosStack, _knobs: Knobs, _rng: random.Random, _row: Row) -> None:
    """The fault is in the simulator's scenario (set before the batch)."""


def _with_faults(seed: int, **faults: Any) -> dict[str, Any]:
    return {**CALM, "faults": {"seed": seed, **faults}}


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Inject
    scenario: Callable[[Knobs], dict[str, Any]] = lambda _k: CALM


FAULTS = [
    Fault(KILL, kill_workers),
    Fault("redis restart", restart_redis),
    Fault("redis outage", redis_outage),
    Fault("postgres restart", restart_postgres),
    Fault(
        "provider 500s + timeouts (20%)",
        nothing,
        # Herald waits 2 s for Twilio (the stack's setting): a held answer is a timeout.
        lambda k: _with_faults(
            k.seed, refuse=0.07, accept_then_500=0.07, accept_then_hang=0.06, hang_seconds=3
        ),
    ),
    Fault(
        "duplicated + reordered callbacks",
        nothing,
        lambda k: _with_faults(k.seed, duplicate_callbacks=0.3, reorder_callbacks=0.3),
    ),
]


def run_fault(stack: ChaosStack, fault: Fault, batch: Batch, knobs: Knobs) -> Row:
    row = Row(fault=fault.name, alerts=batch.size)
    started = time.monotonic()
    rng = random.Random(f"{knobs.seed}:{fault.name}")
    stack.set_scenario(fault.scenario(knobs))
    before = stack.injected()
    created = stack.ingest(batch)
    if created != batch.size:
        row.notes.append(f"the upload decided {created} of {batch.size} (the sweep the rest)")
    fault.inject(stack, knobs, rng, row)
    wait_until(lambda: _settled(stack, batch), knobs.settle_s, every=2.0)
    injected = {k: n - before.get(k, 0) for k, n in stack.injected().items()}
    injected = {k: n for k, n in injected.items() if n}
    stack.set_scenario(CALM)
    if injected:
        row.notes.append(f"injected by the simulator: {injected}")
    _verdict(stack, batch, row)
    row.seconds = round(time.monotonic() - started, 1)
    return row


def _settled(stack: ChaosStack, batch: Batch) -> bool:
    rows = stack.alerts(batch)
    done = all(r.status in DELIVERED or r.status in TERMINAL for r in rows)
    return done and stack.sim_idle()


def _verdict(stack: ChaosStack, batch: Batch, row: Row) -> None:
    now = datetime.now(UTC)
    unexplained = []
    for alert in stack.alerts(batch):
        if alert.status in DELIVERED:
            row.delivered += 1
        elif alert.status == "pending" and alert.next_step_at and alert.next_step_at > now:
            row.waiting += 1  # a step its plan scheduled (fallback wait, retry, quiet hours)
        else:
            unexplained.append(f"{alert.ref}: alert {alert.alert_id} {alert.status}")
    row.lost = batch.size - row.delivered - row.waiting
    if unexplained:
        row.notes.append(f"not delivered: {', '.join(unexplained[:10])}")
    twice = {key: n for key, n in stack.sends(batch).items() if n > 1}
    row.duplicates = sum(n - 1 for n in twice.values())
    if twice:
        row.notes.append(f"sent more than once: {sorted(twice.items())[:10]}")
    copies = {to: len(ids) - len(set(ids)) for to, ids in stack.emails(batch).items()}
    row.email_copies = sum(copies.values())
    if row.email_copies:
        again = sorted(to for to, n in copies.items() if n)
        row.notes.append(f"email received again with the same Message-ID: {again[:10]}")
    for process in [*stack.apis, *stack.workers, *([stack.sim] if stack.sim else [])]:
        if not process.alive:
            row.restarts_needed += 1
            assert process.process is not None
            tail = process.log.read_text(errors="replace")[-1500:]
            row.notes.append(f"{process.name} died (rc {process.process.returncode}): {tail}")
            process.start()  # so that the next fault starts whole


def run_all(stack: ChaosStack, knobs: Knobs, faults: list[Fault] | None = None) -> list[Row]:
    chosen = faults or FAULTS
    batches = [Batch(n, knobs.alerts) for n in range(1, len(chosen) + 1)]
    stack.start(batches)
    return [run_fault(stack, f, b, knobs) for f, b in zip(chosen, batches, strict=True)]


def table(rows: list[Row]) -> str:
    head = ["fault", "alerts", "delivered", "waiting", "lost", "duplicates", "same email again"]
    head += ["restarts needed"]
    head += ["kill -> re-run (s)", "took (s)"]
    body = [
        [
            r.fault,
            *(str(n) for n in (r.alerts, r.delivered, r.waiting, r.lost, r.duplicates)),
            str(r.email_copies),
            str(r.restarts_needed),
            _spread(r.retry_s),
            f"{r.seconds:g}",
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in body]
    top = " | ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))
    rule = "|".join("-" * (w + 2) for w in widths)
    return "\n".join([f"| {top} |", f"|{rule}|", *(f"| {line} |" for line in lines)])


def _spread(seconds: list[float]) -> str:
    """The re-run times of a killed worker's steps: how many, and the slowest."""
    if not seconds:
        return "-"
    return f"{len(seconds)} steps, max {max(seconds):g}"
