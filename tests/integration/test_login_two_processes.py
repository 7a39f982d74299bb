"""The issue's "done when", browser-free: two real API processes (`herald serve`) share one
private Redis and one database. Wrong passwords alternated between them are throttled after the
limit (the count lives in Redis, not in a process); a cookie copied before logging out on one
process is sent to the login form by the other."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from admin_ui.throttle import USER_LIMIT
from admin_ui.users import create_user
from herald.config import Settings
from herald.embedded import free_port
from herald.runtime import Runtime

PASSWORD = "correct horse battery"
START_SECONDS = 60


def _start(settings: Settings, port: int, work: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HERALD_DATA_DIR": str(settings.data_dir),
        "HERALD_DATABASE_URL": str(settings.database_url),
        "HERALD_REDIS_URL": str(settings.redis_url),
        "HERALD_SECRET_KEY": settings.secret_key.get_secret_value(),
        "HERALD_API_TOKEN": "test-api-token",
        "HERALD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HERALD_TWILIO__SIMULATOR_PORT": str(free_port()),
    }
    script = "import sys; from herald.cli import main; sys.argv[0] = 'herald'; main()"
    with (work / f"api-{port}.log").open("wb") as log:
        return _popen(script, port, work, env, log)


def _popen(
    script: str, port: int, work: Path, env: dict[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", script, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,  # no .env from the repository
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"herald serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"herald serve did not listen on {port}:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
async def two_apis(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> AsyncIterator[list[str]]:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username="alice", password=PASSWORD, role="agent")
        await create_user(session=session, username="bob", password=PASSWORD, role="agent")
    ports = [free_port(), free_port()]
    procs = [_start(settings, port, tmp_path) for port in ports]
    try:
        for proc, port in zip(procs, ports, strict=True):
            _wait(proc, port, tmp_path / f"api-{port}.log")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            _stop(proc)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    form = client.get("/admin/login")
    data = {"username": username, "password": password, "csrf_token": _csrf(form.text)}
    return client.post("/admin/login", data=data)


def test_throttling_and_logout_hold_across_two_api_processes(two_apis: list[str]) -> None:
    clients = [httpx.Client(base_url=url, timeout=20) for url in two_apis]
    try:
        codes = [_login(clients[i % 2], "alice", "wrong password!").status_code for i in range(30)]
        assert codes[:USER_LIMIT] == [401] * USER_LIMIT, codes
        assert set(codes[USER_LIMIT:]) == {429}, codes
        refused = _login(clients[0], "alice", PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "Too many attempts — try again in" in refused.text

        first, second = clients
        assert _login(first, "bob", PASSWORD).status_code == 303
        captured = dict(first.cookies)
        second.cookies.clear()
        second.cookies.update(captured)  # the same session, now used on the other process
        page = second.get("/admin/customers")
        assert page.status_code == 200
        done = second.post("/admin/logout", data={"csrf_token": _csrf(page.text)})
        assert done.status_code == 303
        first.cookies.clear()
        first.cookies.update(captured)  # the cookie copied before logging out, replayed
        replay = first.get("/admin/customers")
        assert replay.status_code == 303
        assert replay.headers["location"].startswith("/admin/login")
    finally:
        for client in clients:
            client.close()
