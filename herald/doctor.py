"""`herald doctor`: the settings and every dependency checked from here, each with what to do.

One line per check (database, schema, Redis, SMTP, Twilio or its simulator, the public URL),
``ok``, ``warn`` (works, but not as production should) or ``fail`` (Herald cannot work so);
the exit code is 1 when any check fails. Nothing is sent, nothing is changed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiosmtplib
import httpx
import redis.asyncio as aioredis
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url

from herald.config import PLACEHOLDER_SECRETS, Settings
from herald.db import make_engine
from herald.embedded import EmbeddedServiceError, redis_binary
from herald.migrate import current_revision, head_revision

TIMEOUT_S = 10.0  # per dependency; a person waits for the answer
Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    level: Level
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def check_settings(settings: Settings) -> list[Finding]:
    """What the settings say, before anything is reached: secrets and embedded parts."""
    found: list[Finding] = [Finding("settings", "ok", f"environment {settings.environment}")]
    if settings.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
        found.append(
            Finding(
                "secret key",
                "warn",
                "HERALD_SECRET_KEY is the development placeholder: anyone can forge sessions "
                "and customers' links",
                "set HERALD_SECRET_KEY to a long random value (`openssl rand -hex 32`)",
            )
        )
    for name, in_use, fix in settings._embedded_parts():
        if in_use:
            found.append(Finding("settings", "warn", EMBEDDED_WORDS[name], fix))
    return found


# What each development convenience means, in a few words (the fix says what to set).
EMBEDDED_WORDS = {
    "sqlite": "the database is an SQLite file: one machine only",
    "embedded_redis": "no shared Redis: each process starts its own",
    "smtp_sink": "email goes to the local SMTP sink, not to customers",
    "twilio_simulator": "calls and texts go to the Twilio simulator, not to phones",
    "loopback_public_url": "the public URL is a loopback address Twilio cannot reach",
}


def _why(exc: BaseException) -> str:
    """The driver's own words (SQLAlchemy wraps them with a link to its docs)."""
    inner = getattr(exc, "orig", None) or exc
    return f"{type(inner).__name__}: {inner}".splitlines()[0][:300]


async def check_database(settings: Settings) -> list[Finding]:
    url = settings.resolved_database_url
    if settings.database_url is None and not (settings.data_dir / "herald.db").exists():
        return [
            Finding(
                "database",
                "ok",
                f"embedded SQLite at {settings.data_dir / 'herald.db'}, created and migrated "
                "on the first start",
            )
        ]
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current, head = await current_revision(engine), head_revision()
    except Exception as exc:
        return [
            Finding(
                "database",
                "fail",
                f"cannot use {_redacted(url)}: {_why(exc)}",
                "check HERALD_DATABASE_URL (host, port, user, password, database name) and "
                "that the database server is running and reachable from here",
            )
        ]
    finally:
        await engine.dispose()
    found = [Finding("database", "ok", f"{_redacted(url)} reachable")]
    if current != head and settings.database_url is None:
        found.append(
            Finding(
                "migrations",
                "ok",
                f"the embedded database is at {current or 'none'}: migrated to {head} on start",
            )
        )
    elif current != head:
        found.append(
            Finding(
                "migrations",
                "fail",
                f"the database is at schema {current or 'none'}, this Herald needs {head}",
                "run `herald migrate` once (before starting the API and workers)",
            )
        )
    else:
        found.append(Finding("migrations", "ok", f"schema at head ({head})"))
    return found


async def check_redis(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        try:
            binary = redis_binary()
        except EmbeddedServiceError as exc:
            return [Finding("redis", "fail", "no HERALD_REDIS_URL and no Redis to embed", str(exc))]
        return [Finding("redis", "ok", f"embedded: Herald starts {binary} under its data dir")]
    client = aioredis.Redis.from_url(
        settings.redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )
    try:
        await client.ping()
        info = await client.info("persistence")
    except Exception as exc:
        return [
            Finding(
                "redis",
                "fail",
                f"cannot reach {_redacted(settings.redis_url)}: {_why(exc)}",
                "check HERALD_REDIS_URL and that Redis is running and reachable from here",
            )
        ]
    finally:
        await client.aclose()
    found = [Finding("redis", "ok", f"{_redacted(settings.redis_url)} reachable")]
    if not int(info.get("aof_enabled", 0)):
        found.append(
            Finding(
                "redis",
                "warn",
                "Redis runs without AOF persistence: a restart loses the queued jobs (the sweep "
                "re-enqueues them, later)",
                "start redis-server with --appendonly yes",
            )
        )
    return found


async def check_smtp(settings: Settings) -> list[Finding]:
    smtp = settings.smtp
    if not smtp.host:
        return [Finding("smtp", "ok", f"the local SMTP sink (port {smtp.sink_port}): no real mail")]
    client = aiosmtplib.SMTP(
        hostname=smtp.host, port=smtp.port, timeout=TIMEOUT_S, start_tls=False, use_tls=False
    )
    where = f"{smtp.host}:{smtp.port}"
    try:
        await client.connect()
        if smtp.starttls:
            await client.starttls(tls_context=ssl.create_default_context())
        if smtp.username:
            password = smtp.password.get_secret_value() if smtp.password else ""
            await client.login(smtp.username, password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return [
            Finding(
                "smtp",
                "fail",
                f"{where} refused the login of {smtp.username}: {exc}",
                "check HERALD_SMTP__USERNAME and HERALD_SMTP__PASSWORD",
            )
        ]
    except Exception as exc:
        return [
            Finding(
                "smtp",
                "fail",
                f"cannot talk to {where}: {_why(exc)}",
                "check HERALD_SMTP__HOST, __PORT and __STARTTLS (587 with STARTTLS is usual)",
            )
        ]
    finally:
        if client.is_connected:
            client.close()
    return [
        Finding("smtp", "ok", f"{where} answers" + (", login accepted" if smtp.username else ""))
    ]


async def check_twilio(settings: Settings, client: httpx.AsyncClient) -> list[Finding]:
    base = settings.twilio_api_base
    if settings.twilio.simulated and not settings.twilio.api_base:
        return [
            Finding(
                "twilio",
                "ok",
                f"no credentials: the Twilio simulator `herald up` starts at {base}; nothing "
                "is sent to a phone",
            )
        ]
    # Listing one call reads nothing personal and proves the credentials (simulator or Twilio).
    calls = f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/Calls.json"
    try:
        resp = await client.get(
            calls,
            params={"PageSize": "1"},
            auth=(settings.twilio_account_sid, settings.twilio_auth_token),
        )
    except httpx.HTTPError as exc:
        return [
            Finding(
                "twilio",
                "fail",
                f"cannot reach {base}: {type(exc).__name__}: {exc}",
                "check HERALD_TWILIO__API_BASE (unset for api.twilio.com), or start the "
                "simulator (`herald simulate`)",
            )
        ]
    if resp.status_code in (401, 403):
        return [
            Finding(
                "twilio",
                "fail",
                f"{base} refused the credentials (HTTP {resp.status_code})",
                "check HERALD_TWILIO__ACCOUNT_SID and HERALD_TWILIO__AUTH_TOKEN",
            )
        ]
    what = "the simulator" if settings.twilio.simulated else "Twilio"
    if resp.status_code != 200:
        return [
            Finding(
                "twilio",
                "fail",
                f"{base} answered HTTP {resp.status_code} to a list of calls, not Twilio's API",
                "check HERALD_TWILIO__API_BASE (unset for api.twilio.com)",
            )
        ]
    return [Finding("twilio", "ok", f"{what} at {base} accepts the credentials")]


async def check_public_url(settings: Settings, client: httpx.AsyncClient) -> list[Finding]:
    url = f"{settings.public_url}/healthz"
    try:
        resp = await client.get(url)
    except httpx.HTTPError as exc:
        return [
            Finding(
                "public url",
                "fail",
                f"{url} does not answer: {type(exc).__name__}: {exc}",
                "start the API (`herald serve`) and check HERALD_PUBLIC_URL is the address "
                "Twilio and customers reach it at (proxy, DNS, firewall)",
            )
        ]
    if resp.status_code != 200:
        return [
            Finding(
                "public url",
                "fail",
                f"{url} answered HTTP {resp.status_code}, not Herald's health check",
                "point HERALD_PUBLIC_URL (and the proxy in front) at Herald's API",
            )
        ]
    host = urlsplit(settings.public_url).hostname
    return [Finding("public url", "ok", f"{url} answers (host {host})")]


async def _guarded(name: str, work: Awaitable[list[Finding]]) -> list[Finding]:
    try:
        return await asyncio.wait_for(work, timeout=TIMEOUT_S * 3)
    except TimeoutError:
        return [Finding(name, "fail", f"no answer within {TIMEOUT_S * 3:g}s", "check the network")]


async def diagnose(settings: Settings) -> list[Finding]:
    """Every check, in a stable order (they run together)."""
    async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
        groups = await asyncio.gather(
            _guarded("database", check_database(settings)),
            _guarded("redis", check_redis(settings)),
            _guarded("smtp", check_smtp(settings)),
            _guarded("twilio", check_twilio(settings, client)),
            _guarded("public url", check_public_url(settings, client)),
        )
    return check_settings(settings) + [f for group in groups for f in group]


def failed(findings: list[Finding]) -> bool:
    return any(f.level == "fail" for f in findings)


MARKS = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


def print_findings(console: Console, findings: list[Finding]) -> None:
    for f in findings:
        console.print(f"{MARKS[f.level]} {f.check:<11} {f.detail}", markup=True, highlight=False)
        if f.fix and f.level != "ok":
            console.print(f"     {'':<11} [dim]fix:[/] {f.fix}", highlight=False)
    failures = sum(f.level == "fail" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    verdict = "[bold red]not ready[/]" if failures else "[green]ready[/]"
    console.print(f"{verdict}: {failures} failed, {warnings} warning(s)", highlight=False)
