"""Settings: clear errors for wrong values, placeholder secrets refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from herald.config import Settings


def test_defaults_are_the_embedded_setup(tmp_path: object) -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.twilio.simulated and s.twilio_api_base.startswith("http://127.0.0.1:")
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert s.redis_url is None and s.smtp.host is None


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="HERALD_API_TOKEN is a placeholder"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]


def test_production_needs_real_twilio() -> None:
    with pytest.raises(ValidationError, match="HERALD_TWILIO__ACCOUNT_SID"):
        Settings(
            _env_file=None,
            environment="production",
            api_token="x" * 32,  # type: ignore[call-arg]
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
        Settings(_env_file=None, **{field: value})  # type: ignore[call-arg, arg-type]


def test_env_nested_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_TWILIO__ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("HERALD_TWILIO__AUTH_TOKEN", "secret")
    monkeypatch.setenv("HERALD_CALLCENTRE__AVERAGE_HANDLE_SECONDS", "250.5")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not s.twilio.simulated and s.twilio_api_base == "https://api.twilio.com"
    assert s.callcentre.average_handle_seconds == 250.5
