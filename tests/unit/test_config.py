"""Settings: clear errors for wrong values, placeholder secrets refused outside development."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from alerts.deps import AlertDeps
from herald.cli import app
from herald.config import Settings
from herald.runtime import Runtime


def test_defaults_are_the_embedded_setup(tmp_path: object) -> None:
    s = Settings(_env_file=None)
    assert s.twilio.simulated and s.twilio_api_base.startswith("http://127.0.0.1:")
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert s.redis_url is None and s.smtp.host is None


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="HERALD_API_TOKEN is a placeholder"):
        Settings(_env_file=None, environment="production")


def test_production_needs_real_twilio() -> None:
    with pytest.raises(ValidationError, match="HERALD_TWILIO__ACCOUNT_SID"):
        Settings(
            _env_file=None,
            environment="production",
            api_token="x" * 32,
            secret_key="y" * 32,
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("public_url", "herald.example.com", "must start with http"),
        ("redis_url", "localhost:6379", "redis://"),
        ("database_url", "mysql://x", "postgresql://"),
    ],
)
def test_wrong_values_say_what_to_do(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **{field: value})  # type: ignore[arg-type]


def test_env_nested_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_TWILIO__ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("HERALD_TWILIO__AUTH_TOKEN", "secret")
    monkeypatch.setenv("HERALD_CALLCENTRE__AVERAGE_HANDLE_SECONDS", "250.5")
    s = Settings(_env_file=None)
    assert not s.twilio.simulated and s.twilio_api_base == "https://api.twilio.com"
    assert s.callcentre.average_handle_seconds == 250.5


# A production set-up with nothing embedded: the baseline each test below breaks one part of.
PRODUCTION = {
    "HERALD_ENVIRONMENT": "production",
    "HERALD_API_TOKEN": "a" * 32,
    "HERALD_SECRET_KEY": "b" * 32,
    "HERALD_DATABASE_URL": "postgresql://herald:pw@db.internal:5432/herald",
    "HERALD_REDIS_URL": "redis://redis.internal:6379/0",
    "HERALD_SMTP__HOST": "smtp.internal",
    "HERALD_TWILIO__ACCOUNT_SID": "AC" + "1" * 32,
    "HERALD_TWILIO__AUTH_TOKEN": "twilio-token",
    "HERALD_PUBLIC_URL": "https://alerts.example.com",
}
# The setting to unset (or value to set) that brings back each embedded part, and its name.
EMBEDDED = [
    ("sqlite", "HERALD_DATABASE_URL", None, "SQLite"),
    ("sqlite", "HERALD_DATABASE_URL", "sqlite+aiosqlite:////var/herald.db", "SQLite"),
    ("embedded_redis", "HERALD_REDIS_URL", None, "private Redis"),
    ("smtp_sink", "HERALD_SMTP__HOST", None, "SMTP sink"),
    ("twilio_simulator", "HERALD_TWILIO__AUTH_TOKEN", None, "Twilio simulator"),
    ("loopback_public_url", "HERALD_PUBLIC_URL", "http://127.0.0.1:8000", "cannot reach"),
    ("loopback_public_url", "HERALD_PUBLIC_URL", "https://localhost", "cannot reach"),
    ("loopback_public_url", "HERALD_PUBLIC_URL", "http://[::1]:8000", "cannot reach"),
]


def production_env(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> None:
    """The environment holds PRODUCTION with ``changes`` (None unsets) and no other HERALD_."""
    for key in [k for k in os.environ if k.startswith("HERALD_")]:
        monkeypatch.delenv(key)
    for key, value in {**PRODUCTION, **changes}.items():
        if value is not None:
            monkeypatch.setenv(key, value)


def production(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> Settings:
    production_env(monkeypatch, **changes)
    return Settings(_env_file=None)


def test_production_without_anything_embedded_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    s = production(monkeypatch)
    assert s.environment == "production" and not s.production_allow


@pytest.mark.parametrize(("allow", "setting", "value", "words"), EMBEDDED)
def test_production_refuses_each_embedded_part_unless_allowed(
    monkeypatch: pytest.MonkeyPatch, allow: str, setting: str, value: str | None, words: str
) -> None:
    with pytest.raises(ValidationError) as info:
        production(monkeypatch, **{setting: value})
    message = str(info.value)
    assert words in message and f"add {allow} to HERALD_PRODUCTION_ALLOW" in message
    assert message.count("    - ") == 1  # that part and nothing else
    allowed = production(monkeypatch, **{setting: value, "HERALD_PRODUCTION_ALLOW": allow})
    assert allowed.production_allow == {allow}


def test_production_lists_every_problem_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded defaults with placeholder secrets: one error naming all seven problems."""
    for key in [k for k in os.environ if k.startswith("HERALD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HERALD_ENVIRONMENT", "production")
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)
    [error] = info.value.errors()
    lines = str(error["msg"]).splitlines()
    assert lines[0].endswith("HERALD_ENVIRONMENT=production refuses to start:")
    problems = [line.removeprefix("    - ") for line in lines[1:]]
    assert [p.split(" ", 1)[0] for p in problems] == [
        "HERALD_API_TOKEN",
        "HERALD_SECRET_KEY",
        "the",  # the database is SQLite
        "HERALD_REDIS_URL",
        "HERALD_SMTP__HOST",
        "no",  # no Twilio credentials
        "HERALD_PUBLIC_URL",
    ]


def test_production_allows_several_parts_but_never_placeholder_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pilot = production(
        monkeypatch,
        HERALD_DATABASE_URL=None,
        HERALD_REDIS_URL=None,
        HERALD_PRODUCTION_ALLOW=" sqlite, embedded_redis ",
    )
    assert pilot.production_allow == {"sqlite", "embedded_redis"}
    with pytest.raises(ValidationError, match="HERALD_API_TOKEN is a placeholder"):
        production(monkeypatch, HERALD_API_TOKEN="dev-api-token", HERALD_PRODUCTION_ALLOW="sqlite")
    with pytest.raises(ValidationError, match="unknown placeholder_secrets; allowed: sqlite"):
        production(monkeypatch, HERALD_PRODUCTION_ALLOW="placeholder_secrets")


def test_development_ignores_the_production_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    s = production(monkeypatch, HERALD_ENVIRONMENT="development", HERALD_API_TOKEN=None)
    assert s.environment == "development"


@pytest.mark.parametrize("command", ["serve", "worker", "up"])
def test_commands_print_the_production_problems_and_exit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file
    production_env(monkeypatch, HERALD_REDIS_URL=None, HERALD_SMTP__HOST=None)
    monkeypatch.setenv("HERALD_DATA_DIR", str(tmp_path / "data"))
    done = CliRunner().invoke(app, [command])
    assert done.exit_code == 2, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert "Traceback" not in done.output
    assert "HERALD_ENVIRONMENT=production refuses to start:" in done.output
    assert "add embedded_redis to HERALD_PRODUCTION_ALLOW" in done.output
    assert "add smtp_sink to HERALD_PRODUCTION_ALLOW" in done.output
    assert "sqlite" not in done.output  # only what is wrong
    assert not (tmp_path / "data").exists()  # nothing was started


def test_the_alert_services_get_brand_and_transaction_secret_only_from_configuration() -> None:
    """No default brand or signing secret in the alert domain: the runtime must hand them in."""
    fields = {f.name: f for f in dataclasses.fields(AlertDeps)}
    for name in ("brand", "transaction_secret"):
        assert fields[name].default is dataclasses.MISSING, name
        assert fields[name].default_factory is dataclasses.MISSING, name
    assert Settings(_env_file=None).brand == "Herald Bank"


async def test_the_runtime_wires_brand_and_transaction_secret(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"brand": "Acme Savings", "transaction_secret": SecretStr("t" * 32)}
    )
    runtime = await Runtime.start(configured)
    try:
        assert runtime.deps.brand == "Acme Savings"
        assert runtime.deps.transaction_secret == "t" * 32
    finally:
        await runtime.close()
    derived = await Runtime.start(settings)  # unset: derived from the secret key, never a constant
    try:
        assert derived.deps.transaction_secret == settings.transaction_signing_key
        assert settings.secret_key.get_secret_value() not in derived.deps.transaction_secret
    finally:
        await derived.close()


def test_brand_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_BRAND", "Acme Savings")
    assert Settings(_env_file=None).brand == "Acme Savings"
    with pytest.raises(ValidationError, match="brand"):
        Settings(_env_file=None, brand="")


def test_the_brand_colour_is_a_hex_colour_or_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_BRAND_COLOUR", " #0A7C3E ")
    assert Settings(_env_file=None).brand_colour == "#0a7c3e"
    for wrong in ("blue", "#0a7c3", "0a7c3e", "#0a7c3g"):
        monkeypatch.setenv("HERALD_BRAND_COLOUR", wrong)
        with pytest.raises(ValidationError, match="HERALD_BRAND_COLOUR must be a colour written"):
            Settings(_env_file=None)
