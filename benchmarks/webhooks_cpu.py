"""CPU per webhook without the network or shedding: the Herald app in this process under
httpx's ASGI transport, signed requests one after another, ``os.times()`` around them.

Seeds a fresh PostgreSQL database beside HERALD_TEST_POSTGRES_URL (or ``--database``) as
``benchmarks.webhooks`` does, sends 50 warm-up requests of each kind, then ``--requests`` more,
and prints CPU ms per request (user + system; httpx's client side, ~0.3 ms, is in it) and
wall ms, on stdout (Herald logs on stderr meanwhile, as a server does). To compare two
commits, ``git archive <commit> | tar -x -C DIR`` and run this with ``PYTHONPATH=DIR`` first,
alternating runs.

.venv/bin/python -m benchmarks.webhooks_cpu [--requests 400] [--only status,inbound,gather]
    [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from benchmarks.webhooks import AUTH_TOKEN, phases, seed, signed
from herald.config import Settings
from herald.embedded import PrivateRedis

WARMUP = 50
BASE = "http://127.0.0.1:8999"


async def measure(
    sets: dict[str, list[dict[str, str]]], count: int, only: list[str], profile: str = ""
) -> list[str]:
    """One line per kind of webhook (Herald logs as a server would meanwhile); with
    ``profile``, a cProfile of the measured requests of each kind in ``profile.<kind>``."""
    from herald.app import create_app
    from herald.cli_common import load_settings

    lines: list[str] = []
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            for name, phase in phases(sets, count + WARMUP).items():
                if name not in only:
                    continue
                prepared = [signed(BASE, path, form) for path, form in phase.requests]
                profiler = cProfile.Profile() if profile else None
                for i, (url, body, headers) in enumerate(prepared):
                    if i == WARMUP:
                        before, started = os.times(), time.perf_counter()
                        if profiler is not None:
                            profiler.enable()
                    reply = await client.post(url, content=body, headers=headers)
                    if reply.status_code != 200:
                        raise SystemExit(f"{name}: {reply.status_code} {reply.text[:200]}")
                after, wall = os.times(), time.perf_counter() - started
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(f"{profile}.{name}")
                user = (after.user - before.user) * 1000 / count
                system = (after.system - before.system) * 1000 / count
                lines.append(
                    f"{name:<8} CPU {user + system:5.2f} ms/request (user {user:.2f}, "
                    f"system {system:.2f})  wall {wall * 1000 / count:5.2f} ms/request"
                )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--only", default="status,inbound,gather")
    parser.add_argument("--profile", default="", help="cProfile output prefix (FILE.<kind>)")
    parser.add_argument("--database", default=os.environ.get("HERALD_TEST_POSTGRES_URL", ""))
    args = parser.parse_args(argv)
    if not args.database:
        raise SystemExit("needs --database or HERALD_TEST_POSTGRES_URL (PostgreSQL)")
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    name = f"herald_bench_cpu_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.database.rsplit('/', 1)[0]}/{name}"
    with tempfile.TemporaryDirectory(prefix="hbc-", dir="/tmp") as tmp:
        redis = PrivateRedis.ensure(
            Settings(_env_file=None, data_dir=Path(tmp) / "redis", redis_url=None)
        )
        assert redis is not None
        os.environ.update(
            {
                "HERALD_DATA_DIR": str(Path(tmp) / "data"),
                "HERALD_DATABASE_URL": url,
                "HERALD_REDIS_URL": f"unix://{redis.socket_path}",
                "HERALD_PUBLIC_URL": BASE,
                "HERALD_SECRET_KEY": "bench-secret-key-0123456789",
                "HERALD_TWILIO__AUTH_TOKEN": AUTH_TOKEN,
                "HERALD_TWILIO__ACCOUNT_SID": "AC" + "0" * 32,
                "HERALD_TWILIO__API_BASE": "http://127.0.0.1:9",  # never called by webhooks
            }
        )
        try:
            sets = asyncio.run(seed(url, args.requests + WARMUP))
            lines = asyncio.run(measure(sets, args.requests, only, args.profile))
        finally:
            redis.stop()
            with psycopg.connect(args.database, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
