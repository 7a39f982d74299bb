"""Delivery throughput: plan steps handed to the Twilio simulator and an SMTP sink per second by
real `herald worker` processes, against a trivial arq job on the same Redis in the same run.

In a fresh database (a fresh PostgreSQL database beside the one ``--database`` names, or a
SQLite file), with a private Redis, the Twilio simulator (callbacks dropped: no API runs, so
the workers alone are measured) and an SMTP sink in this process:

  herald N   ``--alerts`` debits decided through the real decision path (evaluate_pending,
             first steps enqueued on Redis), half of them for customers who want an SMS, half
             an email; then N `herald worker` processes (call-centre pacing off) are started
             and the steps handed to the simulator and the sink per second are timed, from the
             first hand-off to the last (the workers' start-up is not counted)
  arq N      baseline, run just before: as many trivial arq jobs (one RPUSH each) on two
             queues of the same Redis, served by N processes with Herald's own worker
             settings (max_jobs, timeouts, poll delay, one arq worker per queue), timed the
             same way
  latency    with the two workers still running, ``--rate`` alerts/s decided for
             ``--seconds`` s by another process: event inserted -> provider hand-off,
             p50/p99
  duplicates messages handed to the same address more than once (every address gets one
             alert in the whole run: must be 0)

.venv/bin/python -m benchmarks.delivery [--alerts 2000] [--database postgresql://...]
    [--processes 1,2] [--rate 200] [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func
from sqlalchemy import event as sa_event

from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.models import Account, ContactPoint, Customer, Event
from benchmarks import summary
from benchmarks.evaluate import _bulk, _deps, fresh_database, private_redis
from channels.twilio_sim import SimulatorConfig, SimulatorServer
from channels.twilio_sim.scenario import parse_scenario
from herald.config import Settings
from herald.db import make_engine
from herald.embedded import free_port, start_smtp_server
from herald.migrate import upgrade
from herald.runtime import QUEUES, ArqStepQueue
from herald.worker import BATCHED_MAX_JOBS, BATCHED_POLL_DELAY_S, MAX_JOB_TRIES, STEP_TIMEOUT_S

BASELINE_QUEUES = ("bench:sms", "bench:email")
DONE_KEY = "bench:done"
CONSENT = datetime(2020, 1, 1, tzinfo=UTC)


T0 = time.monotonic()


def say(what: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.monotonic() - T0:6.1f}s] {what}", file=sys.stderr, flush=True)


def phone(i: int) -> str:
    return f"+3161{i:07d}"


def email(i: int) -> str:
    return f"c{i}@example.com"


def wants_sms(i: int) -> bool:
    return i % 2 == 0


async def add_customers(engine: Any, first: int, n: int) -> None:
    """Customers ``first``..``first + n - 1``: an account, a phone and an email each; the even
    ones want an SMS, the odd ones an email (one channel: one step per alert)."""
    ids = range(first, first + n)
    customer_rows = [
        {
            "id": i,
            "external_ref": f"D-{i:07d}",
            "name": f"Customer {i}",
            "locale": "en",
            "timezone": "UTC",
            "channel_order": ["sms"] if wants_sms(i) else ["email"],
            "segment": "retail",
            "attributes": {},
            "created_at": CONSENT,
        }
        for i in ids
    ]
    await _bulk(engine, Customer.__table__, customer_rows)  # type: ignore[attr-defined]
    accounts = [{"customer_id": i, "account_id": f"NL00DLVR{i:010d}"} for i in ids]
    await _bulk(engine, Account.__table__, accounts)  # type: ignore[attr-defined]
    contacts = [
        {
            "customer_id": i,
            "kind": kind,
            "address": address,
            "consent_source": "import",
            "consent_at": CONSENT,
            "created_at": CONSENT,
        }
        for i in ids
        for kind, address in (("phone", phone(i)), ("email", email(i)))
    ]
    await _bulk(engine, ContactPoint.__table__, contacts)  # type: ignore[attr-defined]


async def add_events(engine: Any, ids: range) -> None:
    """One large debit per customer in ``ids`` (large_debit alerts them)."""
    rows = [
        {
            "source": "bench",
            "source_event_id": f"DL{i:08d}",
            "event_type": "debit_posted",
            "account_id": f"NL00DLVR{i:010d}",
            "amount": Decimal("750.00"),
            "currency": "EUR",
            "credit_debit": "DBIT",
            "status": "BOOK",
            "description": "Shop Ltd",
            "data": {},
            "evaluated": False,
            "created_at": utcnow(),
        }
        for i in ids
    ]
    await _bulk(engine, Event.__table__, rows)  # type: ignore[attr-defined]


async def decide(engine: Any, pool: ArqRedis) -> int:
    """The pending events decided, their first steps enqueued (the real decision path)."""
    created = await evaluate_pending(deps=_deps(engine, ArqStepQueue(pool)), now=utcnow())
    return len(created)


class Handoffs:
    """Every hand-off to the simulator (SMS) and the sink (email): address -> times (epoch s)."""

    def __init__(self, sim: SimulatorServer) -> None:
        self.sim = sim
        self.mail: list[tuple[str, float]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.mail.append((rcpt, time.time()))
        return "250 Message accepted for delivery"

    def times(self) -> list[tuple[str, float]]:
        sms = [(m.to, m.date_created.timestamp()) for m in list(self.sim.state.messages.values())]
        return sms + list(self.mail)

    def count(self) -> int:
        return len(self.sim.state.messages) + len(self.mail)


def rate(times: list[float]) -> dict[str, float]:
    """Hand-offs per second from the first to the last."""
    times = sorted(times)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {"n": len(times), "seconds": span, "per_s": (len(times) - 1) / span if span else 0.0}


async def wait_count(count: Any, target: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while count() < target and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return int(count())


def worker_env(settings: Settings, db_url: str, redis_url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update(
        HERALD_DATA_DIR=str(tmp / "data"),
        HERALD_DATABASE_URL=db_url,
        HERALD_REDIS_URL=redis_url,
        HERALD_PUBLIC_URL=settings.public_url,
        HERALD_SECRET_KEY="bench-secret",
        HERALD_TWILIO__SIMULATOR_PORT=str(settings.twilio.simulator_port),
        HERALD_SMTP__SINK_PORT=str(settings.smtp.sink_port),
        HERALD_CALLCENTRE__PACING="false",
    )
    return env


def start_workers(n: int, env: dict[str, str], log: Path) -> list[subprocess.Popen[bytes]]:
    herald = Path(sys.executable).with_name("herald")
    out = log.open("ab")
    return [
        subprocess.Popen([str(herald), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
        for _ in range(n)
    ]


async def wait_idle(pool: ArqRedis, timeout: float = 60) -> None:
    """Until no step job is queued or running (the crons' jobs do not count): a worker stopped
    after a hand-off but before its commit would leave an email to send again (SMTP cannot be
    asked what it took)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queued = sum([int(await pool.zcard(q)) for q in QUEUES.values()])
        if not queued and not await pool.keys("arq:in-progress:step:*"):
            return
        await asyncio.sleep(0.1)


def profile(procs: list[subprocess.Popen[bytes]], seconds: float, out: Path) -> list[Any]:
    """py-spy (when installed) samples each worker for ``seconds``: collapsed stacks."""
    spy = Path(sys.executable).with_name("py-spy")
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(p.pid),
                "--duration",
                str(int(seconds)),
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                str(out / f"worker-{i}.txt"),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, p in enumerate(procs)
    ]


def cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU the processes used so far (Linux /proc; NaN elsewhere)."""
    total = 0.0
    for proc in procs:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the baseline: a trivial arq job, Herald's worker settings ---------------------------------


async def trivial_job(ctx: dict[str, Any], *_ids: int) -> None:
    """The job a step's job is compared with: called like run_step, one Redis write."""
    await ctx["redis"].rpush(DONE_KEY, repr(time.time()))


def arq_worker_main(redis_url: str) -> None:
    """One process with one arq worker per queue, as `herald worker` runs them."""

    async def main() -> None:
        workers = [
            Worker(
                functions=[
                    func(
                        trivial_job,
                        name="run_step",
                        max_tries=MAX_JOB_TRIES,
                        timeout=STEP_TIMEOUT_S,
                    )
                ],
                queue_name=queue,
                redis_settings=RedisSettings.from_dsn(redis_url),
                handle_signals=False,
                keep_result=0,
                max_jobs=BATCHED_MAX_JOBS,  # as Herald's SMS and email workers
                poll_delay=BATCHED_POLL_DELAY_S,
                job_timeout=STEP_TIMEOUT_S,
            )
            for queue in BASELINE_QUEUES
        ]
        await asyncio.gather(*(w.async_run() for w in workers))

    asyncio.run(main())


async def baseline(pool: ArqRedis, redis_url: str, n: int, processes: int) -> dict[str, float]:
    await pool.delete(DONE_KEY)
    for i in range(n):
        queue = BASELINE_QUEUES[i % 2]
        await pool.enqueue_job("run_step", i, 0, _job_id=f"b{processes}:{i}", _queue_name=queue)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=arq_worker_main, args=(redis_url,)) for _ in range(processes)]
    for proc in procs:
        proc.start()

    async def poll() -> int:
        return int(await pool.llen(DONE_KEY))  # type: ignore[misc]

    deadline = time.monotonic() + 60 + n / 20
    while await poll() < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join()
    stamps = [float(t) for t in await pool.lrange(DONE_KEY, 0, -1)]  # type: ignore[misc]
    return rate(stamps)


# -- offered load for the latency figure -------------------------------------------------------


def feeder_main(
    db_url: str, redis_url: str, first: int, per_s: int, seconds: float, out: Any
) -> None:
    """Insert and decide ``per_s`` events a second (in ticks of 0.1 s) for ``seconds``; report
    when each customer's event was inserted."""

    async def main() -> dict[int, float]:
        engine = make_engine(db_url)
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        inserted: dict[int, float] = {}
        per_tick = max(per_s // 10, 1)
        start = time.monotonic()
        tick = 0
        nxt = first
        while time.monotonic() - start < seconds:
            ids = range(nxt, nxt + per_tick)
            now = time.time()
            await add_events(engine, ids)
            inserted.update(dict.fromkeys(ids, now))
            await decide(engine, pool)
            nxt += per_tick
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * 0.1 - time.monotonic()))
        await pool.aclose()
        await engine.dispose()
        return inserted

    out.put(asyncio.run(main()))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


async def latency(
    db_url: str, redis_url: str, handoffs: Handoffs, first: int, per_s: int, seconds: float
) -> dict[str, float]:
    before = handoffs.count()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=feeder_main, args=(db_url, redis_url, first, per_s, seconds, out))
    proc.start()
    while out.empty():
        await asyncio.sleep(0.1)
    inserted: dict[int, float] = out.get()
    proc.join()
    await wait_count(handoffs.count, before + len(inserted), 30)
    by_address = {phone(i) if wants_sms(i) else email(i): t for i, t in inserted.items()}
    waits = [t - by_address[a] for a, t in handoffs.times() if a in by_address]
    offered = len(inserted) / seconds
    return {
        "offered_per_s": offered,
        "alerts": len(inserted),
        "handed_off": len(waits),
        "p50_s": percentile(waits, 0.50),
        "p99_s": percentile(waits, 0.99),
        "max_s": max(waits, default=float("nan")),
    }


# -- the run ---------------------------------------------------------------------------------


async def run(
    alerts: int,
    database: str,
    processes: list[int],
    per_s: int,
    seconds: float,
    spy_dir: Path | None = None,
    spy_seconds: float = 10,
) -> dict[str, Any]:
    result: dict[str, Any] = {"alerts": alerts, "herald": {}, "baseline": {}}
    with (
        fresh_database(database) as db_url,
        private_redis(True) as redis_url,
        tempfile.TemporaryDirectory(prefix="herald-delivery-") as tmp_name,
    ):
        assert redis_url is not None
        tmp = Path(tmp_name)
        settings = Settings(
            _env_file=None,
            public_url=f"http://127.0.0.1:{free_port()}",  # nobody listens: callbacks dropped
            twilio={"simulator_port": free_port()},
            smtp={"sink_port": free_port()},
        )
        engine = make_engine(db_url)
        result["database"] = engine.dialect.name
        await upgrade(engine)
        say(f"{result['database']} database migrated")
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        config = SimulatorConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            numbers={settings.twilio.from_number: f"{settings.public_url}/webhooks/inbound"},
            scenario=parse_scenario({"faults": {"drop_callbacks": 1.0}}),
            delay=0.0,
        )
        env = worker_env(settings, db_url, redis_url, tmp)
        log = Path(tempfile.gettempdir()) / f"herald-delivery-workers-{os.getpid()}.log"
        say(f"worker logs: {log}")
        async with SimulatorServer(config, port=settings.twilio.simulator_port) as sim:
            handoffs = Handoffs(sim)
            sink = start_smtp_server(
                handoffs, settings.smtp.sink_port, what="the benchmark's SMTP sink", fix=""
            )
            try:
                first = 1
                running: list[subprocess.Popen[bytes]] = []
                for n in processes:
                    # The baseline just before: both see the machine in the same state.
                    result["baseline"][n] = await baseline(pool, redis_url, alerts, n)
                    say(f"baseline, {n} process(es): {result['baseline'][n]['per_s']:.0f} jobs/s")
                    await add_customers(engine, first, alerts)
                    await add_events(engine, range(first, first + alerts))
                    decided = await decide(engine, pool)
                    say(f"{decided} alerts decided, their first steps queued")
                    before = handoffs.count()
                    running = start_workers(n, env, log)
                    await wait_count(handoffs.count, before + 1, 60)
                    cpu, own = cpu_seconds(running), time.process_time()
                    if spy_dir is not None:
                        profile(running, spy_seconds, spy_dir)
                    got = await wait_count(handoffs.count, before + decided, 60 + alerts / 2)
                    cpu, own = cpu_seconds(running) - cpu, time.process_time() - own
                    await wait_idle(pool, 120 + alerts / 2)  # the phases never mix
                    stamps = [t for _a, t in sorted(handoffs.times(), key=lambda x: x[1])]
                    figure = rate(stamps[before:])
                    figure["decided"] = decided
                    figure["handed_off"] = got - before
                    figure["cpu_ms_per_step"] = 1000 * cpu / max(got - before - 1, 1)
                    # This process (the simulator, the sink, the counting): the other side.
                    figure["provider_cpu_ms_per_step"] = 1000 * own / max(got - before - 1, 1)
                    result["herald"][n] = figure
                    say(
                        f"herald, {n} worker(s): {figure['per_s']:.0f} steps/s, workers "
                        f"{figure['cpu_ms_per_step']:.1f} ms CPU/step, simulator and sink "
                        f"{figure['provider_cpu_ms_per_step']:.1f} ms CPU/step"
                    )
                    first += alerts
                    if n != processes[-1]:
                        stop(running)
                if seconds > 0:
                    total = int(per_s * seconds) + per_s
                    await add_customers(engine, first, total)
                    result["latency"] = await latency(
                        db_url, redis_url, handoffs, first, per_s, seconds
                    )
                    result["latency"]["processes"] = processes[-1]
                    say(f"latency: p99 {result['latency']['p99_s']:.2f}s")
                await wait_idle(pool)
                stop(running)
                per_address = Counter(a for a, _t in handoffs.times())
                result["duplicates"] = sum(c - 1 for c in per_address.values() if c > 1)
                result["duplicated"] = sorted(a for a, c in per_address.items() if c > 1)[:20]
            finally:
                sink.stop()
        await pool.aclose()
        await engine.dispose()
    return result


async def profile_steps(
    n: int, database: str, concurrency: int, top: int, sort: str = "tottime"
) -> None:
    """``n`` steps run in this process by run_step (``concurrency`` at a time) under cProfile,
    the simulator and sink beside them: where one step's CPU goes."""
    import cProfile
    import pstats

    from alerts.delivery.steps import run_step
    from herald.runtime import Runtime

    with (
        fresh_database(database) as db_url,
        private_redis(True) as redis_url,
        tempfile.TemporaryDirectory(prefix="herald-delivery-") as tmp,
    ):
        settings = Settings(
            _env_file=None,
            data_dir=Path(tmp),
            database_url=db_url,
            redis_url=redis_url,
            public_url=f"http://127.0.0.1:{free_port()}",
            twilio={"simulator_port": free_port()},
            smtp={"sink_port": free_port()},
        )
        rt = await Runtime.start(settings)
        await upgrade(rt.engine)
        await add_customers(rt.engine, 1, n)
        await add_events(rt.engine, range(1, n + 1))
        ids = await evaluate_pending(deps=rt.deps, now=utcnow())
        config = SimulatorConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            numbers={settings.twilio.from_number: f"{settings.public_url}/webhooks/inbound"},
            scenario=parse_scenario({"faults": {"drop_callbacks": 1.0}}),
            delay=0.0,
        )
        async with SimulatorServer(config, port=settings.twilio.simulator_port) as sim:
            handoffs = Handoffs(sim)
            sink = start_smtp_server(handoffs, settings.smtp.sink_port, what="sink", fix="")
            sem = asyncio.Semaphore(concurrency)

            async def one(alert_id: int) -> None:
                async with sem:
                    await run_step(deps=rt.deps, alert_id=alert_id, step_index=0, now=utcnow())

            await asyncio.gather(*(one(i) for i in ids[:5]))  # warm: caches, pools
            statements: list[str] = []

            def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
                statements.append(statement.split("\n", 1)[0][:90])

            sa_event.listen(rt.engine.sync_engine, "before_cursor_execute", count)
            await one(ids[5])
            await one(ids[6])
            sa_event.remove(rt.engine.sync_engine, "before_cursor_execute", count)
            print(f"{len(statements)} statements for two steps (an SMS, an email):")
            print("\n".join(f"  {s}" for s in statements))
            ids = ids[:5] + ids[7:]
            rest = ids[5:]
            half = len(rest) // 2
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(one(i) for i in rest[:half]))  # timed, not profiled
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            profiler = cProfile.Profile()
            profiler.enable()
            await asyncio.gather(*(one(i) for i in rest[half:]))
            profiler.disable()
            sink.stop()
        await rt.close()
    print(
        f"{half} steps, one at a time, in {wall:.2f}s: {1000 * wall / half:.1f} ms per step, "
        f"{1000 * cpu / half:.1f} ms CPU per step (this process: the simulator and sink too)"
    )
    print(f"the next {len(rest) - half} steps profiled:")
    pstats.Stats(profiler).sort_stats(sort).print_stats(top)


def rows_of(result: dict[str, Any]) -> list[list[str]]:
    db = result["database"]
    rows = []
    for n, figure in result["herald"].items():
        base = result["baseline"][n]
        rows.append(
            [
                db,
                f"delivery, {n} worker process(es) "
                f"({figure['handed_off']:,}/{figure['decided']:,} handed off)",
                f"{figure['per_s']:,.0f} steps/s ({figure['cpu_ms_per_step']:.1f} ms CPU/step)",
                f"trivial arq job {base['per_s']:,.0f} jobs/s",
                f"{figure['per_s'] / base['per_s']:.2f}x" if base["per_s"] else "-",
            ]
        )
    if "latency" in result:
        lat = result["latency"]
        rows.append(
            [
                db,
                f"event -> hand-off at {lat['offered_per_s']:,.0f} alerts/s offered "
                f"({lat['handed_off']:,}/{lat['alerts']:,})",
                f"p50 {lat['p50_s'] * 1000:,.0f} ms, p99 {lat['p99_s'] * 1000:,.0f} ms",
                "target p99 < 1,000 ms",
                f"{lat['p99_s']:.2f}x of 1 s",
            ]
        )
    rows.append(
        [db, "duplicate sends at the simulator and sink", str(result["duplicates"]), "0", "-"]
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--database", default="", help="PostgreSQL URL (a fresh db beside it)")
    parser.add_argument("--processes", default="1,2", help="worker processes per run, e.g. 1,2")
    parser.add_argument("--rate", type=int, default=200, help="alerts/s offered for the latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="0: no latency run")
    parser.add_argument("--py-spy", type=Path, help="sample the workers into this folder")
    parser.add_argument("--profile-steps", type=int, default=0, help="cProfile N steps instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.profile_steps:
        asyncio.run(profile_steps(args.profile_steps, args.database, 1, 80))
        return 0
    from benchmarks.throughput import table

    processes = [int(p) for p in args.processes.split(",") if p.strip()]
    result = asyncio.run(
        run(args.alerts, args.database, processes, args.rate, args.seconds, args.py_spy)
    )
    summary.record("delivery", summary.with_targets(rows_of(result)))
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=str)
        print()
    else:
        print(table(rows_of(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
