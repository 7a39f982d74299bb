"""Server-sent events for the live pages (agent console, supervisor board): one named event
carrying a rendered HTML fragment, the streaming response that carries them, and the polling
loop that sends the fragment again whenever what it shows changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

from fastapi import Request
from fastapi.responses import StreamingResponse

STREAM_SECONDS = 55.0  # one stream's life; the browser reconnects at once (proxies, sessions)
POLL_SECONDS = 1.0


class Signed(Protocol):
    def signature(self) -> tuple[object, ...]: ...


S = TypeVar("S", bound=Signed)


def sse_event(name: str, html: str) -> str:
    """One event: its name, then each line of ``html`` as a data line (SSE framing)."""
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    """The stream, never cached and never buffered by a proxy."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def live_stream(
    request: Request, name: str, read: Callable[[], Awaitable[S]], render: Callable[[S], str]
) -> StreamingResponse:
    """Poll ``read`` every ``POLL_SECONDS`` and send ``render`` of it as event ``name`` when its
    ``signature()`` changed. A client that is not an EventSource (no ``Accept:
    text/event-stream``) gets the current fragment once; a stream ends after
    ``STREAM_SECONDS`` or when the client goes."""
    live = "text/event-stream" in request.headers.get("accept", "")

    async def events() -> AsyncIterator[str]:
        last: tuple[object, ...] | None = None
        loop = asyncio.get_running_loop()
        started = loop.time()
        yield f"retry: {int(POLL_SECONDS * 1000)}\n\n"
        while True:
            data = await read()
            if data.signature() != last:
                last = data.signature()
                yield sse_event(name, render(data))
            if not live or loop.time() - started > STREAM_SECONDS:
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    return sse_response(events())
