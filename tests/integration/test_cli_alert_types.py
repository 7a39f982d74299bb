"""`herald alert-types list` and `check`: the languages of each alert type and the
translations it lacks, run as a user runs them (a real process on the test's database)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.alert_types.store import get_spec, load_specs, save_spec
from herald.config import Settings
from herald.runtime import Runtime
from tests.integration.test_cli import herald

pytestmark = pytest.mark.integration


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hcat-", dir="/tmp"))  # short: it holds a unix socket
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_check_reports_each_missing_translation_per_channel(
    runtime: Runtime, settings: Settings, short_dir: Path
) -> None:
    env = {
        "HERALD_DATABASE_URL": str(settings.database_url),
        "HERALD_REDIS_URL": str(settings.redis_url),
    }
    async with runtime.deps.sessions() as session:
        await load_specs(session)  # the seeded catalogue: all five languages
    complete = herald(short_dir, "alert-types", "check", env=env)
    assert complete.returncode == 0, complete.stdout + complete.stderr
    assert "large_debit: every language complete" in complete.stdout

    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, "low_balance")
        assert spec is not None
        data: dict[str, Any] = json.loads(json.dumps(spec.as_json()))
        del data["content"]["es"]["sms"]
        data["content"]["de"]["email"] = {"subject": "Niedriger Kontostand", "text": "Guten Tag"}
        await save_spec(session, data, actor="test")
        await session.commit()

    report = herald(short_dir, "alert-types", "check", env=env)
    assert report.returncode == 1
    assert "low_balance: es sms: no content (customers get en)" in report.stdout
    assert "low_balance: de email" not in report.stdout  # both templates are there
    assert "large_debit: every language complete" in report.stdout
    data_out = json.loads(herald(short_dir, "alert-types", "check", "--json", env=env).stdout)
    assert data_out["low_balance"] == [{"language": "es", "channel": "sms", "templates": ["body"]}]
    listed = herald(short_dir, "alert-types", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "large_debit: voice, sms, email; languages de, en, es, fr, nl (default en)" in (
        listed.stdout
    )
