"""Settings: the only module that reads the environment (HERALD_ prefix, nested with `__`)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = {"change-me", "dev-api-token", "dev-secret-key", ""}
# The development conveniences production refuses unless HERALD_PRODUCTION_ALLOW names them.
PRODUCTION_EXCEPTIONS = (
    "sqlite",
    "embedded_redis",
    "smtp_sink",
    "twilio_simulator",
    "loopback_public_url",
)


class TwilioSettings(BaseModel):
    """Twilio credentials; with none set, Herald talks to its own Twilio simulator."""

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    # Our caller id / SMS sender, E.164.
    from_number: str = "+15005550006"
    # Where the twilio library sends REST calls. Unset = api.twilio.com with real credentials,
    # or the embedded simulator without them.
    api_base: str | None = None
    simulator_port: int = 8765
    simulator_scenario: Path | None = None
    # How long one REST request may take before it counts as a timeout (an ambiguous error:
    # the provider may have accepted it, so it is looked up before any retry).
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # Provider rate limits, shared by every worker in Redis (docs/pacing.md); 0 = no limit.
    # Unset: Twilio's own defaults with real credentials (1 segment/s per sender number, 1 call
    # per second per account, no account-wide message limit), none against the simulator.
    messages_per_second: float | None = Field(default=None, ge=0)  # per account, in segments
    sender_messages_per_second: float | None = Field(default=None, ge=0)  # per from-number
    calls_per_second: float | None = Field(default=None, ge=0)  # per account (CPS)
    # How many sends may go at once above the steady rate (1: strictly spaced).
    rate_burst: int = Field(default=1, ge=1, le=1000)

    @property
    def simulated(self) -> bool:
        return not (self.account_sid and self.auth_token)

    def rate(self, name: str) -> float:
        """A rate limit as configured, or the provider's default when unset (0: none)."""
        value: float | None = getattr(self, name)
        if value is not None:
            return value
        if self.simulated:
            return 0.0
        return {"sender_messages_per_second": 1.0, "calls_per_second": 1.0}.get(name, 0.0)


class SmtpSettings(BaseModel):
    """SMTP relay; with no host set, Herald delivers to a local SMTP sink it runs itself."""

    host: str | None = None
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    from_address: str = "Herald Alerts <alerts@herald.example>"
    sink_port: int = 8025
    timeout_seconds: float = 20.0
    # Bounces: the envelope sender is bounce+a<attempt>@<bounce_domain>; point that domain's MX at
    # Herald's bounce receiver (`herald up` runs it on bounce_port).
    bounce_domain: str = "bounces.herald.invalid"
    bounce_port: int = 8026
    # The relay's rate limit, shared by every worker (docs/pacing.md); 0 = no limit.
    messages_per_second: float = Field(default=0.0, ge=0)


class TtsVoice(BaseModel):
    voice: str = Field(min_length=1, max_length=60)  # e.g. "Polly.Lotte", "Google.nl-NL-Wavenet-A"
    language: str = Field(min_length=2, max_length=20)  # e.g. "nl-NL"


class CallCentreSettings(BaseModel):
    """Where live transfers go."""

    name: str = "Customer Care"
    phone_number: str = "+15550009999"
    # Live transfer: "dial" the phone number (the agent hears a whisper first), or "enqueue"
    # into a Twilio queue that agents' phones dequeue from (/webhooks/twilio/voice/agent).
    transfer: Literal["dial", "enqueue"] = "dial"
    queue_name: str = Field(default="herald", min_length=1, max_length=64)
    # Pacing of voice alerts that offer an agent (README, "Pacing").
    pacing: bool = True
    average_handle_seconds: float = Field(default=300.0, gt=0)
    target_answer_seconds: float = Field(default=20.0, ge=0)
    service_level: float = Field(default=0.8, gt=0, lt=1)
    calls_per_second: float = Field(default=1.0, gt=0)  # the Twilio account's outbound limit


class MetricsSettings(BaseModel):
    """Who may read /metrics, and where each worker serves its own (docs/operations.md)."""

    # Scrapers send `Authorization: Bearer <token>`; unset: only loopback clients may scrape.
    token: SecretStr | None = None
    # Each `herald worker` process serves its own /metrics on this port; unset: none.
    worker_port: int | None = Field(default=None, ge=1, le=65535)
    worker_host: str = "127.0.0.1"


class Settings(BaseSettings):
    """All of Herald's configuration. `.env.example` lists every setting with its safe default."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    # Production refuses the embedded set-up; this names the parts to accept anyway, comma-separated
    # (sqlite, embedded_redis, smtp_sink, twilio_simulator, loopback_public_url). Secrets: never.
    production_allow: Annotated[frozenset[str], NoDecode] = frozenset()
    data_dir: Path = Path(".herald")
    database_url: str | None = None
    redis_url: str | None = None
    # The URL Twilio and customers reach Herald at; webhook signatures are checked against it.
    public_url: str = "http://127.0.0.1:8000"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The shared API token (deprecated: staff create personal tokens in the admin UI); an empty
    # value switches it off. A call with it acts as the pseudo-user "shared-token" (admin role).
    api_token: SecretStr = SecretStr("dev-api-token")
    secret_key: SecretStr = SecretStr("dev-secret-key")
    # Signs requests to transaction endpoints (X-Herald-Signature); give it to the endpoint's
    # owners. Unset: a key derived from HERALD_SECRET_KEY (`herald signing-key` prints it); the
    # secret key itself is never shared (it signs sessions and customers' links).
    transaction_secret: SecretStr | None = None
    # The name customers know the sender by: in every message, page and voice prompt.
    brand: str = Field(default="Herald Bank", min_length=1, max_length=60)
    # The brand's colour (HERALD_BRAND_COLOUR, #rrggbb): the band with the brand's name at the
    # top of every email; its text is white or dark, whichever reads better on it.
    brand_colour: str = "#16324f"
    # The studio's four-eyes rule: whoever edited an alert type's draft cannot publish it.
    four_eyes: bool = False
    sweep_interval_seconds: int = 30
    # An attempt with the provider (sent, ringing) this long without news is looked up there
    # (docs/convergence.md); fault-injection runs shorten it to settle sooner.
    sweep_stuck_after_seconds: int = Field(default=180, ge=5, le=24 * 3600)
    # A folder of extra mapping files (declarative adapters for bespoke feeds), loaded at start.
    mappings_dir: Path | None = None
    log_level: str = "INFO"
    # "json": one JSON object per line (for a log collector), ids as fields, contacts masked.
    log_format: Literal["text", "json"] = "text"
    # At most this many ingests (upload + parse) run at once per API process; beyond, 429.
    max_concurrent_ingests: int = Field(default=2, ge=1, le=64)
    # An admin session ends after this many minutes without a request.
    admin_session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Login throttling (docs/security.md): failed logins allowed per username and per client
    # address in a window of login_window_minutes, counted in Redis across API processes.
    login_user_limit: int = Field(default=10, ge=1, le=1000)
    login_address_limit: int = Field(default=30, ge=1, le=10_000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)

    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    # A second Twilio account (or sub-account / region) to fail over to; unset = none.
    twilio_fallback: TwilioSettings | None = None
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    callcentre: CallCentreSettings = Field(default_factory=CallCentreSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    # An SMS reply counts as an answer to the newest open alert texted to that number within
    # this many hours; later or unmatched replies become a task for an agent.
    sms_reply_window_hours: int = Field(default=72, ge=1, le=24 * 30)
    # Provider webhooks one API process handles at once; the next is answered 503 with
    # Retry-After at once (load shedding, docs/throughput.md "Webhooks"). 0: no limit.
    webhook_max_in_flight: int = Field(default=32, ge=0, le=10_000)
    # Text-to-speech voices by locale, over the built-in ones (en, nl, fr, de, es), e.g.
    # HERALD_VOICES='{"nl": {"voice": "Polly.Ruben", "language": "nl-NL"}}'
    voices: dict[str, TtsVoice] = Field(default_factory=dict)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "must start with http:// or https:// (e.g. https://herald.example.com)"
            )
        return value.rstrip("/")

    @field_validator("brand_colour")
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
            raise ValueError(
                f"HERALD_BRAND_COLOUR must be a colour written #rrggbb (six hex digits, like "
                f"#16324f), not {value!r}"
            )
        return value.strip().lower()

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be redis://host:port/db, rediss://… or unix:///path/redis.sock")
        return value

    @field_validator("database_url")
    @classmethod
    def _db_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("production_allow", mode="before")
    @classmethod
    def _known_exceptions(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {part.strip() for part in value.split(",") if part.strip()}
        unknown = sorted(set(value) - set(PRODUCTION_EXCEPTIONS))
        if unknown:
            raise ValueError(
                f"unknown {', '.join(unknown)}; allowed: {', '.join(PRODUCTION_EXCEPTIONS)} "
                "(placeholder secrets are never allowed)"
            )
        return frozenset(value)

    @model_validator(mode="after")
    def _enforce_production_setup(self) -> Settings:
        """In production: real secrets, and none of the embedded set-up unless allowed. Every
        problem is listed in one message, so one edit of the configuration fixes them all."""
        if self.environment == "development":
            return self
        problems = [
            f"HERALD_{name.upper()} is a placeholder or shorter than 16 characters: set a long "
            "random value (e.g. `openssl rand -hex 32`)"
            for name in ("api_token", "secret_key")
            if (name == "secret_key" or getattr(self, name).get_secret_value())  # "": no token
            and (
                getattr(self, name).get_secret_value() in PLACEHOLDER_SECRETS
                or len(getattr(self, name).get_secret_value()) < 16
            )
        ]
        for exception, wrong, fix in self._embedded_parts():
            if wrong and exception not in self.production_allow:
                problems.append(f"{fix} (or add {exception} to HERALD_PRODUCTION_ALLOW)")
        if problems:
            raise ValueError(
                "HERALD_ENVIRONMENT=production refuses to start:\n"
                + "\n".join(f"    - {problem}" for problem in problems)
            )
        return self

    def _embedded_parts(self) -> list[tuple[str, bool, str]]:
        """(exception name, in use?, what to set instead) for each development convenience."""
        host = urlsplit(self.public_url).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host.endswith(".localhost")
        database = self.database_url or ""
        return [
            (
                "sqlite",
                not database or database.startswith("sqlite"),
                "the database is SQLite (one machine only): set HERALD_DATABASE_URL to "
                "postgresql://user:password@host:5432/herald",
            ),
            (
                "embedded_redis",
                not self.redis_url,
                "HERALD_REDIS_URL is unset, so each process would start its own private Redis: "
                "set it to the Redis every API and worker process shares (redis://host:6379/0)",
            ),
            (
                "smtp_sink",
                not self.smtp.host,
                "HERALD_SMTP__HOST is unset, so email would go to the local SMTP sink, not to "
                "customers: set it (and __USERNAME, __PASSWORD, __FROM_ADDRESS) to your relay",
            ),
            (
                "twilio_simulator",
                self.twilio.simulated,
                "no Twilio credentials, so calls and texts would go to the Twilio simulator: set "
                "HERALD_TWILIO__ACCOUNT_SID and HERALD_TWILIO__AUTH_TOKEN",
            ),
            (
                "loopback_public_url",
                loopback,
                f"HERALD_PUBLIC_URL is {self.public_url}, which Twilio and customers cannot "
                "reach: set the https URL Herald is reached at",
            ),
        ]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'herald.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        """Where received files are kept (by SHA-256) so quarantined records can be re-read."""
        return (self.data_dir / "files").resolve()

    @property
    def redis_socket(self) -> Path:
        return (self.data_dir / "redis" / "redis.sock").resolve()

    @property
    def twilio_api_base(self) -> str:
        if self.twilio.api_base:
            return self.twilio.api_base.rstrip("/")
        if self.twilio.simulated:
            return f"http://127.0.0.1:{self.twilio.simulator_port}"
        return "https://api.twilio.com"

    @property
    def twilio_account_sid(self) -> str:
        return self.twilio.account_sid or "AC" + "0" * 32

    @property
    def transaction_signing_key(self) -> str:
        if self.transaction_secret is not None:
            return self.transaction_secret.get_secret_value()
        master = self.secret_key.get_secret_value().encode()
        return hmac.new(master, b"herald transaction endpoints", hashlib.sha256).hexdigest()

    @property
    def twilio_auth_token(self) -> str:
        token = self.twilio.auth_token
        return token.get_secret_value() if token else "simulator-auth-token"


@lru_cache
def get_settings() -> Settings:
    return Settings()
