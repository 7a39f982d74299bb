"""Twilio simulator outbound HTTP: signed webhook requests to Herald, each one recorded."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from channels.twilio_sim.state import SentRequest

logger = logging.getLogger(__name__)

BODY_EXCERPT = 2000
MAX_DOCUMENT = 1_000_000
REQUEST_TIMEOUT = 15.0


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` appended to its query string (how Twilio sends GET webhooks)."""
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


class WebhookSender:
    """Sends requests the way Twilio does: form-encoded, with a real X-Twilio-Signature."""

    def __init__(self, auth_token: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """``transport`` sends in-process (the studio's trial call posts to Herald's own app)."""
        self._validator = RequestValidator(auth_token)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=REQUEST_TIMEOUT,
                follow_redirects=False,
                transport=self._transport,
                headers={"User-Agent": "TwilioProxy/1.1 (Herald simulator)"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def send(
        self, kind: str, url: str, params: dict[str, str], method: str = "POST"
    ) -> tuple[SentRequest, bytes]:
        """Sign and send one request; returns its record and the full response body."""
        method = method.upper()
        if method == "GET":
            full_url, form = with_query(url, params), {}
        else:
            method, full_url, form = "POST", url, dict(params)
        signature = self._validator.compute_signature(full_url, form)
        sent = SentRequest(
            kind=kind, method=method, url=full_url, params=dict(params), signature=signature
        )
        headers = {"X-Twilio-Signature": signature}
        content = b""
        try:
            if method == "GET":
                response = await self._http().get(full_url, headers=headers)
            else:
                response = await self._http().post(full_url, data=form, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            sent.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            logger.warning("simulator %s %s failed: %s", kind, method, sent.error)
            return sent, content
        content = response.content[:MAX_DOCUMENT]
        sent.status = response.status_code
        sent.body = content[:BODY_EXCERPT].decode("utf-8", errors="replace")
        return sent, content

    async def fetch_media(self, url: str) -> SentRequest:
        """GET a <Play> URL like Twilio's media fetcher; only the status is kept."""
        signature = self._validator.compute_signature(url, {})
        sent = SentRequest(kind="media", method="GET", url=url, params={}, signature=signature)
        headers = {"X-Twilio-Signature": signature}
        try:
            async with self._http().stream("GET", url, headers=headers) as response:
                sent.status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            sent.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return sent
