"""`herald doctor` against real parts: a configured set-up (database, Redis, an SMTP server,
the Twilio simulator over HTTP, the API at its public URL) is ready; each broken part is named
with what to do, and the command exits non-zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from herald.config import Settings
from herald.doctor import Finding, diagnose, failed
from herald.embedded import free_port
from herald.migrate import upgrade
from herald.runtime import Runtime
from tests.conftest import Stack

pytestmark = pytest.mark.integration
HERALD = str(Path(sys.executable).parent / "herald")


def configured(stack: Stack, **changes: object) -> Settings:
    """The stack's settings with SMTP and Twilio pointed at its real servers, plus ``changes``."""
    data = stack.settings.model_dump()
    data["smtp"].update(host="127.0.0.1", port=stack.settings.smtp.sink_port, starttls=False)
    data["twilio"].update(api_base=stack.sim.url)
    for key, value in changes.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    return Settings.model_validate(data)


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.check, []).append(f)
    return grouped


async def test_a_configured_set_up_is_ready(stack: Stack) -> None:
    findings = await diagnose(configured(stack))
    assert not failed(findings), [f for f in findings if f.level == "fail"]
    checks = by_check(findings)
    for name in ("database", "migrations", "redis", "smtp", "twilio", "public url"):
        assert any(f.level == "ok" for f in checks[name]), (name, checks.get(name))
    assert "accepts the credentials" in checks["twilio"][0].detail
    assert "answers" in checks["smtp"][0].detail


async def test_each_broken_part_is_named_with_its_fix(stack: Stack) -> None:
    dead = free_port()  # nothing listens here
    findings = await diagnose(
        configured(
            stack,
            redis_url=f"redis://127.0.0.1:{dead}/0",
            smtp={"port": dead},
            twilio={"auth_token": "wrong-token", "account_sid": stack.settings.twilio_account_sid},
            public_url=f"http://127.0.0.1:{dead}",
        )
    )
    assert failed(findings)
    broken = {f.check: f for f in findings if f.level == "fail"}
    assert set(broken) == {"redis", "smtp", "twilio", "public url"}, findings
    assert "HERALD_REDIS_URL" in broken["redis"].fix
    assert "HERALD_SMTP__HOST" in broken["smtp"].fix
    assert "refused the credentials" in broken["twilio"].detail
    assert "HERALD_TWILIO__AUTH_TOKEN" in broken["twilio"].fix
    assert "herald serve" in broken["public url"].fix


async def test_a_database_behind_the_code_says_run_migrate(settings: Settings) -> None:
    rt = await Runtime.start(settings)
    try:
        await upgrade(rt.engine, "0001")
    finally:
        await rt.close()
    broken = {f.check: f for f in await diagnose(settings) if f.level == "fail"}
    assert "migrations" in broken
    assert "at schema 0001" in broken["migrations"].detail
    assert "herald migrate" in broken["migrations"].fix


def test_the_command_exits_non_zero_and_says_what_to_do(tmp_path: Path) -> None:
    dead = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HERALD_DATA_DIR": str(tmp_path / "data"),
        "HERALD_DATABASE_URL": f"postgresql://herald:pw-s3cr3t-x@127.0.0.1:{dead}/herald",
        "HERALD_REDIS_URL": f"redis://127.0.0.1:{dead}/0",
        "HERALD_PUBLIC_URL": f"http://127.0.0.1:{dead}",
    }
    done = subprocess.run(
        [HERALD, "doctor"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL database" in out and "HERALD_DATABASE_URL" in out
    assert "pw-s3cr3t-x" not in out  # the password is not printed
    assert "FAIL redis" in out and "not ready" in out
    assert "Traceback" not in out + done.stderr
