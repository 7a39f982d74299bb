"""Provider rate limits: with the limit as the bottleneck, does the queue drain at exactly it?

In a fresh database (a fresh PostgreSQL database beside the one ``--database`` names, or a
SQLite file) and a private Redis, ``--alerts`` SMS alerts are decided and queued; then
``--workers`` `herald worker` processes send them with HERALD_TWILIO__SENDER_MESSAGES_PER_SECOND
set to ``--rate``, to a Twilio simulator in a process of its own that records when each message
arrived (channels.twilio_sim.recorder; callbacks dropped, so the workers alone are measured).

Printed: the configured limit, the drain rate measured from the first arrival to the last, their
ratio (1.00 = exactly the limit), the most messages seen in any 1 s and 3 s window against what
the bucket allows (rate x window + burst), and duplicates (must be 0).

.venv/bin/python -m benchmarks.pacing [--alerts 100] [--rate 5] [--workers 2]
    [--database postgresql://...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from arq import create_pool
from arq.connections import RedisSettings

from benchmarks import summary
from benchmarks.delivery import add_customers, add_events, decide, say, stop, worker_env
from benchmarks.evaluate import fresh_database, private_redis
from channels.twilio_sim import SimulatorConfig
from channels.twilio_sim.recorder import received
from channels.twilio_sim.scenario import parse_scenario
from herald.config import Settings
from herald.db import make_engine
from herald.embedded import free_port
from herald.migrate import upgrade


def most_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(
        (sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)),
        default=0,
    )


def start_recorder(settings: Settings, tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    config = SimulatorConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        numbers={settings.twilio.from_number: f"{settings.public_url}/webhooks/inbound"},
        scenario=parse_scenario({"faults": {"drop_callbacks": 1.0}}),
        delay=0.0,
    )
    (tmp / "sim.json").write_text(config.model_dump_json())
    out = tmp / "received.jsonl"
    port = settings.twilio.simulator_port
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "channels.twilio_sim.recorder",
            str(tmp / "sim.json"),
            str(port),
            str(out),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return proc, out
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the recording simulator did not start") from None
            time.sleep(0.2)


async def run(alerts: int, rate: float, workers: int, database: str) -> dict[str, Any]:
    with (
        fresh_database(database) as db_url,
        private_redis(True) as redis_url,
        tempfile.TemporaryDirectory(prefix="herald-pacing-") as tmp_name,
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
        await upgrade(engine)
        await add_customers(engine, 0, 2 * alerts)  # the even ones want an SMS
        env = worker_env(settings, db_url, redis_url, tmp)
        env["HERALD_TWILIO__SENDER_MESSAGES_PER_SECOND"] = str(rate)
        recorder, out = start_recorder(settings, tmp)
        log = Path(tempfile.gettempdir()) / f"herald-pacing-workers-{os.getpid()}.log"
        say(f"{engine.dialect.name} database ready; worker logs: {log}")
        herald = Path(sys.executable).with_name("herald")
        with log.open("ab") as sink:
            procs = [
                subprocess.Popen([str(herald), "worker"], env=env, stdout=sink, stderr=sink)
                for _ in range(workers)
            ]
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            await asyncio.sleep(8)  # the workers start (their start-up is not what is measured)
            await add_events(engine, range(0, 2 * alerts, 2))
            created = await decide(engine, pool)
            say(f"{created} SMS alerts queued; {workers} workers sending at {rate:g}/s")
            deadline = time.monotonic() + 120 + 3 * alerts / rate
            while len(received(out)) < created and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # a second send of anything would show now
        finally:
            await pool.aclose()
            stop(procs)
            recorder.terminate()
            recorder.wait(timeout=30)
            await engine.dispose()
        sent = [m for m in received(out) if m.get("direction") == "outbound-api"]
    times = sorted(float(str(m["at"])) for m in sent)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    drained = (len(times) - 1) / span if span else 0.0
    per_number = Counter(str(m["to"]) for m in sent)
    return {
        "alerts": created,
        "workers": workers,
        "database": engine.dialect.name,
        "limit_per_s": rate,
        "sent": len(sent),
        "drain_per_s": round(drained, 3),
        "ratio": round(drained / rate, 3),
        "max_in_1s": most_in_window(times, 1.0),
        "allowed_1s": rate * 1 + 1,
        "max_in_3s": most_in_window(times, 3.0),
        "allowed_3s": rate * 3 + 1,
        "duplicates": sum(n - 1 for n in per_number.values()),
        "lost": created - len(per_number),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default=os.environ.get("HERALD_BENCH_DATABASE", "sqlite"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.alerts, args.rate, args.workers, args.database))
    summary.record("pacing", summary.pacing_rows(result))
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [
        ("configured limit", f"{result['limit_per_s']:g} SMS/s per sender"),
        ("workers", str(result["workers"])),
        ("database", result["database"]),
        ("alerts sent", f"{result['sent']} of {result['alerts']}"),
        ("drain rate", f"{result['drain_per_s']:.2f} SMS/s"),
        ("ratio drain / limit", f"{result['ratio']:.3f}"),
        ("most in any 1 s", f"{result['max_in_1s']} (bucket allows {result['allowed_1s']:g})"),
        ("most in any 3 s", f"{result['max_in_3s']} (bucket allows {result['allowed_3s']:g})"),
        ("duplicates / lost", f"{result['duplicates']} / {result['lost']}"),
        ("load average (1 min)", str(result["load_1m"])),
    ]
    for name, value in rows:
        print(f"{name:<22} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
