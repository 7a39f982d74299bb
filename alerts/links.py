"""Signed, expiring tokens: links customers click, media URLs Twilio fetches recordings from."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer


class LinkError(ValueError):
    """The link was tampered with or has expired; the message says which."""


@dataclass(frozen=True, slots=True)
class ResponseLink:
    attempt_id: int
    option: str


class LinkSigner:
    def __init__(
        self,
        secret: str,
        *,
        max_age_seconds: int = 14 * 24 * 3600,
        preferences_max_age_seconds: int = 90 * 24 * 3600,
    ) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="herald.response-link")
        self._preferences = URLSafeTimedSerializer(secret, salt="herald.preferences-link")
        self._consent = URLSafeTimedSerializer(secret, salt="herald.consent-link")
        self._unsubscribe = URLSafeTimedSerializer(secret, salt="herald.unsubscribe-link")
        self.max_age_seconds = max_age_seconds
        self.preferences_max_age_seconds = preferences_max_age_seconds

    def sign_unsubscribe(self, attempt_id: int) -> str:
        """A one-click unsubscribe token (/u/{token}): it keeps working for two years, as
        bulk-sender rules expect of unsubscribe links."""
        return str(self._unsubscribe.dumps({"a": attempt_id}))

    def load_unsubscribe(self, token: str) -> int:
        try:
            data = self._unsubscribe.loads(token, max_age=2 * 366 * 86400)
        except BadSignature as exc:  # SignatureExpired is a BadSignature
            raise LinkError(
                "this link is not valid; it may have been altered or cut short"
            ) from exc
        return int(data["a"])

    def sign_consent(self, contact_id: int, address: str) -> str:
        """A token confirming marketing consent for one contact point and address (/c/...)."""
        return str(self._consent.dumps({"cp": contact_id, "h": address_tag(address)}))

    def load_consent(self, token: str) -> tuple[int, str]:
        """(contact point id, tag of the address it was sent to)."""
        try:
            data = self._consent.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise LinkError("this confirmation link has expired; ask us for a new one") from exc
        except BadSignature as exc:
            raise LinkError(
                "this link is not valid; it may have been altered or cut short"
            ) from exc
        return int(data["cp"]), str(data.get("h", ""))

    def sign_preferences(self, customer_id: int) -> str:
        """A token for the customer's own preferences page (/p/{token}), no login needed."""
        return str(self._preferences.dumps({"c": customer_id}))

    def load_preferences(self, token: str) -> int:
        """The customer id a preferences token was signed for (LinkError if bad or expired)."""
        try:
            data = self._preferences.loads(token, max_age=self.preferences_max_age_seconds)
        except SignatureExpired as exc:
            raise LinkError(
                "this preferences link has expired; the link in your latest alert works"
            ) from exc
        except BadSignature as exc:
            raise LinkError(
                "this link is not valid; it may have been altered or cut short"
            ) from exc
        return int(data["c"])

    def sign(self, link: ResponseLink) -> str:
        return str(self._serializer.dumps({"a": link.attempt_id, "o": link.option}))

    def load(self, token: str) -> ResponseLink:
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise LinkError("this link has expired; please call us instead") from exc
        except BadSignature as exc:
            raise LinkError(
                "this link is not valid; it may have been altered or cut short"
            ) from exc
        return ResponseLink(attempt_id=int(data["a"]), option=str(data["o"]))


def address_tag(address: str) -> str:
    """A short digest of a contact address, bound into consent links (no address in the URL)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]


# --- signed media URLs (recorded audio Twilio fetches) ---------------------------------------


class MediaLinkError(ValueError):
    """A media token was tampered with or has expired (``expired`` says which)."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


class _ClockSigner(TimestampSigner):
    """A timestamp signer reading an injected clock (tests sign tokens in the past)."""

    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class MediaSigner:
    """Tokens for /media/recordings/{token}: a recording id, signed, valid ``max_age_seconds``."""

    def __init__(
        self,
        secret: str,
        max_age_seconds: int = 3600,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret,
            salt="herald.media-recording",
            signer=_ClockSigner,
            signer_kwargs={"clock": clock},
        )
        self.max_age_seconds = max_age_seconds

    def sign(self, recording_id: int) -> str:
        return str(self._serializer.dumps({"r": recording_id}))

    def load(self, token: str) -> int:
        """The recording id the token was signed for (MediaLinkError if bad or expired)."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise MediaLinkError("this audio link has expired", expired=True) from exc
        except BadSignature as exc:
            raise MediaLinkError("this audio link is not valid", expired=False) from exc
        return int(data["r"])
