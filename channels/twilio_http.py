"""The twilio library's async HTTP client pointed at a configurable API base, with no retries."""

from __future__ import annotations

import base64
from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

TWILIO_API_BASE = "https://api.twilio.com"


class RebasedTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Sends the official client's requests to `api_base` (the Twilio simulator, or Prism).

    The client's own HTTP retries stay off: a retried POST could place a second call. Retries are
    decided by Herald's job layer, which knows whether the provider already accepted the request.
    """

    def __init__(self, api_base: str = TWILIO_API_BASE, *, timeout: float = 15.0) -> None:
        super().__init__(timeout=timeout, max_retries=None)
        self.api_base = api_base.rstrip("/")

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        if self.api_base != TWILIO_API_BASE and url.startswith(TWILIO_API_BASE):
            url = self.api_base + url[len(TWILIO_API_BASE) :]
        # Send credentials as a header ourselves: aiohttp deprecates the `auth=` argument.
        auth = kwargs.pop("auth", None)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Basic {token}"}
        return await super().request(method, url, **kwargs)
