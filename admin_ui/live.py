"""Server-sent events for the live pages (agent console, supervisor board): one named event
carrying a rendered HTML fragment, and the streaming response that carries them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse


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
