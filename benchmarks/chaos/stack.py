"""The stack a fault-injection run works on: its own PostgreSQL and Redis, the Twilio simulator,
the SMTP sink, two `herald serve` behind a round-robin proxy and two `herald worker`, each a real
process on a free port; plus what a run reads back (alerts per batch, sends at the providers)."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis as redis_sync

from benchmarks.chaos.services import (
    HeraldProcess,
    OwnRedis,
    PrivatePostgres,
    RoundRobinProxy,
)
from herald.embedded import SmtpSink, free_port

API_TOKEN = "chaos-api-token"
# Every alert ends, in these scenarios, with the customer reached (the simulator delivers every
# text and answers every call); "closed" would be an answer.
DELIVERED = ("delivered", "closed")
CALM = {"default": {"sms": {"delivery": "delivered"}, "voice": {"answer": "human"}}}
CUSTOMER_COLUMNS = ["external_ref", "name", "locale", "timezone", "accounts", "phones"]
CUSTOMER_COLUMNS += ["emails", "channel_order"]
NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


@dataclass(frozen=True)
class Batch:
    """The customers of one fault (refs K<n>-<i>, one large debit each), and their feed."""

    number: int
    size: int

    def ref(self, i: int) -> str:
        return f"K{self.number:02d}-{i:05d}"

    def phone(self, i: int) -> str:
        return f"+1555{self.number:02d}{i:05d}"

    def email(self, i: int) -> str:
        return f"k{self.number:02d}-{i:05d}@example.com"

    def account(self, i: int) -> str:
        return f"NL{10 + self.number:02d}CHAO{self.number:02d}{i:08d}"

    @staticmethod
    def order(i: int) -> str:
        """Mostly texts, some calls (then a text if unanswered), some emails."""
        return ("sms", "sms", "sms", "sms", "sms", "email", "email", "voice;sms")[i % 8]

    def customer_rows(self) -> list[list[str]]:
        return [
            [self.ref(i), f"Chaos {self.ref(i)}", "en", "UTC", self.account(i), *self.contact(i)]
            for i in range(self.size)
        ]

    def contact(self, i: int) -> list[str]:
        return [self.phone(i), self.email(i), self.order(i)]

    def feed(self) -> bytes:
        parts = [
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}">'
            f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>CHAOS-{self.number}</MsgId>"
            "<CreDtTm>2026-11-23T09:00:00+01:00</CreDtTm></GrpHdr>"
        ]
        for i in range(self.size):
            ref = f"CHAOS-{self.number:02d}-{i:05d}"
            parts.append(
                f"<Ntfctn><Id>{ref}-N</Id><CreDtTm>2026-11-23T09:00:00+01:00</CreDtTm>"
                f"<Acct><Id><IBAN>{self.account(i)}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
                f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{700 + i % 900}.00</Amt>'
                "<CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                "<BookgDt><Dt>2026-11-23</Dt></BookgDt><ValDt><Dt>2026-11-23</Dt></ValDt>"
                f"<AcctSvcrRef>{ref}-SVC</AcctSvcrRef><NtryDtls><TxDtls>"
                f'<Refs><EndToEndId>{ref}-E2E</EndToEndId></Refs><Amt Ccy="EUR">'
                f"{700 + i % 900}.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RltdPties><Cdtr><Pty>"
                "<Nm>Chaos Shop</Nm></Pty></Cdtr></RltdPties></TxDtls></NtryDtls></Ntry></Ntfctn>"
            )
        parts.append("</BkToCstmrDbtCdtNtfctn></Document>\n")
        return "".join(parts).encode()


@dataclass
class AlertRow:
    ref: str
    alert_id: int | None
    status: str | None
    next_step_at: Any


class ChaosStack:
    """Starts and stops every part; knows how to restart each and what was sent."""

    def __init__(self, base: Path, *, sweep_every_s: int = 5, stuck_after_s: int = 20) -> None:
        self.base = base
        self.pg = PrivatePostgres(base)
        self.redis = OwnRedis(base)
        self.sink = SmtpSink(directory=base / "mail", port=free_port())
        self.sim_port = free_port()
        self.api_ports = [free_port(), free_port()]
        self.proxy = RoundRobinProxy(self.api_ports)
        self.sweep_every_s = sweep_every_s
        self.stuck_after_s = stuck_after_s
        self.apis: list[HeraldProcess] = []
        self.workers: list[HeraldProcess] = []
        self.sim: HeraldProcess | None = None
        self.http = httpx.Client(timeout=60)

    @property
    def database_url(self) -> str:
        return self.pg.url.rsplit("/", 1)[0] + "/herald"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    def env(self, name: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        data = self.base / f"data-{name}"
        data.mkdir(parents=True, exist_ok=True)
        return {
            **base,
            "HERALD_DATA_DIR": str(data),
            "HERALD_DATABASE_URL": self.database_url,
            "HERALD_REDIS_URL": self.redis.url,
            "HERALD_PUBLIC_URL": self.public_url,
            "HERALD_API_TOKEN": API_TOKEN,
            "HERALD_SECRET_KEY": "chaos-secret-key-0123456789",
            "HERALD_TWILIO__SIMULATOR_PORT": str(self.sim_port),
            "HERALD_TWILIO__TIMEOUT_SECONDS": "2",
            "HERALD_SMTP__SINK_PORT": str(self.sink.port),
            "HERALD_SMTP__BOUNCE_PORT": str(free_port()),
            "HERALD_SWEEP_INTERVAL_SECONDS": str(self.sweep_every_s),
            "HERALD_SWEEP_STUCK_AFTER_SECONDS": str(self.stuck_after_s),
            "HERALD_LOG_FORMAT": "json",
            # DEBUG: each step job's run is logged ("running job_id=... try=..."), which
            # times a killed worker's in-flight job until its re-run.
            "HERALD_LOG_LEVEL": "DEBUG" if name.startswith("worker") else "INFO",
        }

    def _herald(self, name: str, *args: str, port: int | None = None) -> HeraldProcess:
        return HeraldProcess(name, list(args), self.env(name), self.base, port=port)

    def start(self, batches: list[Batch]) -> None:
        self.pg.start()
        with psycopg.connect(self.pg.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE herald")
        self.redis.start()
        self.sink.start()
        self.sim = self._herald("sim", "simulate", "--port", str(self.sim_port), port=self.sim_port)
        self.sim.start()
        self.set_scenario(CALM)
        migrate = self._herald("migrate", "migrate")
        migrate.start()
        assert migrate.process is not None
        if migrate.process.wait(timeout=300) != 0:
            raise RuntimeError(f"herald migrate failed:\n{migrate.log.read_text()[-3000:]}")
        asyncio.run(self._prepare(batches))
        self.apis = [
            self._herald(f"api-{n}", "serve", "--port", str(port), port=port)
            for n, port in enumerate(self.api_ports, 1)
        ]
        self.workers = [self._herald(f"worker-{n}", "worker") for n in (1, 2)]
        for process in [*self.apis, *self.workers]:
            process.start()
        self.proxy.start()

    async def _prepare(self, batches: list[Batch]) -> None:
        """What an administrator does once: the call centre open around the clock and
        large_debit falling back at once (as `herald demo`), every batch's customers imported
        through Herald's own importer."""
        from alerts.customers.records import import_customers
        from herald.db import make_engine, make_sessionmaker
        from herald.demo import tune_for_demo

        path = self.base / "customers.csv"
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(CUSTOMER_COLUMNS)
            for batch in batches:
                writer.writerows(batch.customer_rows())
        engine = make_engine(self.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                await tune_for_demo(session, fallback_wait_seconds=0)
            async with make_sessionmaker(engine)() as session:
                report = await import_customers(session=session, path=path)
            if report.errors:
                raise RuntimeError(f"customers rejected: {report.errors[:3]}")
        finally:
            await engine.dispose()

    def stop(self) -> None:
        for process in [*self.workers, *self.apis]:
            process.stop()
        self.proxy.stop()
        if self.sim is not None:
            self.sim.stop()
        self.sink.stop()
        self.redis.stop()
        self.pg.stop()
        self.http.close()

    # -- driving it -------------------------------------------------------------------------

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def set_scenario(self, scenario: dict[str, Any]) -> None:
        self.http.put(f"{self.sim_url}/_sim/scenario", json=scenario).raise_for_status()

    def ingest(self, batch: Batch) -> int:
        """Upload the batch's feed to an API through the proxy; the alerts it created."""
        response = self.http.post(
            f"{self.public_url}/api/v1/ingest",
            content=batch.feed(),
            headers={"Authorization": f"Bearer {API_TOKEN}", "X-Filename": f"chaos-{batch.number}"},
            timeout=300,
        )
        response.raise_for_status()
        return int(response.json()["alerts_created"])

    def alerts(self, batch: Batch) -> list[AlertRow]:
        query = (
            "SELECT c.external_ref, a.id, a.status, a.next_step_at FROM customers c "
            "LEFT JOIN alerts a ON a.customer_id = c.id WHERE c.external_ref LIKE %s"
        )
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(query, (f"K{batch.number:02d}-%",)).fetchall()
        return [AlertRow(*row) for row in rows]

    def sim_idle(self) -> bool:
        try:
            return bool(self.http.get(f"{self.sim_url}/_sim/idle", timeout=10).json()["idle"])
        except httpx.HTTPError:
            return False

    def injected(self) -> dict[str, int]:
        found = self.http.get(f"{self.sim_url}/_sim/faults").json()
        return dict(found["injected"])

    def sends(self, batch: Batch) -> Counter[tuple[str, str]]:
        """How many times each address of the batch got something, per channel; an email
        counts once per Message-ID (a copy with the same Message-ID is the same message)."""
        wanted = {batch.phone(i) for i in range(batch.size)}
        sent: Counter[tuple[str, str]] = Counter()
        for message in self.http.get(f"{self.sim_url}/_sim/messages").json()["messages"]:
            if message["direction"] == "outbound-api" and message["to"] in wanted:
                sent["sms", message["to"]] += 1
        for call in self.http.get(f"{self.sim_url}/_sim/calls").json()["calls"]:
            if call["to"] in wanted:
                sent["voice", call["to"]] += 1
        for to, ids in self.emails(batch).items():
            sent["email", to] = len(set(ids))
        return sent

    def emails(self, batch: Batch) -> dict[str, list[str]]:
        """The Message-IDs each email address of the batch received, every copy."""
        addresses = {batch.email(i) for i in range(batch.size)}
        got: dict[str, list[str]] = {}
        for mail in list(self.sink.messages):
            to = str(mail["To"] or "")
            if to in addresses:
                got.setdefault(to, []).append(str(mail["Message-ID"] or ""))
        return got

    def jobs_in_progress(self) -> set[str]:
        """The step jobs a worker holds right now (arq's in-progress keys)."""
        client = redis_sync.Redis(port=self.redis.port, socket_timeout=5)
        try:
            keys: list[bytes] = client.keys("arq:in-progress:step:*")  # type: ignore[assignment]
        finally:
            client.close()
        return {k.decode().removeprefix("arq:in-progress:") for k in keys}

    def job_runs(self, since: float, until: float | None = None) -> list[JobRun]:
        """Every step job's run the workers logged from ``since`` (to ``until``), in order."""
        runs = []
        for worker in self.workers:
            for line in worker.log.read_text(errors="replace").splitlines():
                if '"running job_id=' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                at = _epoch(entry.get("time", ""))
                if at >= since and (until is None or at <= until):
                    runs.append(JobRun(at, worker.name, str(entry.get("job_id", ""))))
        return sorted(runs)


@dataclass(frozen=True, order=True)
class JobRun:
    at: float
    worker: str
    job_id: str


def _epoch(stamp: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0


def wait_until(check: Any, timeout: float, every: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return bool(check())
