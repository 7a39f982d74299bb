"""/metrics after real work: a file ingested through the API, the workers delivering through the
Twilio simulator and the SMTP sink, callbacks through signed webhooks; then the figures moved.
Also: queue depth and age read from Redis on scrape, who may scrape, each worker's own port."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts.columns import utcnow
from alerts.customers.records import import_customers
from alerts.decisions.evaluate import evaluate_pending
from callcentre.live_pacing import VoicePacer
from callcentre.pacing import PacingPolicy
from callcentre.queues import set_agent_state
from herald.app import create_app
from herald.config import Settings
from herald.demo import tune_for_demo
from herald.embedded import free_port
from herald.metrics import serve_worker_metrics
from herald.runtime import QUEUES, Runtime
from herald.worker import drain
from tests.conftest import REPO, Stack
from tests.factories import api_headers, make_customer, make_event
from tests.integration.test_cli import port_env
from tests.service.callcentre.test_agent_console import _agent

pytestmark = pytest.mark.integration
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over every sample whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= lab)


async def scrape(client: httpx.AsyncClient) -> Samples:
    resp = await client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return parse(resp.text)


async def test_figures_move_after_real_work(stack: Stack) -> None:
    async with stack.runtime.deps.sessions() as session:
        await import_customers(session=session, path=REPO / "examples" / "customers.csv")
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        before = await scrape(client)
        resp = await client.post(
            "/api/v1/ingest/camt054",
            content=(REPO / "examples" / "feeds" / "camt054-demo.xml").read_bytes(),
            headers={**api_headers(stack.settings), "X-Filename": "camt054-demo.xml"},
        )
        assert resp.status_code == 200, resp.text
        report = resp.json()
        mid = await scrape(client)  # queued, not yet run: the queue depth shows it
        await drain(stack.runtime, wait_deferred=True, timeout=60, idle_check=stack.idle)
        after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("herald_ingested_files_total", status="done") == 1
    assert moved("herald_ingested_records_total", outcome="read") == report["records"]
    assert moved("herald_ingested_records_total", outcome="events") == report["events_created"]
    assert moved("herald_decision_seconds_count") >= 1
    queued = sum(total(mid, "herald_queue_depth", queue=q) for q in QUEUES.values())
    assert queued >= 1  # the alerts' first steps were waiting for a worker
    assert total(after, "herald_queue_depth", due="yes") == 0  # drained
    assert moved("herald_sends_total", channel="voice", result="accepted") >= 1
    assert moved("herald_sends_total", provider="twilio_voice") >= 1
    assert moved("herald_attempt_status_total", channel="voice", status="completed") >= 1
    # The simulator's signed status callbacks went through the webhooks, and were timed.
    assert moved("herald_webhook_seconds_count", status="200") >= 1
    routes = {dict(lab)["route"] for (n, lab) in after if n == "herald_webhook_seconds_count"}
    assert "/webhooks/twilio/{kind}/{attempt_id}/status" in routes
    assert moved("herald_ingested_records_total", outcome="quarantined") == report["quarantined"]
    # The demo feed names an account no customer has: set aside until the customer exists.
    assert report["unknown_accounts"] >= 1
    unknown = moved("herald_ingested_records_total", outcome="unknown_accounts")
    assert unknown == report["unknown_accounts"]
    assert total(after, "herald_quarantine_open") == report["quarantined"] + unknown


async def test_retries_and_fallbacks_are_counted(stack: Stack) -> None:
    """A provider outage for one number: its text is retried later. A call nobody answers: the
    plan falls back to a text."""
    outage, silent = "+15550100001", "+15550100002"
    stack.set_scenario(
        {
            "default": {"voice": {"answer": "human", "presses": []}},
            "recipients": {
                outage: {"api_error": {"status": 503, "code": 20503, "message": "Unavailable"}},
                silent: {"voice": {"answer": "no-answer"}},
            },
        }
    )
    deps = stack.runtime.deps
    for i, (phone, order) in enumerate([(outage, ("sms",)), (silent, ("voice", "sms"))]):
        account = f"NL00BANK{i:010d}"
        await make_customer(deps, ref=f"C-{i}", account=account, phone=phone, order=order)
        await make_event(deps, account=account, event_id=f"E-{i}")
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as client:
        before = await scrape(client)
        assert len(await evaluate_pending(deps=deps, now=utcnow())) == 2
        # Due work only: the retry of the refused text waits 20-30 s, deferred in its queue.
        await drain(stack.runtime, timeout=60, idle_check=stack.idle)
        after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("herald_sends_total", channel="sms", result="retry_later") >= 1
    assert moved("herald_retries_total", channel="sms") >= 1
    assert total(after, "herald_queue_depth", queue=QUEUES["sms"], due="no") >= 1
    assert moved("herald_attempt_status_total", channel="voice", status="no_answer") == 1
    assert moved("herald_fallbacks_total", kind="step", channel="sms") == 1
    assert moved("herald_sends_total", channel="sms", result="accepted") == 1  # the fallback


async def test_queue_depth_and_age_come_from_redis(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    sms = QUEUES["sms"]
    await runtime.pool.enqueue_job("run_step", 1, 0, _job_id="m:due", _queue_name=sms)
    await runtime.pool.enqueue_job(
        "run_step", 2, 0, _job_id="m:later", _queue_name=sms, _defer_by=3600
    )
    await asyncio.sleep(1.1)
    samples = parse((await client.get("/metrics")).text)
    assert total(samples, "herald_queue_depth", queue=sms, due="yes") == 1
    assert total(samples, "herald_queue_depth", queue=sms, due="no") == 1
    assert total(samples, "herald_queue_depth", queue=QUEUES["voice"]) == 0
    age = total(samples, "herald_queue_oldest_job_age_seconds", queue=sms)
    assert 1.0 <= age < 60
    assert total(samples, "herald_queue_oldest_job_age_seconds", queue=QUEUES["email"]) == 0


async def test_metrics_are_not_public(settings: Settings, runtime: Runtime) -> None:
    app = create_app(settings, runtime)
    remote = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=remote, base_url=settings.public_url) as outsider:
        resp = await outsider.get("/metrics")
        assert resp.status_code == 403 and "HERALD_METRICS__TOKEN" in resp.text
        assert "herald_" not in resp.text
    guarded = Settings.model_validate(
        {**settings.model_dump(), "metrics": {"token": "scrape-s3cret"}}
    )
    app = create_app(guarded, runtime)
    local = httpx.ASGITransport(app=app)  # loopback, but a token is configured: it is needed
    async with httpx.AsyncClient(transport=local, base_url=settings.public_url) as scraper:
        assert (await scraper.get("/metrics")).status_code == 403
        wrong = {"Authorization": "Bearer nope"}
        assert (await scraper.get("/metrics", headers=wrong)).status_code == 403
        right = {"Authorization": "Bearer scrape-s3cret"}
        resp = await scraper.get("/metrics", headers=right)
        assert resp.status_code == 200 and "herald_sends_total" in resp.text


async def test_a_worker_serves_its_own_metrics(settings: Settings) -> None:
    port = free_port()
    configured = Settings.model_validate(
        {**settings.model_dump(), "metrics": {"worker_port": port, "token": "w-secret"}}
    )
    runner = await serve_worker_metrics(configured)
    assert runner is not None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            assert (await c.get("/metrics")).status_code == 403
            resp = await c.get("/metrics", headers={"Authorization": "Bearer w-secret"})
            assert resp.status_code == 200
            assert "herald_attempt_status_total" in resp.text
    finally:
        await runner.cleanup()
    assert await serve_worker_metrics(settings) is None  # no port set: nothing served


def test_herald_worker_serves_metrics_and_logs_json(tmp_path: Path) -> None:
    """The command as deployed: `herald worker` with a metrics port and JSON logs."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    data_dir = Path(tempfile.mkdtemp(prefix="hwm-", dir="/tmp"))  # short: the Redis socket
    env.update(
        HERALD_DATA_DIR=str(data_dir),
        HERALD_METRICS__WORKER_PORT=str(port),
        HERALD_METRICS__TOKEN="worker-scrape-token",
        HERALD_LOG_FORMAT="json",
        **port_env(),
    )
    herald = str(Path(sys.executable).parent / "herald")
    proc = subprocess.Popen(
        [herald, "worker"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 90
        while True:
            try:
                resp = httpx.get(url, headers={"Authorization": "Bearer worker-scrape-token"})
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "the worker exited"
                assert time.monotonic() < deadline, "no metrics within 90 s"
                time.sleep(0.5)
        assert resp.status_code == 200 and "herald_sends_total" in resp.text
        assert httpx.get(url).status_code == 403
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any("worker metrics at" in entry["message"] for entry in lines), stderr[-2000:]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)


async def test_the_pacing_rate_is_the_pacers_last_decision(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        await tune_for_demo(session, fallback_wait_seconds=0, bank_url="http://127.0.0.1:9/")
    fiona = await _agent(deps, "fiona", ["fraud"])
    pacer = VoicePacer(policy=PacingPolicy(), refresh_s=0)
    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fiona.id, state="away", now=utcnow())
        held = await pacer.rate(session, "large_debit", utcnow())  # nobody to take the calls
    scraped = parse((await client.get("/metrics")).text)
    assert held.rate_per_s == 0
    assert total(scraped, "herald_pacing_rate_per_second", alert_type="large_debit") == 0
    async with deps.sessions() as session:
        await set_agent_state(session=session, user_id=fiona.id, state="available", now=utcnow())
        freed = await pacer.rate(session, "large_debit", utcnow())
    scraped = parse((await client.get("/metrics")).text)
    assert freed.rate_per_s > 0
    rate = total(scraped, "herald_pacing_rate_per_second", alert_type="large_debit")
    assert rate == pytest.approx(freed.rate_per_s)
