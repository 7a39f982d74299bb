"""Signed, expiring tokens for the links customers click (email answers)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class LinkError(ValueError):
    """The link was tampered with or has expired; the message says which."""


@dataclass(frozen=True, slots=True)
class ResponseLink:
    attempt_id: int
    option: str


class LinkSigner:
    def __init__(self, secret: str, *, max_age_seconds: int = 14 * 24 * 3600) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="herald.response-link")
        self.max_age_seconds = max_age_seconds

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
