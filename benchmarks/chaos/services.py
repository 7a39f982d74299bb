"""The processes a fault-injection run starts, each restartable: a private PostgreSQL cluster
(as the ``postgres`` user, like .ci/start-postgres.sh), a redis-server with AOF on a free TCP
port, ``herald`` commands (serve, worker, simulate) as real subprocesses, the SMTP sink, and a
round-robin TCP proxy in front of the two APIs (the one public URL webhooks are signed for)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_sync

from herald.embedded import free_port


class InfrastructureMissing(RuntimeError):
    """A binary the run needs is not installed; the message says which and how to get it."""


def _wait_port(port: int, timeout: float, alive: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in ``base`` on a free port, restartable."""

    def __init__(self, base: Path) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts)
        if not found:
            raise InfrastructureMissing(
                "PostgreSQL server binaries not found (apt-get install -y postgresql)"
            )
        self.bindir = found[-1].parent
        self.data = base / "pg"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            if self.as_root:
                shutil.chown(self.data.parent, "postgres", "postgres")
                shutil.chown(self.data, "postgres", "postgres")
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.data} -c fsync=off -c max_connections=200"
        )
        log = str(self.data / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


class OwnRedis:
    """redis-server on a free TCP port with an append-only file, stoppable and restartable on
    the same port and data (what a Redis restart in production does)."""

    def __init__(self, base: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise InfrastructureMissing("redis-server not found (apt-get install -y redis-server)")
        self.binary = binary
        self.dir = base / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
        with (self.dir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = redis_sync.Redis(port=self.port, socket_timeout=0.5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(redis_sync.RedisError):
                if client.ping():
                    client.close()
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits (as `redis-cli shutdown`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@dataclass
class HeraldProcess:
    """One `herald ...` command as its own process, its output in ``log``."""

    name: str
    args: list[str]
    env: dict[str, str]
    cwd: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killed_on_purpose: int = 0

    @property
    def log(self) -> Path:
        return self.cwd / f"{self.name}.log"

    def start(self, wait: float = 90) -> None:
        script = "import sys; from herald.cli import main; sys.argv[0] = 'herald'; main()"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", script, *self.args],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        if self.port is not None and not _wait_port(self.port, wait, self.process):
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} did not listen on {self.port}:\n{tail}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        assert self.process is not None
        self.killed_on_purpose += 1
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@dataclass
class RoundRobinProxy:
    """A TCP proxy on a free port: each connection goes to the next backend that accepts it
    (nginx's round robin in the compose stack), in a thread of its own."""

    backends: list[int]
    port: int = field(default_factory=free_port)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> RoundRobinProxy:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            ready.set()
            async with server:
                await server.serve_forever()

        def run() -> None:
            assert self._loop is not None
            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(serve())

        self._next = itertools.cycle(range(len(self.backends)))
        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = None
        for _ in self.backends:
            port = self.backends[next(self._next)]
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection("127.0.0.1", port)
                break
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError, ConnectionError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        if self._loop is not None:
            loop = self._loop
            for task in asyncio.all_tasks(loop):
                loop.call_soon_threadsafe(task.cancel)
            if self._thread is not None:
                self._thread.join(5)
            if not loop.is_running():
                # Closed here: a loop left to the garbage collector warns (ResourceWarning for
                # it and its self-pipe), which would fail whichever test is running then.
                loop.close()
            self._loop = None
