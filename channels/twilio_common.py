"""Shared Twilio plumbing: the official async client, signature checks, error classification."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.base import (
    ChannelError,
    ConfigurationChannelError,
    ContactProblem,
    PermanentChannelError,
    TransientChannelError,
)
from channels.twilio_http import RebasedTwilioHttpClient

# Twilio error codes whose meaning a customer's history should show in words.
TWILIO_ERROR_TEXT = {
    "20003": "Twilio rejected Herald's credentials",
    "21211": "the number is not a valid phone number",
    "21214": "the number cannot be reached",
    "21610": "the number has opted out at the carrier (replied STOP)",
    "21612": "Twilio cannot route to this number",
    "21614": "the number is not a mobile number",
    "30003": "the phone is unreachable or switched off",
    "30004": "the message was blocked",
    "30005": "the number is unknown or no longer exists",
    "30006": "the number is a landline or unreachable carrier",
    "30007": "the carrier filtered the message",
    "30008": "unknown error at the carrier",
}


# Twilio error codes that say something lasting about the number, per channel kind: a landline
# or a carrier opt-out rules out SMS, not a call.
_CONTACT_PROBLEMS: dict[str, ContactProblem] = {
    "21211": "invalid_address",
    "21214": "invalid_address",
    "30005": "invalid_address",
    "21614": "landline",
    "30006": "landline",
    "21610": "carrier_opt_out",
}
_SMS_ONLY = frozenset({"landline", "carrier_opt_out"})


def contact_problem(kind: str, code: str | None) -> ContactProblem | None:
    """What Twilio's error ``code`` says about the number, for a ``kind`` ("sms", "voice")."""
    problem = _CONTACT_PROBLEMS.get((code or "").strip())
    if problem in _SMS_ONLY and kind != "sms":
        return None
    return problem


def describe_error(code: str | None) -> str | None:
    if not code:
        return None
    text = TWILIO_ERROR_TEXT.get(code)
    return f"Twilio {code}: {text}" if text else f"Twilio error {code}"


class TwilioAccount:
    """One Twilio account (or the simulator): lazily built client, validator, from-number."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base: str,
        from_number: str,
        timeout: float = 15.0,
    ) -> None:
        self.account_sid = account_sid
        self.from_number = from_number
        self.api_base = api_base
        self._auth_token = auth_token
        self._timeout = timeout
        self._validator = RequestValidator(auth_token)
        self._client: Client | None = None
        self._http: RebasedTwilioHttpClient | None = None

    def client(self) -> Client:
        """The official client; built on first use because its HTTP session needs a running loop."""
        if self._client is None:
            self._http = RebasedTwilioHttpClient(self.api_base, timeout=self._timeout)
            self._client = Client(self.account_sid, self._auth_token, http_client=self._http)
        return self._client

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        if not signature:
            return False
        return bool(self._validator.validate(url, dict(params), signature))

    async def close(self) -> None:
        if self._http is not None and self._http.session is not None:
            await self._http.session.close()
        self._client = None
        self._http = None


def classify(exc: BaseException, *, action: str, kind: str) -> ChannelError:
    """Map whatever the twilio library raised to Herald's error tree (channels.base)."""
    if isinstance(exc, TwilioRestException):
        code = str(exc.code) if exc.code is not None else None
        detail = describe_error(code) or exc.msg
        message = f"{action} failed: HTTP {exc.status}, {detail}"
        if exc.status in (401, 403):
            return ConfigurationChannelError(message, code=code)
        if exc.status == 429:
            return TransientChannelError(message, code=code)  # refused: nothing was created
        if exc.status >= 500:
            # Twilio may have created the call or message before failing to answer.
            return TransientChannelError(message, code=code, ambiguous=True)
        return PermanentChannelError(
            message, code=code, contact_problem=contact_problem(kind, code)
        )
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        # Nothing reached Twilio: another provider may safely be tried.
        return TransientChannelError(f"{action} failed: cannot reach Twilio ({exc!r})")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientChannelError(
            f"{action} failed: no clear answer from Twilio ({exc!r})", ambiguous=True
        )
    return TransientChannelError(f"{action} failed: {exc!r}", ambiguous=True)


def unknown_to_twilio(exc: BaseException) -> bool:
    """True when Twilio answered that it has no such call or message (HTTP 404)."""
    return isinstance(exc, TwilioRestException) and exc.status == 404


def lookup_window(since: datetime) -> datetime:
    """Twilio's list filters work on dates; look from the day before to be safe at midnight."""
    return since - timedelta(days=1)
