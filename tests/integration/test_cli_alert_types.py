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


async def _english_only(runtime: Runtime, key: str, **changes: Any) -> int:
    """Store ``key`` as an installation seeded when the catalogue was English only."""
    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, key)
        assert spec is not None
        data: dict[str, Any] = json.loads(json.dumps(spec.as_json()))
        data["content"] = {"en": data["content"]["en"], **changes.get("content", {})}
        for option in data["options"]:
            option["labels"] = {}
            option.pop("english_offer", None)
        for by_channel in data["content"].values():
            by_channel.get("voice", {}).pop("english_offer", None)
        for position, label in changes.get("labels", {}).items():
            data["options"][position]["label"] = label
        saved = await save_spec(session, data, actor="test")
        await session.commit()
        return saved.version


async def test_add_languages_fills_what_the_seed_has_and_keeps_the_administrators_words(
    runtime: Runtime, settings: Settings, short_dir: Path
) -> None:
    from alerts.alert_types.store import versions

    env = {
        "HERALD_DATABASE_URL": str(settings.database_url),
        "HERALD_REDIS_URL": str(settings.redis_url),
    }
    async with runtime.deps.sessions() as session:
        await load_specs(session)  # seeded: all five languages
    own_fr = {"sms": {"body": "Alerte {{ brand }} : paiement de {{ money }}."}}
    debit = await _english_only(runtime, "large_debit", content={"fr": own_fr})
    low = await _english_only(runtime, "low_balance", labels={0: "Our own first answer"})

    dry = herald(short_dir, "alert-types", "add-languages", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "large_debit: would add languages de, es, nl; labels of answer 1 in " in dry.stdout
    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None and spec.version == debit and set(spec.content) == {"en", "fr"}

    done = herald(short_dir, "alert-types", "add-languages", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "large_debit: added languages de, es, nl" in done.stdout
    async with runtime.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None and spec.version == debit + 1
        assert set(spec.content) == {"en", "fr", "de", "es", "nl"}
        assert spec.content["fr"] == own_fr  # the administrator's French, untouched
        assert set(spec.options[0].labels) == {"nl", "fr", "de", "es"}
        [last, *_older] = sorted(await versions(session, "large_debit"), key=lambda v: -v.version)
        assert last.version == debit + 1
        assert last.note.startswith("herald alert-types add-languages: added languages de, es, nl")
        assert last.changed_by == "herald alert-types add-languages"
        low_spec = await get_spec(session, "low_balance")
        assert low_spec is not None and low_spec.version == low + 1
        assert low_spec.options[0].label == "Our own first answer"
        assert low_spec.options[0].labels == {}  # not the seed's answer any more: no labels
    assert "low_balance: skipped: answer" in done.stdout

    again = herald(short_dir, "alert-types", "add-languages", env=env)
    assert again.returncode == 0
    assert "large_debit: nothing to add" in again.stdout
