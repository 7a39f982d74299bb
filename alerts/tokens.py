"""Personal API tokens: created by a user, shown once, kept as a sha256, revocable; a call with
one acts as its user, with the user's role at the time of the call."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.columns import utcnow
from alerts.models import ApiToken, User

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "hrd_"
SHOWN_PREFIX = 12  # "hrd_" and 8 characters: enough to tell tokens apart, useless to guess
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often
NAME_MAX = 100


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message says why."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(token: ApiToken) -> dict[str, object]:
    return {"name": token.name, "prefix": token.prefix, "user_id": token.user_id}


async def create_token(*, session: AsyncSession, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` and its secret (shown once: only its sha256 is stored)."""
    name = " ".join(name.split())[:NAME_MAX]
    if not name:
        raise TokenError("give the token a name that says where it is used, e.g. 'CRM sync'")
    if user.id is None or user.disabled:
        raise TokenError("a disabled user cannot create tokens")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, name=name, token_sha256=digest(secret), prefix=secret[:SHOWN_PREFIX]
    )
    session.add(row)
    await session.flush()
    audit.record(
        session, kind="api_token", entity_id=row.id or 0, action="create", after=_view(row)
    )
    await session.commit()
    await session.refresh(row)
    logger.info("api token created token_id=%s user_id=%s", row.id, user.id)
    return row, secret


async def list_tokens(*, session: AsyncSession, user_id: int | None) -> Sequence[ApiToken]:
    """One user's tokens (every user's with None), newest first, revoked ones included."""
    stmt = select(ApiToken).order_by(col(ApiToken.id).desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return (await session.exec(stmt)).all()


async def revoke_token(*, session: AsyncSession, token_id: int, owner_id: int | None) -> ApiToken:
    """Revoke a token (of `owner_id`, or anyone's with None); revoking twice is harmless."""
    row = await session.get(ApiToken, token_id)
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise TokenError(f"there is no token {token_id} of yours")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session,
            kind="api_token",
            entity_id=token_id,
            action="revoke",
            before={**_view(row), "revoked": False},
            after={**_view(row), "revoked": True},
        )
        await session.commit()
        logger.info("api token revoked token_id=%s", token_id)
    return row


@dataclass(frozen=True, slots=True)
class TokenUser:
    token_id: int
    token_name: str
    user_id: int
    username: str
    role: str


async def authenticate_token(*, session: AsyncSession, secret: str) -> TokenUser | None:
    """The token's user when `secret` is a live token of an enabled user, else None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    found = (
        await session.exec(
            select(ApiToken, User)
            .join(User, col(User.id) == col(ApiToken.user_id))
            .where(ApiToken.token_sha256 == digest(secret))
        )
    ).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None or user.disabled or token.id is None or user.id is None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
        session.add(token)
        await session.commit()
    return TokenUser(
        token_id=token.id,
        token_name=token.name,
        user_id=user.id,
        username=user.username,
        role=user.role,
    )
