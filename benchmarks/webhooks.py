"""Webhook latency under an open-loop load: one real ``herald serve`` process against a minimal
FastAPI handler served by the same uvicorn settings, in the same run.

For each database (SQLite, and PostgreSQL when ``--database`` or HERALD_TEST_POSTGRES_URL names
one: a fresh database beside it) the benchmark seeds real alerts (customers, booked debits,
``evaluate_pending``) and their sent attempts (rows as the worker leaves them after the
provider accepted the call or the message), starts ``herald serve`` on a free port with a
private Redis, and sends correctly signed Twilio requests (X-Twilio-Signature from the twilio
library's RequestValidator) at fixed instants:

  baseline  POST a form to a one-handler FastAPI app (parse the form, answer TwiML)
  status    SMS status callbacks: each sent message reported ``delivered`` (the alert reached)
  inbound   SMS replies "2" (confirm) from each of those customers' phones
  gather    key 2 pressed in each alert's call (the <Gather> action: confirm)

The load is open loop: request i is sent at t0 + i/rate whatever happened to the earlier ones,
and its latency is measured from that scheduled instant, so a server that falls behind shows
its queue in the figures instead of slowing the sender (no coordinated omission). A webhook
the server sheds (503, herald.webhook_gate) is sent again after its Retry-After, up to five
times, as a provider retries; its latency still counts from its first scheduled instant, and
the table says how many were shed. Afterwards the database is checked: every callback applied
once, every answer recorded once.

.venv/bin/python -m benchmarks.webhooks [--rate 300] [--seconds 10] [--database postgresql://...]
    [--no-sqlite] [--only status,inbound,gather] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts.decisions.evaluate import evaluate_pending
from alerts.deps import AlertDeps
from alerts.links import LinkSigner
from alerts.models import Alert, Customer, DeliveryAttempt, Event, Response
from benchmarks import summary
from benchmarks.evaluate import _bulk, add_accounts_and_contacts
from callcentre.state import StoredCentre
from herald.config import Settings
from herald.db import make_engine, make_sessionmaker
from herald.demo import tune_for_demo
from herald.embedded import PrivateRedis
from herald.migrate import upgrade

AUTH_TOKEN = "bench-auth-token"
PHASES = ("status", "inbound", "gather")
RETRIES_AFTER_503 = 5  # a shed webhook is sent again after its Retry-After, like a provider
FROM = "+15005550006"
BASELINE = """
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from herald.cli import server_options

app = FastAPI()

@app.post("/hook")
async def hook(request: Request) -> Response:
    form = await request.form()
    return Response(f"<Response><!-- {len(form)} --></Response>", media_type="application/xml")

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), **server_options("INFO", "text"))
"""


class CountingQueue:
    async def enqueue_step(self, **_: object) -> bool:
        return True  # the first steps are "sent" by the seed below, not by a worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- seeding --------------------------------------------------------------------------------


async def seed(url: str, per_endpoint: int) -> dict[str, list[dict[str, str]]]:
    """Two sets of customers with one large debit each: set A's alerts are being called (voice
    first), set B's were texted (SMS first). Returns each set's attempts and provider sids."""
    engine = make_engine(url)
    await upgrade(engine)
    deps = AlertDeps(
        sessions=make_sessionmaker(engine),
        channels={},
        queue=CountingQueue(),
        links=LinkSigner("bench-secret"),
        public_url="http://127.0.0.1",
        callcentre_number="+15550009999",
        centre=StoredCentre(),
        brand="Bench Bank",
        transaction_secret="bench-transaction-secret",
    )
    async with deps.sessions() as session:
        await tune_for_demo(session, fallback_wait_seconds=300)
    now = datetime.now(UTC)
    consent = now - timedelta(days=400)
    n = 2 * per_endpoint
    orders = [["voice", "sms", "email"]] * per_endpoint + [["sms", "email"]] * per_endpoint
    await _bulk(
        engine,
        Customer.__table__,  # type: ignore[attr-defined]
        [
            {
                "id": i + 1,
                "external_ref": f"W-{i:06d}",
                "name": f"Customer {i}",
                "locale": "en",
                "timezone": "UTC",
                "channel_order": orders[i],
                "segment": "retail",
                "attributes": {},
                "created_at": consent,
            }
            for i in range(n)
        ],
    )
    await add_accounts_and_contacts(
        engine, n, account="NL00HOOK", phone="+3162", email="w", consent=consent
    )
    rng = random.Random(16)
    await _bulk(
        engine,
        Event.__table__,  # type: ignore[attr-defined]
        [
            {
                "source": "bench",
                "source_event_id": f"W{i:08d}",
                "event_type": "debit_posted",
                "account_id": f"NL00HOOK{i:010d}",
                "amount": Decimal(f"{rng.uniform(500, 3000):.2f}"),
                "currency": "EUR",
                "credit_debit": "DBIT",
                "status": "BOOK",
                "description": f"Shop {rng.randrange(500)}",
                "data": {},
                "evaluated": False,
                "created_at": now,
            }
            for i in range(n)
        ],
    )
    created = await evaluate_pending(deps=deps, now=now)
    if len(created) != n:
        raise SystemExit(f"seed: {len(created)} alerts decided for {n} debits")
    sets = await _sent_attempts(engine, now)
    await engine.dispose()
    return sets


async def _sent_attempts(engine: Any, now: datetime) -> dict[str, list[dict[str, str]]]:
    """Each alert's first step as the worker leaves it once the provider took it: a ``sent``
    attempt with the provider's sid, the alert delivering."""
    alerts = Alert.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        rows = (await conn.execute(sa.select(alerts.c.id, alerts.c.plan))).all()
        await conn.execute(
            sa.update(alerts).values(status="delivering", current_step=0, next_step_at=None)
        )
    attempts: list[dict[str, Any]] = []
    for alert_id, plan in rows:
        step = plan[0]  # a PlannedStep (the column type reads it back)
        prefix = "CA" if step.channel == "voice" else "SM"
        attempts.append(
            {
                "alert_id": alert_id,
                "step_index": 0,
                "channel": step.channel,
                "address": step.address,
                "status": "sent",
                "provider_sid": prefix + uuid.uuid4().hex,
                "sending_started_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    await _bulk(engine, DeliveryAttempt.__table__, attempts)  # type: ignore[attr-defined]
    table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(table.c.id, table.c.channel, table.c.address, table.c.provider_sid)
            )
        ).all()
    sets: dict[str, list[dict[str, str]]] = {"voice": [], "sms": []}
    for attempt_id, channel, address, sid in stored:
        sets[channel].append({"id": str(attempt_id), "address": address, "sid": sid})
    return sets


# --- servers --------------------------------------------------------------------------------


@contextmanager
def server(
    command: list[str], port: int, env: dict[str, str], log: Path
) -> Iterator[tuple[str, int]]:
    """A server subprocess (its URL and pid), waited for until it listens, then stopped."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{command[:3]} exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{command[:3]} did not listen on {port}") from None
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)  # as Ctrl-C: uvicorn shuts down, cProfile writes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load -----------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    requests: list[tuple[str, dict[str, str]]]  # (path with query, form params)
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    shed: int = 0  # counted requests answered 503 at least once (then retried)
    answered: int = 0  # requests finally answered 200, warm-up included


def signed(base: str, path: str, params: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    url = base + path
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    body = urlencode(params).encode()  # built before the run, as the signature is
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return url, body, headers


async def drive(base: str, phase: Phase, rate: float, warmup: int) -> None:
    """Send the phase's requests open-loop at ``rate``; the first ``warmup`` are not counted."""
    prepared = [signed(base, path, params) for path, params in phase.requests]
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        done: list[tuple[int, float, int]] = []

        async def one(i: int, url: str, body: bytes, headers: dict[str, str]) -> None:
            at = start + i / rate
            await asyncio.sleep(max(0.0, at - loop.time()))
            for tries in range(RETRIES_AFTER_503 + 1):
                try:
                    async with client.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                        retry_after = float(resp.headers.get("Retry-After", "1"))
                except aiohttp.ClientError:
                    status = 0
                if status != 503 or tries == RETRIES_AFTER_503:
                    break
                if tries == 0:
                    phase.shed += 1 if i >= warmup else 0
                await asyncio.sleep(retry_after)  # as the provider retries a shed webhook
            done.append((i, loop.time() - at, status))

        await asyncio.gather(*(one(i, *p) for i, p in enumerate(prepared)))
        finished = loop.time()
    counted = [d for d in done if d[0] >= warmup]
    phase.answered = sum(1 for d in done if d[2] == 200)  # warm-up included: what was applied
    phase.latencies = sorted(d[1] for d in counted)
    for _, _, status in counted:
        phase.statuses[status] = phase.statuses.get(status, 0) + 1
    phase.seconds = finished - (start + warmup / rate)


@contextmanager
def cpu_of(pid: int) -> Iterator[list[float]]:
    """The CPU seconds (user + system) process ``pid`` used inside the block."""
    used: list[float] = []

    def ticks() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = ticks()
    yield used
    used.append(ticks() - before)


def cpu_per_request(used: list[float], phase: Phase) -> dict[str, float]:
    """CPU per request sent, and per request answered 200 (with shedding the first counts
    refused and retried requests too, so only the second compares runs that shed unequally)."""
    total = len(phase.requests)  # the warm-up's requests cost CPU too
    return {
        "cpu_ms_per_request": used[0] * 1000 / total if total else 0.0,
        "cpu_ms_per_200": used[0] * 1000 / phase.answered if phase.answered else 0.0,
    }


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def figures(phase: Phase) -> dict[str, Any]:
    n = len(phase.latencies)
    return {
        "requests": n,
        "achieved_per_s": n / phase.seconds if phase.seconds else 0.0,
        "p50_ms": quantile(phase.latencies, 0.50) * 1000,
        "p95_ms": quantile(phase.latencies, 0.95) * 1000,
        "p99_ms": quantile(phase.latencies, 0.99) * 1000,
        "max_ms": (phase.latencies[-1] if n else float("nan")) * 1000,
        "statuses": {str(k): v for k, v in sorted(phase.statuses.items())},
        "shed_then_retried": phase.shed,
        "answered_200": phase.answered,
    }


def phases(sets: dict[str, list[dict[str, str]]], count: int) -> dict[str, Phase]:
    voice, sms = sets["voice"][:count], sets["sms"][:count]
    return {
        "status": Phase(
            "status",
            [
                (
                    f"/webhooks/twilio/sms/{a['id']}/status",
                    {
                        "MessageSid": a["sid"],
                        "MessageStatus": "delivered",
                        "AccountSid": "AC" + "0" * 32,
                        "From": FROM,
                        "To": a["address"],
                    },
                )
                for a in sms
            ],
        ),
        "inbound": Phase(
            "inbound",
            [
                (
                    "/webhooks/twilio/sms/inbound",
                    {
                        "MessageSid": "SM" + uuid.uuid4().hex,
                        "AccountSid": "AC" + "0" * 32,
                        "From": a["address"],
                        "To": FROM,
                        "Body": "2",
                    },
                )
                for a in sms
            ],
        ),
        "gather": Phase(
            "gather",
            [
                (
                    f"/webhooks/twilio/voice/{a['id']}/gather?n=1",
                    {
                        "CallSid": a["sid"],
                        "AccountSid": "AC" + "0" * 32,
                        "From": FROM,
                        "To": a["address"],
                        "Digits": "2",
                        "CallStatus": "in-progress",
                    },
                )
                for a in voice
            ],
        ),
    }


async def check(url: str, count: int, only: list[str]) -> dict[str, int]:
    """What the database holds after the run: applied once, recorded once."""
    engine = make_engine(url)
    attempts = DeliveryAttempt.__table__  # type: ignore[attr-defined]
    responses = Response.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        delivered = (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    attempts.c.channel == "sms", attempts.c.status == "delivered"
                )
            )
        ).scalar_one()
        recorded: dict[str, int] = dict(
            (
                await conn.execute(
                    sa.select(responses.c.channel, sa.func.count()).group_by(responses.c.channel)
                )
            ).all()
        )
    await engine.dispose()
    return {
        "sms_delivered": int(delivered),
        "sms_answers": int(recorded.get("sms", 0)),
        "voice_answers": int(recorded.get("voice", 0)),
        "expected_each": count if only else 0,
    }


# --- one database ---------------------------------------------------------------------------


@contextmanager
def database(kind: str, admin_url: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    import psycopg

    name = f"herald_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_one(kind: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    count = int(args.rate * args.seconds)
    warmup = int(args.rate * args.warmup)
    per_endpoint = count + warmup
    redis = PrivateRedis.ensure(Settings(_env_file=None, data_dir=tmp / "redis", redis_url=None))
    assert redis is not None
    try:
        with database(kind, args.database, tmp) as url:
            started = time.perf_counter()
            sets = asyncio.run(seed(url, per_endpoint))
            seeded = time.perf_counter() - started
            port, base_port = free_port(), free_port()
            env = {
                **os.environ,
                "HERALD_DATA_DIR": str(tmp / "data"),
                "HERALD_DATABASE_URL": url,
                "HERALD_REDIS_URL": f"unix://{redis.socket_path}",
                "HERALD_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "HERALD_SECRET_KEY": "bench-secret-key-0123456789",
                "HERALD_TWILIO__AUTH_TOKEN": AUTH_TOKEN,
                "HERALD_TWILIO__ACCOUNT_SID": "AC" + "0" * 32,
                "HERALD_TWILIO__API_BASE": "http://127.0.0.1:9",  # never called by webhooks
            }
            herald = [sys.executable, "-m", "herald.cli", "serve", "--port", str(port)]
            if args.profile:
                herald[1:1] = ["-m", "cProfile", "-o", str(args.profile / f"{kind}.prof")]
            baseline = [sys.executable, "-c", BASELINE, str(base_port)]
            results: dict[str, Any] = {"seed_seconds": seeded}
            logs = args.logs or tmp
            logs.mkdir(parents=True, exist_ok=True)
            with (
                server(herald, port, env, logs / f"herald-{kind}.log") as (herald_base, pid),
                server(baseline, base_port, env, logs / f"baseline-{kind}.log") as (base, bpid),
            ):
                hook = Phase(
                    "baseline",
                    [("/hook", {"MessageSid": f"SM{i:032d}", "Body": "2"}) for i in range(count)],
                )
                with cpu_of(bpid) as used:
                    asyncio.run(drive(base, hook, args.rate, warmup=0))
                results["baseline"] = figures(hook) | cpu_per_request(used, hook)
                for name, phase in phases(sets, per_endpoint).items():
                    if name in args.only:
                        with cpu_of(pid) as used:
                            asyncio.run(drive(herald_base, phase, args.rate, warmup))
                        results[name] = figures(phase) | cpu_per_request(used, phase)
            results["database"] = asyncio.run(check(url, per_endpoint, args.only))
            return results
    finally:
        redis.stop()


def table(kind: str, results: dict[str, Any], rate: float) -> str:
    base = results["baseline"]["p99_ms"]
    lines = [
        f"\n{kind}: offered {rate:.0f} requests/s (open loop, latency from the scheduled instant)",
        f"{'endpoint':<10} {'achieved/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'p99 / baseline':>15} {'CPU ms/req':>10} {'CPU ms/200':>10} {'shed':>5}  "
        "final statuses",
    ]
    for name in ("baseline", *PHASES):
        if name not in results:
            continue
        f = results[name]
        lines.append(
            f"{name:<10} {f['achieved_per_s']:>10.0f} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} "
            f"{f['p99_ms']:>8.1f} {f['p99_ms'] / base:>14.1f}x {f['cpu_ms_per_request']:>10.1f} "
            f"{f['cpu_ms_per_200']:>10.1f} {f['shed_then_retried']:>5}  {f['statuses']}"
        )
    db = results["database"]
    lines.append(
        f"database after the run: {db['sms_delivered']} SMS delivered, {db['sms_answers']} SMS "
        f"answers, {db['voice_answers']} key presses recorded (each expected "
        f"{db['expected_each']}); answered 200: "
        + ", ".join(f"{n} {results[n]['answered_200']}" for n in PHASES if n in results)
        + f"; seeded in {results['seed_seconds']:.0f} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second offered")
    parser.add_argument("--seconds", type=float, default=10.0, help="counted seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="uncounted seconds first")
    parser.add_argument("--database", default=os.environ.get("HERALD_TEST_POSTGRES_URL", ""))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--only", default="status,inbound,gather")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", type=Path, help="run herald serve under cProfile, to here")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this folder")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.database else [])
    report: dict[str, Any] = {}
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="hb-", dir="/tmp") as tmp:
            report[kind] = run_one(kind, args, Path(tmp))
        summary.record("webhooks", summary.webhook_rows(kind, report[kind], args.rate, PHASES))
        if not args.json:
            print(table(kind, report[kind], args.rate), flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
