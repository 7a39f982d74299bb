"""Twilio simulator HTTP server: the FastAPI app factory and an in-loop uvicorn runner."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from channels.twilio_sim import api, control
from channels.twilio_sim.scenario import SimulatorConfig
from channels.twilio_sim.simulation import Simulator
from channels.twilio_sim.state import API_VERSION, SimState

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT = 10.0


class ServerStartError(RuntimeError):
    """A loopback server could not start; the message says which address and why."""

    def __init__(self, message: str, *, port_taken: bool = False) -> None:
        super().__init__(message)
        self.port_taken = port_taken


def _port_taken(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def create_app(config: SimulatorConfig) -> FastAPI:
    """The simulator as an ASGI app; `app.state.simulator` holds its live state."""
    simulator = Simulator(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await simulator.aclose()

    app = FastAPI(
        title="Herald Twilio simulator",
        description="Twilio's 2010-04-01 Calls and Messages API, simulated (plus /_sim control).",
        lifespan=lifespan,
    )
    app.state.simulator = simulator

    async def twilio_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, api.TwilioApiError)
        return api.error_response(error)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if request.url.path.startswith(f"/{API_VERSION}/"):
            code = 20404 if error.status_code == 404 else 20001
            message = f"The requested resource {request.url.path} was not found"
            message = message if error.status_code == 404 else str(error.detail)
            return api.error_response(api.TwilioApiError(error.status_code, code, message))
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    async def invalid_request(_request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return JSONResponse({"detail": error.errors()}, status_code=422)

    app.add_exception_handler(api.TwilioApiError, twilio_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.include_router(api.router)
    app.include_router(control.router)
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handling: the host event loop owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn ends a failed start-up (a port taken, a lifespan error) with sys.exit(), which
        # would escape the host's event loop as a traceback; here it ends only this task.
        try:
            await super().serve(sockets)
        except SystemExit as exc:
            raise ServerStartError(f"uvicorn exited with status {exc.code}") from None


class LoopbackServer:
    """Runs any ASGI app with uvicorn as a task in the current event loop, on loopback.

    `port=0` picks a free port; `.url` reports the real one once started.
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the simulator only listens on loopback, not {host}")
        self.app = app
        self.host = host
        self.port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve())
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:
                if self._task.done():
                    cause = None if self._task.cancelled() else self._task.exception()
                    self._server = self._task = None
                    raise self._start_error(cause)
                await asyncio.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]

    def _start_error(self, cause: BaseException | None) -> ServerStartError:
        """uvicorn ends start-up with SystemExit (its reason only in its log): name the usual
        reason, a port another program holds, when that is what happened."""
        where = f"{self.host}:{self.port}"
        if self.port and _port_taken(self.host, self.port):
            return ServerStartError(
                f"port {self.port} on {self.host} is already in use", port_taken=True
            )
        detail = f" ({cause})" if cause is not None and str(cause) else ""
        return ServerStartError(f"the server on {where} could not start{detail}; see the log above")

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await task
        except ServerStartError as exc:  # e.g. a lifespan that failed after start-up began
            logger.warning("the server on %s:%s stopped: %s", self.host, self.port, exc)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class SimulatorServer(LoopbackServer):
    """The Twilio simulator on loopback: `async with SimulatorServer(config) as sim: sim.url`."""

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        app = create_app(config)
        super().__init__(app, host=host, port=port)
        self.simulator: Simulator = app.state.simulator

    @property
    def state(self) -> SimState:
        return self.simulator.state

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every call and message simulation has finished (TimeoutError if not)."""
        await self.simulator.wait_idle(timeout)

    async def stop(self) -> None:
        await self.simulator.aclose()
        await super().stop()


async def serve(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the simulator until cancelled (what `herald simulate` runs)."""
    async with SimulatorServer(config, host=host, port=port) as server:
        logger.info("Twilio simulator listening on %s", server.url)
        await asyncio.Event().wait()
